// The pot and its policies on a tiny random model: bounded positions (CR-RoPE), CaP and NuC
// selection, provenance through compression, freshness after an edit, persistence and atomic writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../server/src/engine/engine';
import { Pot } from '../server/src/distill/pot';
import { askPot, Distiller } from '../server/src/distill/distiller';
import { refineForQuestion } from '../server/src/distill/refine';
import { questionPrompt } from '../server/src/distill/prompt';
import { catalystScores, infinipotPolicy, rankScale } from '../server/src/distill/policies/infinipot';
import { streamingPolicy } from '../server/src/distill/policies/streaming';
import { topK } from '../server/src/distill/policies/policy';
import { catalystText, makePolicy, makePolicyFromSpec, parsePolicySpec } from '../server/src/distill/policies/registry';
import { POLICY_NAMES } from '../server/src/distill/policies/policy';
import { citeSources, CITATION_RADIUS, type SlotSource } from '../server/src/distill/provenance';
import { decodePot, encodePot, loadPot, savePot, writeFileAtomic, POT_FORMAT_VERSION } from '../server/src/distill/potStore';
import { referenceForward } from '../server/src/reference/forward';
import { evidenceKept } from '../server/src/bench/distillBench';
import { toFp16 } from '../server/src/graph/quantize';
import { randomModel, sampleTokens, scratchCacheDir } from '../server/src/selftest/checks';
import { byteTokenizer } from './byteTokenizer';

const cacheDir = scratchCacheDir();


async function tinyEngine(seed = 1): Promise<Engine> {
  const base = randomModel('llama', { vocabSize: 259, maxPositions: 512 }, seed);
  return Engine.fromModel({ ...base, tokenizer: byteTokenizer }, { cacheDir });
}

function sources(n: number, offset = 0): SlotSource[] {
  return Array.from({ length: n }, (_, i) => ({ file: `f${Math.floor((offset + i) / 50)}.ts`, line: offset + i + 1 }));
}

test('CR-RoPE: positions stay below budget + chunk however long the stream; every policy keeps the budget', async () => {
  const engine = await tinyEngine();
  for (const name of POLICY_NAMES.filter((p) => p !== 'full' && p !== 'snapkv')) {
    const pot = new Pot(engine, { budget: 48, policy: makePolicy(name, engine, 'recall the code') });
    const tokens = sampleTokens(600, 259, 3);
    for (let from = 0; from < tokens.length; from += 24) await pot.append(tokens.slice(from, from + 24), sources(24, from));
    const s = pot.summary();
    assert.equal(s.tokensSeen, 600, name);
    assert.ok(pot.cache.length <= 48, `${name}: ${pot.cache.length} slots`);
    assert.ok(s.maxPosition < 48 + 24, `${name}: max position ${s.maxPosition}`);
    assert.ok(s.compressions >= 20, name);
    // Provenance survives compression: tags stay unique and in stream order.
    const lines = pot.cache.tags().map((t) => t!.line);
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b), name);
    assert.equal(new Set(lines).size, lines.length, name);
  }
  await engine.dispose();
});

test('positionLimit: kept slots keep their stream positions until a chunk would pass the limit, then CR-RoPE re-packs them', async () => {
  const engine = await tinyEngine();
  const pot = new Pot(engine, { budget: 48, policy: makePolicy('streaming', engine), positionLimit: 200 });
  const tokens = sampleTokens(600, 259, 3);
  let repacked = false;
  for (let from = 0; from < tokens.length; from += 24) {
    const before = pot.cache.length > 0 ? pot.cache.nextPosition() : 0;
    await pot.append(tokens.slice(from, from + 24), sources(24, from));
    const positions = [...pot.cache.positions()];
    assert.ok(Math.max(...positions) < 200, `chunk at ${from}: max position ${Math.max(...positions)} passed the limit`);
    if (before + 24 > 200) repacked = true;
    if (!repacked) {
      // Until the limit, every slot sits where it streamed in: its position is its stream index (line - 1).
      assert.deepEqual(positions, pot.cache.tags().map((t) => t!.line - 1), `chunk at ${from}`);
    } else assert.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]), `chunk at ${from}: positions in stream order`);
  }
  assert.ok(repacked, 'a 600-token stream must pass a limit of 200');
  assert.equal(pot.summary().tokensSeen, 600);
  await engine.dispose();
});

test('repack reencode: when positions run out the kept tokens are run again as one text (K/V equal a fresh prefill of them)', async () => {
  const engine = await tinyEngine();
  const run = async (repack: 'rotate' | 'reencode') => {
    // budget 48 compressing to 24: chunk 3 compresses (a gap after the sinks); chunk 4 would pass position 80, so the
    // 24 kept slots are re-packed first and chunk 4 lands right after them with no compression
    const pot = new Pot(engine, { budget: 48, compressTo: 24, policy: makePolicy('streaming', engine), positionLimit: 80, repack });
    const tokens = sampleTokens(96, 259, 4);
    for (let from = 0; from < 96; from += 24) await pot.append(tokens.slice(from, from + 24), sources(24, from));
    assert.deepEqual([...pot.cache.positions()], Array.from({ length: 48 }, (_, i) => i), `${repack}: re-packed to 0..47`);
    assert.deepEqual(pot.stats.tokens, pot.cache.tags().map((t) => tokens[t!.line - 1]), 'the pot knows the token of every slot');
    const fresh = engine.newCache<SlotSource>(64);
    await engine.forward(fresh, pot.stats.tokens, { logits: 'last' });
    let maxDiff = 0;
    for (let l = 0; l < engine.config.numLayers; l++) {
      const a = pot.cache.keyView(l), b = fresh.keyView(l);
      for (let i = 0; i < 48 * engine.cacheShape.numKvHeads * engine.cacheShape.headDim; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    }
    return maxDiff;
  };
  assert.ok((await run('reencode')) < 1e-4, 're-encoded K/V equal a fresh prefill of the kept tokens');
  assert.ok((await run('rotate')) > 1e-3, 're-rotated K/V still carry the dropped context (the two modes differ)');
  await engine.dispose();
});

test('InfiniPot pins every file header (line 0) through compression, within its pin share, unless pin=none', async () => {
  const engine = await tinyEngine();
  const policy = makePolicyFromSpec('infinipot:pinshare=0.5', engine);
  const pot = new Pot(engine, { budget: 64, policy });
  const tokens = sampleTokens(400, 259, 5);
  // 8 files of 50 tokens, each starting with a 4-token header tagged line 0
  const tags = Array.from({ length: 400 }, (_, i) => ({ file: `f${Math.floor(i / 50)}.ts`, line: i % 50 < 4 ? 0 : (i % 50) - 3 }));
  for (let from = 0; from < 400; from += 25) await pot.append(tokens.slice(from, from + 25), tags.slice(from, from + 25));
  const headers = pot.cache.tags().filter((t) => t!.line === 0);
  assert.equal(headers.length, 8 * 4, 'all 8 headers survive');
  const unpinned = new Pot(engine, { budget: 64, policy: makePolicyFromSpec('infinipot:pin=none', engine) });
  for (let from = 0; from < 400; from += 25) await unpinned.append(tokens.slice(from, from + 25), tags.slice(from, from + 25));
  assert.ok(unpinned.cache.tags().filter((t) => t!.line === 0).length < 32, 'without pinning, scores alone drop some header slots');
  const fifth = new Pot(engine, { budget: 64, policy: makePolicyFromSpec('infinipot:pinshare=0.2', engine) });
  for (let from = 0; from < 400; from += 25) await fifth.append(tokens.slice(from, from + 25), tags.slice(from, from + 25));
  const fifthHeaders = fifth.cache.tags().filter((t) => t!.line === 0);
  assert.equal(fifthHeaders.length, 12, 'a fifth of 64 slots holds the 3 newest 4-token headers');
  assert.deepEqual([...new Set(fifthHeaders.map((t) => t!.file))].sort(), ['f5.ts', 'f6.ts', 'f7.ts']);
  assert.throws(() => parsePolicySpec('infinipot:pin=files'), /pin=none\|headers\|outline/);
  await engine.dispose();
});

/** Tags of `files` files of 50 tokens: a 4-token header (line 0), then lines of 2 tokens; every 5th line defines a name. */
function outlinedFiles(files: number): SlotSource[] {
  return Array.from({ length: files * 50 }, (_, i) => {
    const line = i % 50 < 4 ? 0 : Math.floor((i % 50 - 4) / 2) + 1;
    const file = `f${Math.floor(i / 50)}.ts`;
    return line > 0 && line % 5 === 0 ? { file, line, outline: true } : { file, line };
  });
}

test('InfiniPot pin=outline keeps headers, then outline lines up to their share, then lines by score', async () => {
  const engine = await tinyEngine();
  const tokens = sampleTokens(400, 259, 5);
  const tags = outlinedFiles(8);
  const outlineTotal = tags.filter((t) => t.outline).length; // 8 files x 4 lines x 2 tokens = 64
  const run = async (spec: string) => {
    const pot = new Pot(engine, { budget: 96, policy: makePolicyFromSpec(spec, engine) });
    for (let from = 0; from < 400; from += 25) await pot.append(tokens.slice(from, from + 25), tags.slice(from, from + 25));
    const kept = pot.cache.tags();
    return { headers: kept.filter((t) => t!.line === 0).length, outline: kept.filter((t) => t!.outline).length, length: kept.length };
  };
  const all = await run('infinipot:pin=outline:pinshare=0.5:outline=1');
  assert.equal(all.headers, 32, 'headers first');
  assert.equal(all.outline, outlineTotal, 'every outline line fits after the headers and is kept');
  const half = await run('infinipot:pin=outline:pinshare=0.5:outline=0.25');
  const headersOnly = await run('infinipot:pin=headers:pinshare=0.5');
  assert.ok(half.outline >= Math.floor((96 - 32 - 25) * 0.25) - 1, `outline lines take their share (${half.outline})`);
  assert.ok(all.outline > headersOnly.outline, `pin=outline keeps more outline slots than pin=headers (${all.outline} vs ${headersOnly.outline})`);
  assert.deepEqual(parsePolicySpec('infinipot:pin=outline:outline=0.3').tuning.infinipot, { pin: 'outline', outlineShare: 0.3 });
  assert.throws(() => parsePolicySpec('infinipot:outline=2'), /outline=<0\.\.1>/);
  await engine.dispose();
});

test('InfiniPot headers=kept: a header travels with its file\'s kept lines, BOS stays, leftover room goes to the newest headers', async () => {
  const engine = await tinyEngine();
  const tokens = sampleTokens(800, 259, 6);
  const tags = outlinedFiles(16);
  const run = async (spec: string) => {
    const pot = new Pot(engine, { budget: 96, policy: makePolicyFromSpec(spec, engine) });
    for (let from = 0; from < 800; from += 25) await pot.append(tokens.slice(from, from + 25), tags.slice(from, from + 25));
    const kept = pot.cache.tags();
    const withLines = new Set(kept.filter((t) => t!.line > 0).map((t) => t!.file));
    const withHeader = new Set(kept.filter((t) => t!.line === 0).map((t) => t!.file));
    return { kept, withLines, withHeader, first: pot.cache.positions()[0], headerSlots: kept.filter((t) => t!.line === 0).length };
  };
  const kept = await run('infinipot:headers=kept:pinshare=0.5:outline=0.5');
  const newest = await run('infinipot:pinshare=0.5:outline=0.5');
  const allOutline = await run('infinipot:headers=kept:pinshare=0.5:outline=1');
  assert.ok(allOutline.kept.length <= 96 && allOutline.headerSlots <= 48, `BOS plus a whole outline share stays within the target (${allOutline.kept.length} slots, ${allOutline.headerSlots} header slots)`);
  assert.equal(kept.first, 0, 'slot 0 (the first file\'s header start, where BOS streams) is never dropped');
  assert.ok(kept.headerSlots <= 48, `headers stay within pinShare (${kept.headerSlots} slots)`);
  const orphans = (r: typeof kept) => [...r.withHeader].filter((f) => !r.withLines.has(f)).length;
  const headless = (r: typeof kept) => [...r.withLines].filter((f) => !r.withHeader.has(f)).length;
  assert.ok(headless(kept) <= headless(newest), `fewer kept lines without their header (kept ${headless(kept)} vs newest ${headless(newest)})`);
  assert.ok(orphans(kept) < orphans(newest), `fewer headers of files with no kept line (kept ${orphans(kept)} vs newest ${orphans(newest)})`);
  assert.ok(orphans(newest) > 0, `newest first spends slots on headers of files with no kept line (${orphans(newest)})`);
  assert.deepEqual(parsePolicySpec('infinipot:headers=kept').tuning.infinipot, { headers: 'kept' });
  assert.throws(() => parsePolicySpec('infinipot:headers=all'), /headers=newest\|kept/);
  await engine.dispose();
});

test('InfiniPot recent=<share>: the newest slots of that share stay whole, scores fill the rest to the budget', async () => {
  const engine = await tinyEngine();
  const tokens = sampleTokens(400, 259, 5);
  const tags = outlinedFiles(8);
  const pot = new Pot(engine, { budget: 64, policy: makePolicyFromSpec('infinipot:recent=0.5:pinshare=0.5', engine) });
  for (let from = 0; from < 400; from += 25) await pot.append(tokens.slice(from, from + 25), tags.slice(from, from + 25));
  const kept = pot.cache.tags();
  assert.equal(kept.length, 64, 'the pot fills its budget');
  assert.deepEqual(kept.slice(-32), tags.slice(-32), 'the newest 32 slots of the stream, in order');
  assert.ok(kept.slice(0, 32).some((t) => t!.line === 0 && t!.file !== 'f7.ts'), 'the rest keeps pinned headers of older files');
  assert.deepEqual(parsePolicySpec('infinipot:recent=0.25').tuning.infinipot, { recentShare: 0.25 });
  assert.throws(() => parsePolicySpec('infinipot:recent=1.5'), /recent=<0\.\.1>/);
  await engine.dispose();
});

test('StreamingLLM keeps exactly the sinks and the most recent window', async () => {
  const engine = await tinyEngine();
  const pot = new Pot(engine, { budget: 32, policy: streamingPolicy(4) });
  const tokens = sampleTokens(200, 259, 8);
  for (let from = 0; from < 200; from += 20) await pot.append(tokens.slice(from, from + 20), sources(20, from));
  const lines = pot.cache.tags().map((t) => t!.line);
  assert.deepEqual(lines, [1, 2, 3, 4, ...Array.from({ length: 28 }, (_, i) => 173 + i)]);
  await engine.dispose();
});

test('CaP equals the catalyst rows\' attention mass from the reference forward, and drives selection', async () => {
  const engine = await tinyEngine(4);
  const cache = engine.newCache<SlotSource>();
  const tokens = sampleTokens(40, 259, 12);
  await engine.prefill(cache, tokens);
  const catalyst = byteTokenizer.encode('recall');
  const scores = await catalystScores(engine, cache, catalyst);
  const { config, weights } = engine.model;
  const rows = new Float32Array(catalyst.length).fill(1 / catalyst.length);
  const ref = referenceForward(config, weights, { tokens: [...tokens, ...catalyst], positions: [...tokens, ...catalyst].map((_, i) => i), attentionRows: Float32Array.from([...new Array(40).fill(0), ...rows]) });
  for (let s = 0; s < 40; s++) {
    const expected = (ref.attentionMass ?? []).reduce((a, layer) => a + layer[s], 0);
    assert.ok(Math.abs(scores[s] - expected) < 1e-4, `slot ${s}: ${scores[s]} vs ${expected}`);
  }
  const policy = infinipotPolicy({ catalystTokens: catalyst, capShare: 1, unit: 'token' });
  const keep = await policy.selectKeep({ engine, cache, stats: { nll: new Array(40).fill(0), accumulated: [], recent: [], tokens: [] }, target: 10 });
  assert.deepEqual([...keep].sort((a, b) => a - b), topK(scores, 10).sort((a, b) => a - b));
  assert.equal(cache.length, 40, 'the catalyst leaves no slots behind');
  await engine.dispose();
});

test('NuC: capShare 0 keeps the most surprising tokens; the pot records per-token NLL from the prefill logits', async () => {
  const engine = await tinyEngine(5);
  const policy = infinipotPolicy({ catalystTokens: [10, 11], capShare: 0, unit: 'token' });
  const pot = new Pot(engine, { budget: 1000, policy });
  const tokens = sampleTokens(30, 259, 2);
  await pot.append(tokens.slice(0, 15), sources(15));
  await pot.append(tokens.slice(15), sources(15, 15));
  // NLL from the reference: -log softmax(logits[i-1])[token i]; the first token has none.
  const { config, weights } = engine.model;
  const ref = referenceForward(config, weights, { tokens, positions: tokens.map((_, i) => i) }).logits;
  const v = config.vocabSize;
  assert.ok(Number.isNaN(pot.stats.nll[0]));
  for (let i = 1; i < 30; i++) {
    const row = ref.subarray((i - 1) * v, i * v);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
    assert.ok(Math.abs(pot.stats.nll[i] - (lse - row[tokens[i]])) < 1e-3, `token ${i}`);
  }
  const keep = await policy.selectKeep({ engine, cache: pot.cache, stats: pot.stats, target: 8 });
  assert.deepEqual([...keep].sort((a, b) => a - b), topK(pot.stats.nll.map((x) => (Number.isFinite(x) ? x : 0)), 8).sort((a, b) => a - b));
  await engine.dispose();
});

test('citations rank files by attention mass and span the strong lines near their peak', () => {
  const tags: SlotSource[] = [{ file: 'a.ts', line: 3 }, { file: 'a.ts', line: 5 }, { file: 'b.ts', line: 1 }, { file: 'b.ts', line: 40 }];
  const cites = citeSources(tags, Float32Array.from([0.3, 0.3, 0.35, 0.01]));
  assert.deepEqual(cites.map((c) => [c.file, c.startLine, c.endLine]), [['a.ts', 3, 5], ['b.ts', 1, 1]]);
  assert.ok(Math.abs(cites[0].weight - 0.6 / 0.96) < 1e-6);
});

test('citations stay tight: strong lines far from the peak do not stretch the range (not loader.js:20-1803)', () => {
  const tags: SlotSource[] = [{ file: 'loader.js', line: 20 }, { file: 'loader.js', line: 900 }, { file: 'loader.js', line: 902 }, { file: 'loader.js', line: 1803 }];
  const [cite] = citeSources(tags, Float32Array.from([0.2, 0.5, 0.3, 0.2]));
  assert.deepEqual([cite.file, cite.startLine, cite.endLine], ['loader.js', 900, 902]);
  assert.ok(cite.endLine - cite.startLine <= 2 * CITATION_RADIUS);
});

function writeRepo(dir: string): void {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'README.md'), '# demo\nA tiny repository.\n');
  fs.writeFileSync(path.join(dir, 'src', 'config.ts'), 'export const PORT = 8080;\nexport const HOST = "localhost";\n'.repeat(6));
  fs.writeFileSync(path.join(dir, 'src', 'main.ts'), 'import { PORT } from "./config";\nconsole.log(PORT);\n'.repeat(8));
}

test('persistence: a restored pot answers exactly as before; an edited file is re-streamed alone', async () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-repo-'));
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-store-'));
  writeRepo(repo);
  const engine = await tinyEngine(6);
  const options = { repo, budget: 96, chunkSize: 32, cacheDir: store };
  const first = new Distiller(engine);
  const s1 = await first.ingest(options);
  assert.equal(s1.source, 'fresh');
  assert.ok(s1.tokensSeen > 300 && s1.tokensKept <= 96);
  const a1 = await first.ask('what is PORT?', { maxTokens: 12 });

  const second = new Distiller(engine);
  const s2 = await second.ingest(options);
  assert.equal(s2.source, 'reused');
  assert.equal(s2.tokensSeen, s1.tokensSeen);
  const a2 = await second.ask('what is PORT?', { maxTokens: 12 });
  assert.equal(a2.answer, a1.answer);
  assert.deepEqual(a2.sources, a1.sources);

  // A pot that held only the edited file is empty once its slots go, and starts again with BOS.
  const emptied = first.pot!.cache.tags().every((t) => t?.file === 'src/config.ts') ? 1 : 0;
  fs.writeFileSync(path.join(repo, 'src', 'config.ts'), 'export const PORT = 9090;\n');
  const third = new Distiller(engine);
  const s3 = await third.ingest(options);
  assert.equal(s3.source, 'refreshed');
  const configTokens = byteTokenizer.encode('// File: src/config.ts\nexport const PORT = 9090;\n').length;
  assert.equal(s3.tokensSeen, s1.tokensSeen + configTokens + emptied, 'only the edited file streams again');
  const configLines = third.pot!.cache.tags().filter((t) => t?.file === 'src/config.ts').map((t) => t!.line);
  assert.ok(configLines.every((l) => l <= 1), 'no slot of the old version survives');
  await engine.dispose();
});

test('snapshots: interrupted writes leave the previous snapshot valid; damage and model mismatch are reported', async () => {
  const engine = await tinyEngine(7);
  const pot = new Pot(engine, { budget: 32, policy: streamingPolicy() });
  // every third slot tagged as an outline line: the flag must survive the snapshot
  await pot.append(sampleTokens(40, 259, 1), sources(40).map((t, i) => (i % 3 === 0 ? { ...t, outline: true as const } : t)));
  assert.ok(pot.cache.tags().some((t) => t?.outline) && pot.cache.tags().some((t) => t && !t.outline));
  const meta = { formatVersion: POT_FORMAT_VERSION, modelHash: engine.model.weightsHash, policy: 'streaming', budget: 32, fileHashes: { 'a.ts': 'x' }, tokensSeen: 40, compressions: 1, skipped: {}, savedAt: 'now' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-snap-'));
  const file = path.join(dir, 'p.pot');
  savePot(file, { meta, cache: pot.cache, stats: pot.stats });
  const shape = pot.cache.shape;
  const good = loadPot(file, { modelHash: meta.modelHash, shape });
  assert.ok('cache' in good);
  assert.deepEqual(good.cache.tags(), pot.cache.tags());

  // A write that dies half-way (disk full, crash) never touches the live file.
  const original = fs.writeSync;
  const mutableFs = fs as { writeSync: typeof fs.writeSync };
  mutableFs.writeSync = (() => {
    throw new Error('ENOSPC: simulated crash mid-write');
  }) as typeof fs.writeSync;
  try {
    assert.throws(() => writeFileAtomic(file, encodePot({ meta: { ...meta, tokensSeen: 99 }, cache: pot.cache, stats: pot.stats })), /ENOSPC/);
  } finally {
    mutableFs.writeSync = original;
  }
  const after = loadPot(file, { modelHash: meta.modelHash, shape });
  assert.ok('cache' in after && after.meta.tokensSeen === 40, 'previous snapshot still valid');

  const bytes = fs.readFileSync(file);
  for (const cut of [10, bytes.length >> 1, bytes.length - 1]) {
    assert.throws(() => decodePot(bytes.subarray(0, cut), file, { modelHash: meta.modelHash, shape }), /p\.pot/);
  }
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 40] ^= 0xff;
  assert.throws(() => decodePot(flipped, file, { modelHash: meta.modelHash, shape }), /checksum/);
  const other = loadPot(file, { modelHash: 'another-model', shape });
  assert.ok('reason' in other && /different model/.test(other.reason));
  await engine.dispose();
});

test('a plain pot loads into an engine of the other KV dtype (rounded or widened); the Fourier tier refuses fp16', async () => {
  const engine = await tinyEngine(7);
  const pot = new Pot(engine, { budget: 32, policy: streamingPolicy() });
  await pot.append(sampleTokens(40, 259, 1), sources(40));
  const meta = { formatVersion: POT_FORMAT_VERSION, modelHash: engine.model.weightsHash, policy: 'streaming', budget: 32, fileHashes: {}, tokensSeen: 40, compressions: 1, skipped: {}, savedAt: 'now' };
  const shape = pot.cache.shape;
  const half = decodePot(encodePot({ meta, cache: pot.cache, stats: pot.stats }), 'p.pot', { modelHash: meta.modelHash, shape, kvDtype: 'fp16' });
  assert.equal(half.cache.kvDtype, 'fp16');
  assert.deepEqual(half.cache.tags(), pot.cache.tags());
  assert.deepEqual(half.cache.keyFeed(1), toFp16(pot.cache.keyView(1)));
  const wide = decodePot(encodePot(half), 'p.pot', { modelHash: meta.modelHash, shape, kvDtype: 'fp32' });
  assert.equal(wide.cache.kvDtype, 'fp32');
  assert.deepEqual(wide.cache.valueView(0), half.cache.valueView(0), 'fp16 → fp32 is exact');
  await engine.dispose();

  const fp16Engine = await Engine.fromModel({ ...randomModel('llama', { vocabSize: 259, maxPositions: 512 }, 7), tokenizer: byteTokenizer }, { cacheDir, kvDtype: 'fp16' });
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-fp16-'));
  fs.writeFileSync(path.join(repo, 'a.ts'), 'export const A = 1;\n');
  await assert.rejects(new Distiller(fp16Engine).ingest({ repo, fourier: true }), /Fourier tier needs the fp32 KV cache/);
  await fp16Engine.dispose();
});

test.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

test('policy specs: InfiniPot alternatives parse; bad specs are rejected with the reason', () => {
  assert.deepEqual(parsePolicySpec('streaming'), { name: 'streaming', tuning: { infinipot: {} } });
  assert.deepEqual(parsePolicySpec('infinipot:cap=0.25:unit=line:frame=plain').tuning.infinipot, { capShare: 0.25, unit: 'line', catalystFrame: 'plain' });
  assert.throws(() => parsePolicySpec('lru'), /unknown policy "lru"/);
  assert.throws(() => parsePolicySpec('h2o:cap=0.5'), /takes no options/);
  assert.throws(() => parsePolicySpec('infinipot:unit=word'), /unit=token\|line/);
  assert.deepEqual(parsePolicySpec('infinipot:pin=headers:pinshare=0.25').tuning.infinipot, { pin: 'headers', pinShare: 0.25 });
  assert.deepEqual(parsePolicySpec('infinipot:scale=rank').tuning.infinipot, { scale: 'rank' });
  assert.throws(() => parsePolicySpec('infinipot:scale=log'), /scale=max\|rank/);
});

test('InfiniPot scale=rank: each score becomes its rank in [0, 1], ties share the mean rank, so a sink cannot flatten the rest', () => {
  assert.deepEqual([...rankScale([5, 1000, 1, 5, 3])], [0.625, 1, 0, 0.625, 0.25]);
  assert.deepEqual([...rankScale([7])], [0]);
  assert.deepEqual([...rankScale([])], []);
});

test('the catalyst is asked in the model\'s own question format unless framed plain', async () => {
  const engine = await tinyEngine();
  try {
    assert.equal(catalystText(engine, 'recall', 'question'), '\nQuestion: recall\nAnswer:');
    assert.equal(catalystText(engine, 'recall', 'plain'), '\nrecall\n');
    const framed = makePolicy('infinipot', engine, 'recall');
    assert.equal(framed.name, 'infinipot');
  } finally {
    await engine.dispose();
  }
});

test('query-aware refinement keeps the slots the question attends to most, at their positions; the saved pot is untouched', async () => {
  const engine = await tinyEngine(6);
  const pot = new Pot(engine, { budget: 1000, policy: streamingPolicy() });
  const tokens = sampleTokens(60, 259, 9);
  await pot.append(tokens, sources(60));
  const question = byteTokenizer.encode(questionPrompt(engine, 'where?').text);
  const expected = topK(
    await catalystScores(engine, pot.cache, question),
    15,
  ).sort((a, b) => a - b);
  const refined = pot.cache.clone();
  await refineForQuestion(engine, refined, question, 0.25);
  assert.equal(refined.length, 15);
  assert.deepEqual(refined.tags().map((t) => t?.line), expected.map((s) => s + 1), 'kept slots = top 25% by the question\'s attention');
  assert.deepEqual(Array.from({ length: 15 }, (_, i) => refined.position(i)), expected, 'kept slots stay where they streamed in (no re-packing)');
  const answer = await askPot(engine, pot, 'where?', { maxTokens: 3, refine: 0.25 });
  assert.equal(pot.cache.length, 60, 'asking with refinement leaves the pot as it was');
  const keptLines = new Set(expected.map((s) => s + 1));
  assert.ok(answer.sources.length > 0);
  for (const source of answer.sources) assert.ok(keptLines.has(source.startLine) && keptLines.has(source.endLine), `source ${source.file}:${source.startLine}-${source.endLine} starts and ends on kept slots`);
  await assert.rejects(refineForQuestion(engine, refined, question, 0), /keep share/);
  await engine.dispose();
});

test('lookup evidence: where needs the name in the answer file\'s kept text; const needs name and value in one file', () => {
  const kept = new Map([
    ['src/a.ts', 'export function area(w) {\n'],
    ['src/b.ts', 'const LIMIT = 3;\n'],
  ]);
  assert.equal(evidenceKept(kept, { type: 'where', question: 'Where is `area` defined?', answer: 'src/a.ts' }), true);
  assert.equal(evidenceKept(kept, { type: 'where', question: 'Where is `area` defined?', answer: 'src/b.ts' }), false, 'name kept, but in another file');
  assert.equal(evidenceKept(kept, { type: 'where', question: 'Where is `Shape.area` defined?', answer: 'a.ts' }), true, 'member names and answer suffixes');
  assert.equal(evidenceKept(kept, { type: 'const', question: 'What does constant `LIMIT` equal?', answer: '3' }), true);
  assert.equal(evidenceKept(kept, { type: 'const', question: 'What does constant `LIMIT` equal?', answer: '4' }), false);
});
