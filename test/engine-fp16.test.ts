// The engine with an fp16 KV cache (kvDtype 'fp16'): the graphs read the fp16 bits exactly (an fp32 engine on the same
// rounded cache gives the same logits, for the standard graph and both fused attentions, after a CR-RoPE edit too),
// greedy decoding on RepoPot's own model gives the fp32 engine's tokens, and mismatched caches fail clearly.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Engine } from '../server/src/engine/engine';
import type { KvCache } from '../server/src/engine/kvCache';
import { graphCacheKey } from '../server/src/graph/graphCache';
import { maxAbsDiff, randomModel, sampleTokens, scratchCacheDir } from '../server/src/selftest/checks';

const cacheDir = scratchCacheDir();
const ownModel = path.join(__dirname, '..', 'models', 'repopot-tiny-code');

/** The fp32 copy of an fp16 cache (exact: every fp16 value is an fp32 value). */
function widenedCopy<T>(cache: KvCache<T>): KvCache<T> {
  const copy = cache.clone();
  copy.setKvDtype('fp32');
  return copy;
}

describe('fp16 past K/V are read exactly', () => {
  for (const [kernels, attention] of [['standard', undefined], ['fused', 'sdpa'], ['fused', 'gqa']] as const) {
    test(`${kernels}${attention ? ` ${attention}` : ''}: prefill, CR-RoPE edit and decode equal fp32 on the rounded cache`, async () => {
      const model = randomModel('qwen2', {}, 11);
      const half = await Engine.fromModel(model, { cacheDir, kernels, attention, kvDtype: 'fp16' });
      const full = await Engine.fromModel(model, { cacheDir, kernels, attention, kvDtype: 'fp32' });
      assert.equal(half.kvDtype, 'fp16');
      const tokens = sampleTokens(24, model.config.vocabSize, 3);
      const cache = half.newCache(8);
      assert.equal(cache.kvDtype, 'fp16');
      await half.prefill(cache, tokens.slice(0, 20));
      cache.remove([0, 5, 6]);
      cache.compactPositions(0);
      let worst = 0;
      let unrounded = 0;
      for (const t of tokens.slice(20)) {
        const reference = widenedCopy(cache);
        const a = await half.forward(cache, [t], { logits: 'all' });
        const b = await full.forward(reference, [t], { logits: 'all' });
        worst = Math.max(worst, maxAbsDiff(a.logits, b.logits), maxAbsDiff(a.newKeys[0], b.newKeys[0]));
        // The check can fail: the new rows the fp16 cache appended were rounded, the reference's were not.
        unrounded = Math.max(unrounded, maxAbsDiff(cache.keyView(1), reference.keyView(1)));
      }
      assert.ok(worst < 1e-5, `fp16 graph vs fp32 graph on the same values: ${worst}`);
      assert.ok(unrounded > 0, 'appended rows are rounded to fp16');
      assert.equal(cache.bytes * 2, widenedCopy(cache).bytes);
      await half.dispose();
      await full.dispose();
    });
  }

  test('a cache of the other dtype is refused with the option named; so is an unknown dtype', async () => {
    const model = randomModel('llama', {}, 4);
    const half = await Engine.fromModel(model, { cacheDir, kvDtype: 'fp16' });
    const full = await Engine.fromModel(model, { cacheDir });
    await assert.rejects(half.forward(full.newCache(), [1, 2]), /cache stores fp32 K\/V but this engine's graphs read fp16 \(kvDtype\)/);
    await assert.rejects(full.forward(half.newCache(), [1, 2]), /cache stores fp16 K\/V but this engine's graphs read fp32/);
    await assert.rejects(Engine.fromModel(model, { cacheDir, kvDtype: 'bf16' as never }), /kvDtype must be one of fp32, fp16/);
    await half.dispose();
    await full.dispose();
  });

  test('the graph cache keys fp16 graphs apart and keeps the fp32 keys as they were', () => {
    const { config } = randomModel('llama');
    const options = { weights: 'fp32', logits: 'last', attentionMass: false } as const;
    const plain = graphCacheKey('h', config, options);
    assert.equal(graphCacheKey('h', config, { ...options, kvDtype: 'fp32' }), plain);
    assert.notEqual(graphCacheKey('h', config, { ...options, kvDtype: 'fp16' }), plain);
  });
});

test('repopot-tiny-code: greedy decoding with the fp16 cache gives the fp32 tokens, logits within a small tolerance', async (t) => {
  if (!fs.existsSync(path.join(ownModel, 'model.safetensors'))) return t.skip(`${ownModel} not found`);
  const full = await Engine.load(ownModel, { cacheDir });
  const half = await Engine.load(ownModel, { cacheDir, kvDtype: 'fp16' });
  const prompts = [
    'export function parseConfig(text: string): Config {\n  const lines = text.split',
    'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n',
  ];
  let worst = 0;
  for (const prompt of prompts) {
    const ids = full.tokenizer.encode(prompt);
    const a = full.newCache();
    const b = half.newCache();
    const ra = await full.generate(a, ids, { maxTokens: 32 });
    const rb = await half.generate(b, ids, { maxTokens: 32 });
    assert.deepEqual(rb.tokens, ra.tokens, `prompt ${JSON.stringify(prompt.slice(0, 20))}`);
    assert.ok(ra.tokens.length >= 8, 'decoded enough tokens to compare');
    worst = Math.max(worst, maxAbsDiff(b.lastLogits!, a.lastLogits!));
  }
  t.diagnostic(`worst last-logit difference ${worst}`);
  // Measured about 1e-3 (logits of magnitude ~10): fp16 keeps 11 significant bits of each K/V value.
  assert.ok(worst < 0.05, `last logits differ by ${worst}`);
  await full.dispose();
  await half.dispose();
});

test.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
