// One path from a setting to the cache: package.json's enums and defaults against server/src/vocab.ts, the CLI's
// choices and --help from the same tables, the caps applied once (Distiller), the extension's way and the CLI's
// way of distilling one folder giving the same pot, and workspace paths from Windows-style file URIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../server/src/engine/engine';
import { Distiller, resolveDistillSettings } from '../server/src/distill/distiller';
import { DistilledPot, workspaceRelative } from '../server/src/lsp/answerer';
import { Session } from '../server/src/lsp/session';
import { defaultSettings } from '../server/src/lsp/protocol';
import { DOWNLOADABLE_MODELS, KNOWN_MODELS } from '../server/src/model/pull';
import {
  DECODERS,
  DEFAULT_ANSWER_TOKENS,
  DEFAULT_REREAD_TOKENS,
  DEFAULT_SNAP_PATHS,
  DEFAULT_SNAP_VALUES,
  DEFAULT_BUDGET,
  DEFAULT_CHUNK_TOKENS,
  DEFAULT_DECODER,
  DEFAULT_DEVICE,
  DEFAULT_KV_DTYPE,
  DEFAULT_POLICY,
  DEVICES,
  KV_DTYPES,
  POLICY_NAMES,
  SETTING_POLICIES,
  WEIGHT_FORMATS,
} from '../server/src/vocab';
import { helpText, parseCommand, type CommandSpec, type OptionTable } from '../server/src/cli/args';
import { askCommand } from '../server/src/cli/ask';
import { ingestCommand } from '../server/src/cli/ingest';
import { generateCommand } from '../server/src/cli/generate';
import { selftestCommand } from '../server/src/cli/selftest';
import { evalCommand } from '../server/src/cli/eval';
import { modelListCommand, modelPullCommand } from '../server/src/cli/model';
import { steerBuildCommand } from '../server/src/cli/steer';
import { benchDecodeCommand } from '../server/src/cli/benchDecode';
import { benchDistillCommand } from '../server/src/cli/benchDistill';
import { benchEngineCommand } from '../server/src/cli/benchEngine';
import { benchHoverCommand } from '../server/src/cli/benchHover';
import { benchSteerCommand } from '../server/src/cli/benchSteer';
import { distillRequest } from '../server/src/cli/distillCommon';
import { randomModel, scratchCacheDir } from '../server/src/selftest/checks';
import { byteTokenizer } from './byteTokenizer';

const root = path.resolve(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { enum?: string[]; default?: unknown; markdownDescription?: string }> } };
};
const props = manifest.contributes.configuration.properties;

test('package.json: every enum and default is the one in server/src/vocab.ts', () => {
  assert.deepEqual(props['repopot.device']!.enum, [...DEVICES]);
  assert.equal(props['repopot.device']!.default, DEFAULT_DEVICE);
  assert.deepEqual(props['repopot.decoder']!.enum, [...DECODERS]);
  assert.equal(props['repopot.decoder']!.default, DEFAULT_DECODER);
  assert.deepEqual(props['repopot.cache.policy']!.enum, [...SETTING_POLICIES]);
  assert.equal(props['repopot.cache.policy']!.default, DEFAULT_POLICY);
  assert.equal(props['repopot.cache.budget']!.default, DEFAULT_BUDGET);
  assert.equal(props['repopot.cache.chunkSize']!.default, DEFAULT_CHUNK_TOKENS);
  assert.deepEqual(props['repopot.cache.kvDtype']!.enum, [...KV_DTYPES]);
  assert.equal(props['repopot.cache.kvDtype']!.default, DEFAULT_KV_DTYPE);
  assert.equal(defaultSettings.kvDtype, DEFAULT_KV_DTYPE);
  assert.equal(props['repopot.answer.maxTokens']!.default, DEFAULT_ANSWER_TOKENS);
  assert.equal(props['repopot.answer.reread']!.default, DEFAULT_REREAD_TOKENS);
  assert.equal(defaultSettings.rereadTokens, DEFAULT_REREAD_TOKENS);
  assert.equal(props['repopot.answer.snapPaths']!.default, DEFAULT_SNAP_PATHS);
  assert.equal(defaultSettings.snapPaths, DEFAULT_SNAP_PATHS);
  assert.equal(props['repopot.answer.snapValues']!.default, DEFAULT_SNAP_VALUES);
  assert.equal(defaultSettings.snapValues, DEFAULT_SNAP_VALUES);
  // The server's defaults are the same values (the extension sends what package.json declares).
  assert.deepEqual(defaultSettings.cache, { budget: DEFAULT_BUDGET, chunkSize: DEFAULT_CHUNK_TOKENS, policy: DEFAULT_POLICY });
  assert.equal(defaultSettings.device, DEFAULT_DEVICE);
  assert.equal(defaultSettings.decoder, DEFAULT_DECODER);
  assert.equal(defaultSettings.maxAnswerTokens, DEFAULT_ANSWER_TOKENS);
  // Every model the extension offers is a known one and is named in the setting's description.
  assert.ok(DOWNLOADABLE_MODELS.length > 0);
  for (const name of DOWNLOADABLE_MODELS) {
    assert.ok(name in KNOWN_MODELS, name);
    assert.ok(props['repopot.model']!.markdownDescription!.includes(name), `repopot.model's description names ${name}`);
  }
});

const commands: CommandSpec<OptionTable>[] = [
  askCommand, ingestCommand, generateCommand, selftestCommand, evalCommand, modelPullCommand, modelListCommand, steerBuildCommand,
  benchDecodeCommand, benchDistillCommand, benchEngineCommand, benchHoverCommand, benchSteerCommand,
];

test('CLI: each --help lists every option of its table, with its choices and default', () => {
  for (const spec of commands) {
    const help = helpText(spec);
    assert.ok(help.startsWith(`usage: repopot ${spec.name}`), spec.name);
    for (const [name, o] of Object.entries(spec.options)) {
      const line = help.split('\n').find((l) => l.trimStart().startsWith(`--${name} `) || l.trim() === `--${name}`);
      assert.ok(line, `${spec.name} --help lists --${name}`);
      if (o.choices) assert.ok(line.includes(o.choices.join('|')), `${spec.name} --${name} lists its choices`);
      if (o.shows !== undefined) assert.ok(line.includes(`(default ${o.shows})`), `${spec.name} --${name} shows its default`);
    }
    assert.match(help, /--help\s+show this help/);
  }
  // The choices come from the vocabularies: ask takes every decoder (block-diffusion included) and policy.
  assert.deepEqual(askCommand.options.decoder.choices, DECODERS);
  assert.deepEqual(askCommand.options.policy.choices, POLICY_NAMES);
  assert.deepEqual(askCommand.options.device.choices, DEVICES);
  assert.deepEqual(askCommand.options.quant.choices, WEIGHT_FORMATS);
  assert.match(helpText(ingestCommand), new RegExp(`--chunk N\\s+tokens fed at a time \\(default ${DEFAULT_CHUNK_TOKENS}`));
});

test('CLI: parseCommand returns undefined on --help (anywhere on the line) and names the command on a mistake', () => {
  const write = process.stdout.write;
  let printed = '';
  process.stdout.write = ((chunk: string) => {
    printed += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    assert.equal(parseCommand(['--help'], ingestCommand), undefined);
    assert.equal(parseCommand(['--no-such', '--help'], ingestCommand), undefined);
  } finally {
    process.stdout.write = write;
  }
  assert.ok(printed.includes('usage: repopot ingest'));
  assert.throws(() => parseCommand(['--no-such'], ingestCommand), { name: 'CliError', message: /^ingest: .*--no-such/ });
});

test('settings are capped and defaulted once, with a notice for each cap', () => {
  // RepoPot's own model: 2048 positions.
  const defaults = resolveDistillSettings(2048);
  assert.deepEqual(defaults.settings, { budget: 1024, chunkSize: DEFAULT_CHUNK_TOKENS, policy: DEFAULT_POLICY });
  assert.deepEqual(defaults.notices, []);
  // The extension's default budget (4096) is above what 2048 positions allow: capped, and said so.
  const extension = resolveDistillSettings(2048, defaultSettings.cache);
  assert.deepEqual(extension.settings, defaults.settings, 'the extension and the CLI defaults give the same settings');
  assert.equal(extension.notices.length, 1);
  assert.match(extension.notices[0]!, /budget 4096 is above what the model's 2048-token context allows with 256-token chunks: capped to 1024/);
  const big = resolveDistillSettings(2048, { budget: 100_000, chunkSize: 5000 });
  assert.deepEqual([big.settings.budget, big.settings.chunkSize], [1024, 512]);
  assert.equal(big.notices.length, 2);
  // What a hand-edited settings.json may hold: replaced by the defaults, each said.
  const odd = resolveDistillSettings(2048, { budget: 1000.5, chunkSize: Number.NaN, policy: 'lru' as never });
  assert.deepEqual(odd.settings, defaults.settings);
  assert.equal(odd.notices.length, 3, odd.notices.join('; '));
  const small = resolveDistillSettings(512, { budget: 64, chunkSize: 32, policy: 'h2o' });
  assert.deepEqual(small.settings, { budget: 64, chunkSize: 32, policy: 'h2o' });
  assert.deepEqual(small.notices, []);
});


test('the extension (server) and the CLI distil one folder to the same pot with their defaults', async () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-both-'));
  fs.mkdirSync(path.join(repo, 'src'));
  for (let f = 0; f < 6; f++) {
    const lines = Array.from({ length: 40 }, (_, i) => `export const VALUE_${f}_${i} = ${f * 100 + i}; // line ${i + 1}`);
    fs.writeFileSync(path.join(repo, 'src', `m${f}.ts`), lines.join('\n') + '\n');
  }
  // The same context as RepoPot's own model, so the chunk-size default matters (256 vs the old 512).
  const base = randomModel('llama', { vocabSize: 259, maxPositions: 2048 }, 3);
  const engine = await Engine.fromModel({ ...base, tokenizer: byteTokenizer }, { cacheDir: scratchCacheDir() });
  try {
    // The server's way: the settings slice as the extension sends it by default.
    const server = new DistilledPot(engine, 'test', { root: repo, cache: defaultSettings.cache, cacheDir: '', decoder: defaultSettings.decoder, log: () => {} });
    await server.ingest({ include: [], exclude: [], signal: new AbortController().signal, betweenChunks: async () => {}, onProgress: () => {} });
    // The CLI's way: `repopot ingest --repo DIR --no-cache`, flags parsed and defaulted as the CLI does.
    const parsed = parseCommand(['--repo', repo, '--no-cache', '--model', root], ingestCommand)!;
    const request = distillRequest(parsed.values);
    const cli = new Distiller(engine);
    const summary = await cli.ingest(request.options);

    const s = server.stats();
    assert.ok(summary.tokensSeen > 2 * summary.budget, `the stream (${summary.tokensSeen}) overflows the budget (${summary.budget})`);
    assert.ok(summary.compressions > 0);
    assert.deepEqual(server.cache, { budget: summary.budget, chunkSize: DEFAULT_CHUNK_TOKENS, policy: summary.policy });
    assert.deepEqual([s.tokensSeen, s.tokensKept, s.budget], [summary.tokensSeen, summary.tokensKept, summary.budget]);
    // The same kept tokens: per file, the same share of slots over the same lines.
    const serverSources = server.currentSources(10).map((x) => [x.path, x.range.start.line + 1, x.range.end.line + 1, x.weight]);
    const cliSources = cli.currentSources(10).map((c) => [c.file, c.startLine, c.endLine, c.weight]);
    assert.deepEqual(serverSources, cliSources);
    assert.ok(cliSources.length > 1);
  } finally {
    await engine.dispose();
  }
});

test('the extension: a budget over the model\'s context is capped; the log says so, and a chosen value gets a message', async () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-session-'));
  fs.writeFileSync(path.join(repo, 'a.ts'), 'export const PORT = 8080;\n');
  const base = randomModel('llama', { vocabSize: 259, maxPositions: 2048 }, 4);
  const engine = await Engine.fromModel({ ...base, tokenizer: byteTokenizer }, { cacheDir: scratchCacheDir() });
  try {
    for (const budget of [DEFAULT_BUDGET, 100_000]) {
      const logs: string[] = [];
      const messages: string[] = [];
      const settings = { ...defaultSettings, modelPath: 'unused', cache: { ...defaultSettings.cache, budget } };
      const session = new Session(repo, settings, {
        sendStatus: () => {},
        log: (m) => logs.push(m),
        notify: (m) => messages.push(m),
        loadPot: async (s, root) => new DistilledPot(engine, 'test', { root, cache: s.cache, cacheDir: '', decoder: s.decoder, log: () => {} }),
      });
      await session.start();
      assert.ok(logs.some((l) => new RegExp(`budget ${budget} is above .* capped to 1024`).test(l)), logs.join('\n'));
      assert.ok(logs.some((l) => /budget 1024 tokens, chunks of 256/.test(l)), logs.join('\n'));
      if (budget === DEFAULT_BUDGET) assert.deepEqual(messages, [], 'the default budget is capped quietly');
      else assert.match(messages.join('\n'), /RepoPot \(repopot\.cache\): budget 100000 is above .* capped to 1024/);
      assert.equal(session.status.snapshot().budget, 1024, 'the gauge shows the budget in use');
      // The engine is shared with the next round: wait for the background ingest instead of disposing the session.
      const deadline = Date.now() + 60_000;
      while (session.status.snapshot().state !== 'idle') {
        assert.ok(Date.now() < deadline, 'the ingest finishes');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  } finally {
    await engine.dispose();
  }
});

test('workspace paths from file URIs, Windows-style included (fileURLToPath, not URL.pathname)', () => {
  assert.equal(workspaceRelative('c:\\work\\shop', 'file:///c%3A/work/shop/src/cart.ts', { windows: true }), 'src/cart.ts');
  assert.equal(workspaceRelative('C:\\work\\my shop', 'file:///C:/work/my%20shop/src/a%20b.ts', { windows: true }), 'src/a b.ts');
  assert.equal(workspaceRelative('/work/shop', 'file:///work/shop/src/cart.ts', { windows: false }), 'src/cart.ts');
  assert.equal(workspaceRelative('/work/my shop', 'file:///work/my%20shop/a%23b.ts', { windows: false }), 'a#b.ts');
  assert.equal(workspaceRelative('/work/shop', 'untitled:Untitled-1', { windows: false }), 'untitled:Untitled-1');
});

test('the Fourier tier: one name from repopot.cache.fourier and --fourier to the Distiller, off by default', async () => {
  const { DEFAULT_FOURIER } = await import('../server/src/vocab');
  const { fourierCalibrateCommand } = await import('../server/src/cli/fourier');
  assert.equal(props['repopot.cache.fourier']!.default, DEFAULT_FOURIER);
  assert.equal(defaultSettings.cache.fourier ?? DEFAULT_FOURIER, DEFAULT_FOURIER);
  // Resolved settings carry it only when on; a value that is not a boolean is said and replaced.
  assert.equal(resolveDistillSettings(2048, { fourier: true }).settings.fourier, true);
  assert.equal('fourier' in resolveDistillSettings(2048, { fourier: false }).settings, false);
  const odd = resolveDistillSettings(2048, { fourier: 'yes' as never });
  assert.equal('fourier' in odd.settings, false);
  assert.equal(odd.notices.length, 1);
  // The CLI flag is in the ingest/ask tables (so --help lists it) and reaches the request under the same name.
  for (const spec of [askCommand, ingestCommand] as CommandSpec<OptionTable>[]) assert.match(helpText(spec), /--fourier\s+pot with the Fourier tier/);
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-fourier-flag-'));
  try {
    assert.equal(distillRequest({ repo, fourier: true }).options.fourier, true);
    assert.equal(distillRequest({ repo }).options.fourier, undefined);
    // --kv-dtype reaches the engine choice; the tier refuses fp16 before anything loads.
    assert.equal(distillRequest({ repo }).model.kvDtype, DEFAULT_KV_DTYPE);
    assert.equal(distillRequest({ repo, 'kv-dtype': 'fp16' }).model.kvDtype, 'fp16');
    assert.throws(() => distillRequest({ repo, 'kv-dtype': 'bf16' }), { name: 'CliError', message: /--kv-dtype/ });
    assert.throws(() => distillRequest({ repo, fourier: true, 'kv-dtype': 'fp16' }), { name: 'CliError', message: /--fourier needs the fp32 KV cache/ });
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
  const help = helpText(fourierCalibrateCommand);
  assert.ok(help.startsWith('usage: repopot fourier calibrate'));
  for (const name of Object.keys(fourierCalibrateCommand.options)) assert.match(help, new RegExp(`--${name}\\b`));
});

test('repopot.cache.memory: one name from the setting and --memory to the Distiller; the slots follow from the bytes', async () => {
  const { DEFAULT_MEMORY_MIB, MIB } = await import('../server/src/vocab');
  const { plainSlotBytes, tierSlotsForBytes } = await import('../server/src/fourier/budget');
  const { emptyLayout, saveLayout, FOURIER_FILE } = await import('../server/src/fourier/layout');
  // The setting: off by default (the budget in slots sizes the pot), its description says how it relates to the others.
  const memoryProp = props['repopot.cache.memory']!;
  assert.equal(memoryProp.default, DEFAULT_MEMORY_MIB);
  assert.equal(DEFAULT_MEMORY_MIB, 0);
  assert.match(memoryProp.markdownDescription!, /repopot\.cache\.budget/);
  assert.match(memoryProp.markdownDescription!, /repopot\.cache\.fourier/);
  assert.equal('memory' in defaultSettings.cache, false, 'the server default is off, as the setting\'s');
  assert.equal('memory' in resolveDistillSettings(2048, { memory: 0 }).settings, false, 'resolved settings carry it only when set');

  // The CLI flag: in the ingest/ask tables (so --help lists it), reaching the request under the same name; with
  // --budget, or not a size, an error before any work.
  for (const spec of [askCommand, ingestCommand] as CommandSpec<OptionTable>[]) assert.match(helpText(spec), /--memory MIB\s+the pot's size in MiB instead of --budget/);
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-memory-'));
  fs.writeFileSync(path.join(repo, 'a.ts'), Array.from({ length: 60 }, (_, i) => `export const VALUE_${i} = ${i};`).join('\n') + '\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-memory-model-'));
  const base = randomModel('llama', { vocabSize: 259, maxPositions: 2048 }, 5);
  const engine = await Engine.fromModel({ ...base, tokenizer: byteTokenizer, dir }, { cacheDir: scratchCacheDir() });
  try {
    assert.equal(distillRequest({ repo, memory: '1.5' }).options.memory, 1.5);
    assert.equal(distillRequest({ repo }).options.memory, undefined);
    assert.throws(() => distillRequest({ repo, budget: '512', memory: '4' }), { name: 'CliError', message: /--budget and --memory/ });
    assert.throws(() => distillRequest({ budget: '512', memory: '4' }), { name: 'CliError', message: /--budget and --memory/ }, 'said first');
    for (const bad of ['0', '-1', 'abc', '']) assert.throws(() => distillRequest({ repo, memory: bad }), { name: 'CliError', message: /^--memory must be/ }, bad);

    // resolve(): a plain pot keeps the plain slots the bytes hold (the budget setting then does not count).
    const c = engine.config;
    const shape = { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim, ropeTheta: c.ropeTheta };
    const slotBytes = plainSlotBytes(shape);
    assert.equal(plainSlotBytes(shape, 'fp16') * 2, slotBytes, 'an fp16 cache holds twice the slots in the same memory');
    const distiller = new Distiller(engine);
    const memory = (300 * slotBytes + 100) / MIB;
    const plain = distiller.resolve({ ...defaultSettings.cache, memory });
    assert.deepEqual(plain.settings, { budget: 300, chunkSize: DEFAULT_CHUNK_TOKENS, policy: DEFAULT_POLICY, memory });
    assert.deepEqual(plain.notices, []);
    assert.equal(distiller.slotsFor(plain.settings), Math.floor((memory * MIB) / slotBytes));
    // With the Fourier tier: as many tier slots as fit the same bytes.
    const layout = emptyLayout(shape);
    const half = c.headDim / 2;
    layout.keyPairs = layout.keyPairs.map((heads) => heads.map(() => Array.from({ length: half - 2 }, (_, i) => i + 2)));
    layout.valueDims = layout.valueDims.map((heads) => heads.map(() => Array.from({ length: c.headDim - 4 }, (_, i) => i + 4)));
    saveLayout(path.join(dir, FOURIER_FILE), layout);
    const tier = distiller.resolve({ memory, fourier: true });
    assert.equal(tier.settings.budget, 300);
    const tierSlots = distiller.slotsFor(tier.settings);
    assert.equal(tierSlots, tierSlotsForBytes(shape, distiller.fourierLayout(), Math.round(memory * MIB), { chunk: tier.settings.chunkSize }));
    assert.ok(tierSlots > 300, `the tier holds more slots in the same bytes (${tierSlots})`);
    // Capped by the model's context like a budget, with the same kind of notice; raised to the smallest pot.
    const big = distiller.resolve({ memory: 64 });
    assert.equal(big.settings.budget, 1024);
    assert.equal(big.settings.memory, (1024 * slotBytes) / MIB, 'the memory in use');
    assert.deepEqual(big.notices, [`memory 64 MiB (${(64 * MIB) / slotBytes} slots) is above what the model's 2048-token context allows with 256-token chunks: capped to 1024 slots (${(1024 * slotBytes) / MIB} MiB)`]);
    const tiny = distiller.resolve({ memory: slotBytes / MIB });
    assert.equal(tiny.settings.budget, 16);
    assert.match(tiny.notices.join(), /memory .* MiB \(1 slots\) is below 16 slots: raised to 16 slots/);
    // What a hand-edited settings.json may hold: said, and the budget in slots used.
    const odd = distiller.resolve({ memory: 'lots' as never });
    assert.equal('memory' in odd.settings, false);
    assert.equal(odd.settings.budget, 1024);
    assert.equal(odd.notices.length, 1);

    // The server's way: the pot and the gauge's numbers (slots and bytes) follow the setting.
    const server = new DistilledPot(engine, 'test', { root: repo, cache: { ...defaultSettings.cache, memory }, cacheDir: '', decoder: defaultSettings.decoder, log: () => {} });
    assert.equal(server.stats().memoryBytes, Math.round(memory * MIB));
    await server.ingest({ include: [], exclude: [], signal: new AbortController().signal, betweenChunks: async () => {}, onProgress: () => {} });
    const s = server.stats();
    assert.equal(s.budget, 300);
    assert.ok(s.tokensKept <= 300 && s.cacheBytes <= s.memoryBytes, `${s.tokensKept} kept in ${s.cacheBytes} of ${s.memoryBytes} bytes`);
    assert.equal(new DistilledPot(engine, 'test', { root: repo, cache: defaultSettings.cache, cacheDir: '', decoder: defaultSettings.decoder, log: () => {} }).stats().memoryBytes, 0);
  } finally {
    await engine.dispose();
    fs.rmSync(repo, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
