// Query-aware re-read (server/src/distill/reread.ts) on a tiny random model: which names a question asks about,
// which lines go back (definitions first, within the token budget, tagged like the streamer's), where they go in the
// ask's clone (after the pot, never past the model's positions) and that the saved pot stays as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../server/src/engine/engine';
import type { KvCache } from '../server/src/engine/kvCache';
import { Pot } from '../server/src/distill/pot';
import { askPot, Distiller, potPositionLimit } from '../server/src/distill/distiller';
import { questionNames, rereadIntoCache, rereadLines, slidePositions, type RereadPieces } from '../server/src/distill/reread';
import { tokenizeWithProvenance, type StreamableFile } from '../server/src/distill/streamer';
import { streamingPolicy } from '../server/src/distill/policies/streaming';
import { parseBenchPolicy } from '../server/src/bench/distillBench';
import type { SlotSource } from '../server/src/distill/provenance';
import { randomModel, sampleTokens, scratchCacheDir } from '../server/src/selftest/checks';
import { byteTokenizer } from './byteTokenizer';

const cacheDir = scratchCacheDir();


/** A random llama with a short trained context, so that a pot sits close to its end. */
const MAX_POSITIONS = 256;

async function tinyEngine(seed = 1): Promise<Engine> {
  const base = randomModel('llama', { vocabSize: 259, maxPositions: MAX_POSITIONS }, seed);
  return Engine.fromModel({ ...base, tokenizer: byteTokenizer }, { cacheDir });
}

const files: StreamableFile[] = [
  { path: 'src/a.ts', text: 'const x = fooBar(1);\nconst fooBarBaz = 2;\nexport function other() {}\nlog(fooBar);\n' },
  { path: 'src/b.ts', text: '// helpers\n\nexport function fooBar(n: number) {\n  return n + 1;\n}\n' },
  { path: 'src/c.ts', text: 'import { fooBar } from "./b";\nexport const y = 3;\n' },
];

/** What the streamer makes of `file`'s header and `lines` (file and line of each token; the outline tag aside). */
function streamed(file: StreamableFile, lines: readonly number[]): { tokens: number[]; sources: { file: string; line: number }[] } {
  const all = tokenizeWithProvenance(file, byteTokenizer);
  const keep = new Set([0, ...lines]);
  const at = all.provenance.map((s, i) => i).filter((i) => keep.has(all.provenance[i].line));
  return { tokens: at.map((i) => all.tokens[i]), sources: at.map((i) => ({ file: all.provenance[i].file, line: all.provenance[i].line })) };
}

const plain = (sources: readonly SlotSource[]) => sources.map((s) => ({ file: s.file, line: s.line }));

test('questionNames: backticked spans (and a dotted path\'s last segment), else the words that look like code', () => {
  assert.deepEqual(questionNames('Where is `Shape.area` defined?'), ['Shape.area', 'area']);
  assert.deepEqual(questionNames('What does constant `MAX_X` equal?'), ['MAX_X']);
  assert.deepEqual(questionNames('What parameters does function `run()` take, and is `run` async?'), ['run']);
  assert.deepEqual(questionNames('Where is fooBar defined, and what does MAX_RETRIES equal?'), ['fooBar', 'MAX_RETRIES']);
  assert.deepEqual(questionNames('Which files import parse_args, PotStore or utf8Decode? And PotStore?'), ['parse_args', 'PotStore', 'utf8Decode']);
  assert.deepEqual(questionNames('Where is Shape.area defined?'), ['Shape.area', 'area']);
  assert.deepEqual(questionNames('Where is the main loop defined, e.g. in the Server?'), [], 'plain English words are no names');
});

test('rereadLines: the definition line first, then imports, then mentions, whole words only, within maxTokens, tagged as streamed', async () => {
  const names = ['fooBar'];
  // Everything fits: per file its header, then its matching lines in file order; the file with mentions only first,
  // then the importing one, the defining one last (nearest the question).
  const all = await rereadLines(files, names, byteTokenizer, 10_000);
  const expected = [streamed(files[0], [1, 4]), streamed(files[2], [1]), streamed(files[1], [3])];
  assert.deepEqual(all.tokens, expected.flatMap((e) => e.tokens));
  assert.deepEqual(plain(all.sources), expected.flatMap((e) => e.sources), 'header line 0, then each line with its 1-based number; fooBarBaz is not fooBar');
  assert.equal(all.sources.length, all.tokens.length);
  assert.ok(all.sources.some((s) => s.file === 'src/b.ts' && s.line === 3 && s.outline), 'the definition line is tagged outline, as the streamer tags it');
  assert.ok(all.sources.some((s) => s.file === 'src/a.ts' && s.line === 4 && !s.outline), 'a mention is not');

  // Room for one piece: the definition (with its header), not the mentions that come first in the stream.
  const definition = streamed(files[1], [3]);
  const one = await rereadLines(files, names, byteTokenizer, definition.tokens.length);
  assert.deepEqual(one.tokens, definition.tokens);
  assert.deepEqual(plain(one.sources), definition.sources);
  // Room for two: the import comes next.
  const imports = streamed(files[2], [1]);
  const two = await rereadLines(files, names, byteTokenizer, definition.tokens.length + imports.tokens.length);
  assert.deepEqual(two.tokens, [...imports.tokens, ...definition.tokens], 'grouped by file, the definition last');
  // Never more than maxTokens, whatever the budget.
  for (let budget = 0; budget <= all.tokens.length + 5; budget += 7) {
    const r = await rereadLines(files, names, byteTokenizer, budget);
    assert.ok(r.tokens.length <= budget, `${r.tokens.length} tokens for a budget of ${budget}`);
  }
  assert.deepEqual(await rereadLines(files, [], byteTokenizer, 1000), { tokens: [], sources: [] });
  assert.deepEqual((await rereadLines(files, ['absent'], byteTokenizer, 1000)).tokens, []);
});

test('rereadLines: an implementation goes after its declaration file; prose mentions stay out when code defines the name', async () => {
  const pkg: StreamableFile[] = [
    { path: 'README.md', text: '# eos\n\n    var eos = require("end-of-stream")\n' },
    { path: 'index.js', text: 'var eos = function (stream) {\n  return stream;\n};\nmodule.exports = eos;\n' },
    { path: 'index.d.ts', text: 'declare function eos(stream: unknown): unknown;\nexport = eos;\n' },
  ];
  const read = await rereadLines(pkg, ['eos'], byteTokenizer, 10_000);
  const order = [...new Set(read.sources.map((s) => s.file))];
  assert.deepEqual(order, ['index.d.ts', 'index.js'], 'no README mention; the implementation nearest the question');
  // Without a definition in code, the README's mention is all there is, and it is put back.
  const proseOnly = await rereadLines([pkg[0]], ['eos'], byteTokenizer, 10_000);
  assert.deepEqual([...new Set(proseOnly.sources.map((s) => s.file))], ['README.md']);
});

function pieces(n: number, file = 'src/b.ts'): RereadPieces {
  return { tokens: sampleTokens(n, 259, 11), sources: Array.from({ length: n }, (_, i) => ({ file, line: Math.floor(i / 10) + 1 })) };
}

test('slidePositions: slides by the overshoot, packing only the slots that would fall below their index', () => {
  assert.deepEqual(slidePositions([0, 1, 5, 9, 20], 0), [0, 1, 5, 9, 20]);
  assert.deepEqual(slidePositions([0, 1, 5, 9, 20], 4), [0, 1, 2, 5, 16]);
  assert.deepEqual(slidePositions([3, 4, 5], 10), [0, 1, 2]);
});

test('rereadIntoCache: appends after the pot; near the end of the context it slides the pot down, and drops slots only when they cannot fit', async () => {
  const engine = await tinyEngine(3);
  const fill = async (n: number, tags: SlotSource[]) => {
    const cache = engine.newCache<SlotSource>(n + 128);
    await engine.prefill(cache, sampleTokens(n, 259, 5), { tags });
    return cache;
  };
  const tagsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ file: 'pot.ts', line: i + 1 }));
  const check = (cache: KvCache<SlotSource>, reserve: number, label: string) => {
    const positions = Array.from(cache.positions());
    assert.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]), `${label}: positions increase`);
    assert.ok(cache.nextPosition() + reserve <= MAX_POSITIONS, `${label}: ${cache.nextPosition()} + ${reserve} reserved passes ${MAX_POSITIONS}`);
  };

  // Room to spare: nothing moves, the re-read follows the pot.
  const roomy = await fill(40, tagsOf(40));
  const r1 = await rereadIntoCache(engine, roomy, pieces(30), { reserve: 20, questionTokens: [10, 11] });
  assert.deepEqual(r1, { dropped: 0, shifted: 0 });
  assert.deepEqual(Array.from(roomy.positions()), Array.from({ length: 70 }, (_, i) => i));
  assert.deepEqual(roomy.tags().slice(40), pieces(30).sources);

  // A pot whose positions end near the limit (gaps from compression): slid down by the overshoot, packed only at the start.
  const near = await fill(64, tagsOf(64));
  near.reposition(Array.from({ length: 64 }, (_, i) => 20 + i * 3)); // 20, 23, ..., 209
  const r2 = await rereadIntoCache(engine, near, pieces(40), { reserve: 30, questionTokens: [10, 11] });
  const overshoot = 210 + 40 + 30 - MAX_POSITIONS;
  assert.deepEqual(r2, { dropped: 0, shifted: overshoot });
  assert.equal(near.length, 104);
  const after = Array.from(near.positions());
  assert.deepEqual(after.slice(0, 64), Array.from({ length: 64 }, (_, i) => Math.max(i, 20 + i * 3 - overshoot)));
  assert.equal(after[63] - after[62], 3, 'the newest slots keep their spacing');
  assert.deepEqual(after.slice(64), Array.from({ length: 40 }, (_, i) => after[63] + 1 + i), 'the re-read follows the pot');
  check(near, 30, 'near');

  // More slots than positions left: the slots the re-read repeats go first, then those the question attends to least.
  const potTags = tagsOf(200).map((t, i) => (i < 10 ? { file: 'src/b.ts', line: (i % 4) + 1 } : t));
  const full = await fill(200, potTags);
  const r3 = await rereadIntoCache(engine, full, pieces(40), { reserve: 30, questionTokens: [10, 11, 12] });
  assert.equal(r3.dropped, 200 - (MAX_POSITIONS - 40 - 30));
  assert.equal(full.length, MAX_POSITIONS - 30);
  assert.ok(full.tags().slice(0, 186).every((t) => t?.file === 'pot.ts'), 'the repeated lines were dropped first');
  check(full, 30, 'full');
  await assert.rejects(rereadIntoCache(engine, full.clone(), pieces(200), { reserve: 100, questionTokens: [] }), /exceed the model's 256-token context/);
  await engine.dispose();
});

test('askPot with reread: the lines go after the pot, no position passes the context, the pot is untouched; absent, nothing changes', async () => {
  const engine = await tinyEngine(4);
  // Watch every forward pass: the largest position any token takes.
  let maxPosition = -1;
  const forward = engine.forward.bind(engine);
  engine.forward = ((cache, tokens, options = {}) => {
    const start = cache.nextPosition();
    const positions = options.positions ?? tokens.map((_, i) => start + i);
    maxPosition = Math.max(maxPosition, ...positions);
    return forward(cache, tokens, options);
  }) as Engine['forward'];

  const pot = new Pot(engine, { budget: 64, policy: streamingPolicy(), positionLimit: potPositionLimit(MAX_POSITIONS) });
  // Streamed until its positions sit near the pot's limit (224 of 256; it re-packs when a chunk would pass it).
  const tokens = sampleTokens(2400, 259, 8);
  for (let from = 0; from < tokens.length && pot.cache.nextPosition() <= 200; from += 24) await pot.append(tokens.slice(from, from + 24), Array.from({ length: 24 }, (_, i) => ({ file: 'pot.ts', line: from + i + 1 })));
  assert.ok(pot.summary().compressions > 5 && pot.cache.nextPosition() > 200, `the pot sits near its position limit (${pot.cache.nextPosition()})`);
  const before = { length: pot.cache.length, tags: pot.cache.tags(), positions: Array.from(pot.cache.positions()) };

  maxPosition = -1;
  const question = 'Where is `fooBar` defined?';
  const answer = await askPot(engine, pot, question, { maxTokens: 8, reread: { files, maxTokens: 80 } });
  assert.ok(maxPosition < MAX_POSITIONS, `a token at position ${maxPosition}`);
  assert.ok(answer.sources.some((s) => s.file === 'src/b.ts'), `the re-read definition is cited: ${JSON.stringify(answer.sources)}`);
  assert.deepEqual({ length: pot.cache.length, tags: pot.cache.tags(), positions: Array.from(pot.cache.positions()) }, before, 'the saved pot is as it was');

  // Off: the ask reads the pot alone (no re-read file is cited).
  const without = await askPot(engine, pot, question, { maxTokens: 8 });
  assert.ok(without.sources.every((s) => s.file === 'pot.ts'));
  await engine.dispose();
});

test('Distiller.files gives the ingested files as they read now, for a re-read from the CLI', async () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-reread-'));
  fs.mkdirSync(path.join(repo, 'src'));
  for (const f of files) fs.writeFileSync(path.join(repo, f.path), f.text);
  const engine = await tinyEngine(5);
  const distiller = new Distiller(engine);
  assert.deepEqual(await distiller.files(), [], 'nothing ingested');
  await distiller.ingest({ repo, budget: 64, chunkSize: 32 });
  const read = await distiller.files();
  assert.deepEqual(read.map((f) => f.path).sort(), files.map((f) => f.path));
  assert.equal(read.find((f) => f.path === 'src/b.ts')?.text, files[1].text);
  const answer = await distiller.ask('Where is `fooBar` defined?', { maxTokens: 4, reread: { files: read, maxTokens: 60 } });
  assert.ok(answer.sources.length > 0);
  await engine.dispose();
  fs.rmSync(repo, { recursive: true, force: true });
});

test('bench policy specs: +reread=N puts N tokens back (anything but a positive integer is refused); +snap and +values snap', () => {
  assert.deepEqual(parseBenchPolicy('infinipot+reread=256'), { policy: 'infinipot', name: 'infinipot', refine: undefined, reread: 256, snap: false, snapValues: false, fourier: false, positions: 'keep' });
  assert.deepEqual(parseBenchPolicy('streaming+reread=256+snap'), { policy: 'streaming', name: 'streaming', refine: undefined, reread: 256, snap: true, snapValues: false, fourier: false, positions: 'keep' });
  const values = parseBenchPolicy('infinipot+reread=256+snap+values');
  assert.deepEqual([values.policy, values.snap, values.snapValues], ['infinipot', true, true], '+values: value snapping, as the product answers');
  const both = parseBenchPolicy('streaming+refine=0.5+reread=128+repack');
  assert.deepEqual([both.policy, both.refine, both.reread, both.positions], ['streaming', 0.5, 128, 'repack']);
  assert.equal('reread' in parseBenchPolicy('infinipot+refine=0.5'), false, 'absent: off');
  for (const bad of ['infinipot+reread=abc', 'infinipot+reread=0', 'infinipot+reread=1.5', 'infinipot+reread=']) assert.throws(() => parseBenchPolicy(bad), /reread tokens must be a positive integer/, bad);
});
