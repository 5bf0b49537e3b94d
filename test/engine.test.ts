// The engine end to end on tiny random models and the real stories260K: the selftest checks (a, b, d),
// generation with stop sequences and cancellation, sampling, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Engine } from '../server/src/engine/engine';
import { Sampler } from '../server/src/engine/sampling';
import {
  checkCacheEdit,
  checkReference,
  checkStories260K,
  maxAbsDiff,
  randomModel,
  sampleTokens,
  scratchCacheDir,
  sharedDir,
  STORIES_EXPECTED,
} from '../server/src/selftest/checks';
import type { Tokenizer } from '../server/src/model/tokenizer';

const cacheDir = scratchCacheDir();

for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
  test(`(a) ${arch}: ONNX logits equal the reference for prefill, chunked prefill and decode`, async () => {
    const r = await checkReference(arch, cacheDir);
    assert.ok(r.pass, `maxAbsDiff ${r.maxAbsDiff}`);
  });
}

test('(b) cache edits (remove + CR-RoPE) equal recomputation', async () => {
  const r = await checkCacheEdit(cacheDir);
  assert.ok(r.pass, `maxAbsDiff ${r.maxAbsDiff}`);
});

test('(b) without re-positioning, the edited cache differs from recomputation (the check can fail)', async () => {
  const model = randomModel('qwen2', { numLayers: 1 }, 3);
  const engine = await Engine.fromModel(model, { cacheDir });
  const tokens = sampleTokens(16, model.config.vocabSize, 2);
  const edited = engine.newCache();
  await engine.prefill(edited, tokens);
  edited.remove([0, 1, 2, 3]);
  const probe = [5];
  const a = await engine.forward(edited, probe, { positions: [12] });
  const fresh = engine.newCache();
  await engine.prefill(fresh, tokens.slice(4));
  const b = await engine.forward(fresh, probe);
  assert.ok(maxAbsDiff(a.logits, b.logits) > 1e-3);
  await engine.dispose();
});

test('(d) stories260K greedy from BOS tells the expected story', async (t) => {
  const dir = path.join(sharedDir(), 'models', 'stories260K');
  if (!fs.existsSync(dir)) return t.skip(`../shared absent: ${dir} not found`);
  const r = await checkStories260K(cacheDir);
  assert.ok(r.detail?.startsWith(STORIES_EXPECTED), r.detail);
  assert.ok(r.pass, JSON.stringify(r));
});

/** A tokenizer for random models: token i decodes to a fixed short string. */
function letterTokenizer(vocab: number): Tokenizer {
  const piece = (id: number) => String.fromCharCode(97 + (id % 26)) + (id % 3 === 0 ? ' ' : '');
  return {
    vocabSize: vocab,
    eosTokenIds: [],
    encode: () => [],
    decode: (ids) => ids.map(piece).join(''),
    tokenToId: () => undefined,
  };
}

test('generate: stop sequences end the output and are never streamed', async () => {
  const base = randomModel('llama', {}, 9);
  const model = { ...base, tokenizer: letterTokenizer(base.config.vocabSize) };
  const engine = await Engine.fromModel(model, { cacheDir });
  const prompt = sampleTokens(6, base.config.vocabSize, 4);
  const free = await engine.generate(engine.newCache(), prompt, { maxTokens: 30 });
  assert.equal(free.stopReason, 'length');
  assert.equal(free.tokens.length, 30);
  // Stop on a piece of the free run's text: the stopped run is its exact prefix.
  const stop = free.text.slice(10, 13);
  const streamed: string[] = [];
  const stopped = await engine.generate(engine.newCache(), prompt, { maxTokens: 30, stop: [stop], onText: (s) => streamed.push(s) });
  assert.equal(stopped.stopReason, 'stop');
  assert.equal(stopped.text, free.text.slice(0, free.text.indexOf(stop)));
  assert.equal(streamed.join(''), stopped.text);
  await engine.dispose();
});

test('generate: cancellation stops between tokens and keeps the partial answer', async () => {
  const base = randomModel('qwen2', {}, 5);
  const engine = await Engine.fromModel({ ...base, tokenizer: letterTokenizer(base.config.vocabSize) }, { cacheDir });
  const controller = new AbortController();
  let seen = 0;
  const r = await engine.generate(engine.newCache(), [1, 2, 3], {
    maxTokens: 50,
    signal: controller.signal,
    onToken: () => {
      if (++seen === 4) controller.abort();
    },
  });
  assert.equal(r.stopReason, 'cancelled');
  assert.equal(r.tokens.length, 4);
  await engine.dispose();
});

test('generate: cache after generation equals prompt + generated tokens minus the last', async () => {
  const base = randomModel('llama', {}, 2);
  const engine = await Engine.fromModel({ ...base, tokenizer: letterTokenizer(base.config.vocabSize) }, { cacheDir });
  const cache = engine.newCache();
  const r = await engine.generate(cache, [4, 5, 6], { maxTokens: 7 });
  assert.equal(cache.length, 3 + r.tokens.length - 1);
  await engine.dispose();
});

test('sampling: greedy is argmax, seeded sampling is reproducible, top-p keeps the nucleus', () => {
  const logits = Float32Array.from([0, 5, 1, 4.9, -3]);
  assert.equal(new Sampler({ kind: 'greedy' }).next(logits), 1);
  const a = new Sampler({ kind: 'sample', temperature: 1, seed: 42 });
  const b = new Sampler({ kind: 'sample', temperature: 1, seed: 42 });
  const draws = Array.from({ length: 50 }, () => a.next(logits));
  assert.deepEqual(draws, Array.from({ length: 50 }, () => b.next(logits)));
  const nucleus = new Sampler({ kind: 'sample', temperature: 1, topP: 0.5, seed: 1 });
  for (let i = 0; i < 100; i++) assert.equal(nucleus.next(logits), 1, 'top-p 0.5 keeps only the top token here');
  assert.throws(() => new Sampler({ kind: 'sample', temperature: 0 }), /temperature/);
});

test('bad input: out-of-range token ids and mismatched masks fail with a clear error', async () => {
  const model = randomModel('llama');
  const engine = await Engine.fromModel(model, { cacheDir });
  const cache = engine.newCache();
  await assert.rejects(engine.forward(cache, [model.config.vocabSize]), /token id \d+ is outside the vocabulary/);
  await assert.rejects(engine.forward(cache, [-1]), /outside the vocabulary/);
  await assert.rejects(engine.forward(cache, [1, 2], { mask: new Float32Array(3) }), /mask has 3 entries/);
  assert.equal(cache.length, 0, 'a failed forward appends nothing');
  await engine.dispose();
});

test.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
