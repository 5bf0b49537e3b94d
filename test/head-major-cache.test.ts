// The standard graph over the head-major past cache (pastLayout 'headT': K transposed, capacity-padded, read in
// place) against the token-major standard graph on tiny random models: logits, new K/V and attention mass for prefill,
// decode, tree and block masks, after CR-RoPE edits, keep/remove and steering deltas, across capacity growth, with
// fp32 and fp16 storage; routing of caches that cannot be head-major; and the cache verbs in the 'headT' layout.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Engine, resolvePastLayout } from '../server/src/engine/engine';
import { HEAD_T_CAPACITY_STEP, KvCache, type CacheLayout, type KvDtype } from '../server/src/engine/kvCache';
import { MASK_NEG, type WeightFormat } from '../server/src/graph/contract';
import type { ModelConfig } from '../server/src/model/config';
import { randomWeights, seededRandom, tinyConfig } from '../server/src/model/randomWeights';
import { maxAbsDiff, scratchCacheDir } from '../server/src/selftest/checks';
import { heapTreeMask, randomTokens } from './graphParity';

const cacheDir = scratchCacheDir();

const cases: { label: string; config: ModelConfig }[] = [
  { label: 'llama untied GQA', config: tinyConfig('llama', { tieWordEmbeddings: false }) },
  { label: 'qwen2 qkv bias, 4 query heads per KV head', config: tinyConfig('qwen2', { numHeads: 8, numKvHeads: 2, headDim: 8 }) },
  { label: 'qwen3 q/k norm, MHA', config: tinyConfig('qwen3', { numKvHeads: 4 }) },
];

async function pair(config: ModelConfig, weights: WeightFormat, kvDtype: KvDtype = 'fp32'): Promise<{ head: Engine; token: Engine }> {
  const model = { config, weights: randomWeights(config, 7, { std: 0.1 }), weightsHash: `head-major-test-${JSON.stringify(config)}` };
  const head = await Engine.fromModel(model, { cacheDir, weights, kvDtype, kernels: 'standard', pastLayout: 'headT' });
  const token = await Engine.fromModel(model, { cacheDir, weights, kvDtype, kernels: 'standard', pastLayout: 'token' });
  return { head, token };
}

/** Block-causal mask (blocks of `block` new tokens see earlier blocks and themselves) that also hides some cache slots. */
function blockMask(past: number, q: number, block: number, hidden: readonly number[]): Float32Array {
  const total = past + q;
  const mask = new Float32Array(q * total);
  for (let r = 0; r < q; r++) {
    for (const c of hidden) mask[r * total + c] = MASK_NEG;
    for (let c = 0; c < q; c++) if (Math.floor(c / block) > Math.floor(r / block)) mask[r * total + past + c] = MASK_NEG;
  }
  return mask;
}

/** The two engines' results agree within `tol`: logits, new K/V, attention mass (over the contract's past+q columns). */
function assertSame(a: Awaited<ReturnType<Engine['forward']>>, b: Awaited<ReturnType<Engine['forward']>>, tol: number, what: string): void {
  assert.ok(maxAbsDiff(a.logits, b.logits) < tol, `${what}: logits ${maxAbsDiff(a.logits, b.logits)}`);
  for (let l = 0; l < a.newKeys.length; l++) {
    assert.ok(maxAbsDiff(a.newKeys[l], b.newKeys[l]) < tol, `${what}: layer ${l} new keys`);
    assert.ok(maxAbsDiff(a.newValues[l], b.newValues[l]) < tol, `${what}: layer ${l} new values`);
  }
  assert.equal(a.attentionMass === undefined, b.attentionMass === undefined);
  for (let l = 0; l < (a.attentionMass?.length ?? 0); l++) {
    const d = maxAbsDiff(a.attentionMass![l], b.attentionMass![l]);
    assert.ok(d < tol * 10, `${what}: attention mass layer ${l}: ${d}`);
  }
}

describe('head-major past equals the token-major standard graph', () => {
  for (const { label, config } of cases) {
    for (const [weights, kvDtype] of [['fp32', 'fp32'], ['int4', 'fp32'], ['fp32', 'fp16']] as const) {
      test(`${label}, ${weights}, ${kvDtype} KV: prefill, decode, masks, attention mass, edits, growth`, async () => {
        const { head, token } = await pair(config, weights, kvDtype);
        // The graphs differ only in attention's summation order, so fp32 agrees to rounding; int4's on-the-fly int8
        // activations can turn such a rounding into a neighbouring level, so it is compared looser.
        const tol = weights === 'fp32' ? 1e-4 : 0.05;
        try {
          assert.equal(head.cacheLayout, 'headT');
          assert.equal(token.cacheLayout, 'token');
          const a = head.newCache<string>();
          const b = token.newCache<string>();
          assert.equal(a.layout, 'headT');
          const run = async (what: string, toks: number[], options: Parameters<Engine['forward']>[2] = {}) => {
            const past = a.length;
            const ra = await head.forward(a, toks, options);
            const rb = await token.forward(b, toks, options);
            assertSame(ra, rb, tol, what);
            if (ra.attentionMass) assert.equal(ra.attentionMass[0].length, past + toks.length, `${what}: attention mass covers the live slots and the new tokens`);
          };

          await run('prefill', randomTokens(11, config.vocabSize, 1), { logits: 'all', attentionRows: new Float32Array(11).fill(1) });
          for (const t of randomTokens(3, config.vocabSize, 2)) await run('decode', [t]);
          for (let l = 0; l < config.numLayers; l++) {
            assert.ok(maxAbsDiff(a.keyView(l), b.keyView(l)) < tol, `cache keys layer ${l}`);
            assert.ok(maxAbsDiff(a.valueView(l), b.valueView(l)) < tol, `cache values layer ${l}`);
          }

          // A verification probe with a tree mask, all-row logits and attention mass (not appended).
          await run('tree', randomTokens(5, config.vocabSize, 3), { mask: heapTreeMask(a.length, 5), logits: 'all', attentionRows: Float32Array.from([0.5, 1, 0, 2, 1]), append: false });
          // A block-causal step (the parallel decoder) that also hides cache slots, appended.
          await run('block', randomTokens(6, config.vocabSize, 4), { mask: blockMask(a.length, 6, 2, [1, 5]), logits: 'all', attentionRows: new Float32Array(6).fill(1) });
          assert.equal(a.length, 20);

          // CR-RoPE edits, keep/remove and a steering delta, then decode with attention mass.
          for (const c of [a, b]) {
            c.remove([0, 3, 4]);
            c.compactPositions();
            c.keep([0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16]);
            c.reposition(Array.from({ length: c.length }, (_, i) => 3 + 2 * i));
            c.addDelta(2, 1, Float32Array.from({ length: c.rowSize }, (_, i) => 0.01 * i), Float32Array.from({ length: c.rowSize }, (_, i) => -0.02 * i), 1.5, 0.5);
          }
          await run('after edits', [1], { attentionRows: Float32Array.of(1) });
          await run('after edits, decode', [2]);

          // Past the first capacity step: the storage grows (with a copy) between forwards and decode still agrees.
          const capacity = a.capacity;
          await head.prefill(a, randomTokens(HEAD_T_CAPACITY_STEP + 20, config.vocabSize, 5), { chunkSize: 64 });
          await token.prefill(b, randomTokens(HEAD_T_CAPACITY_STEP + 20, config.vocabSize, 5), { chunkSize: 64 });
          assert.ok(a.capacity > capacity && a.capacity % HEAD_T_CAPACITY_STEP === 0 && a.capacity < a.length + HEAD_T_CAPACITY_STEP, `capacity ${a.capacity} for ${a.length} slots`);
          await run('after growth', [3], { attentionRows: Float32Array.of(1) });
          for (const c of [a, b]) c.truncate(c.length - 30);
          await run('after truncate', [4]);
        } finally {
          await head.dispose();
          await token.dispose();
        }
      });
    }
  }

  test('a cache that cannot be head-major (as the Fourier tier) takes the token-major graph and still answers correctly', async () => {
    class TokenOnly<Tag> extends KvCache<Tag> {
      override acceptsLayout(layout: CacheLayout): boolean {
        return layout === 'token';
      }
    }
    const config = tinyConfig('llama');
    const { head, token } = await pair(config, 'fp32');
    try {
      const a = new TokenOnly<string>(head.cacheShape);
      const b = token.newCache<string>();
      const prompt = randomTokens(7, config.vocabSize, 6);
      assertSame(await head.forward(a, prompt, { logits: 'all' }), await token.forward(b, prompt, { logits: 'all' }), 1e-5, 'prefill');
      assertSame(await head.forward(a, [5]), await token.forward(b, [5]), 1e-5, 'decode');
      assert.equal(a.layout, 'token');
    } finally {
      await head.dispose();
      await token.dispose();
    }
  });

  test('a token-major cache handed to a head-major engine is converted once', async () => {
    const config = tinyConfig('qwen2');
    const { head, token } = await pair(config, 'fp32');
    try {
      const a = new KvCache<string>(head.cacheShape, 4);
      const b = token.newCache<string>();
      const prompt = randomTokens(9, config.vocabSize, 7);
      assertSame(await head.forward(a, prompt), await token.forward(b, prompt), 1e-4, 'prefill');
      assert.equal(a.layout, 'headT');
      assertSame(await head.forward(a, [5]), await token.forward(b, [5]), 1e-4, 'decode');
    } finally {
      await head.dispose();
      await token.dispose();
    }
  });

  test('a head-major cache handed to a token-major engine is converted once and reads the same', async () => {
    const config = tinyConfig('qwen2', { numHeads: 8, numKvHeads: 2, headDim: 8 });
    const { head, token } = await pair(config, 'fp32');
    try {
      const a = head.newCache<string>();
      const b = token.newCache<string>();
      const rows = (n: number): Float32Array => new Float32Array(n).fill(1);
      const prompt = randomTokens(25, config.vocabSize, 1);
      assertSame(await head.forward(a, prompt), await token.forward(b, prompt), 1e-4, 'prefill');
      assertSame(await head.forward(a, [3]), await token.forward(b, [3]), 1e-4, 'decode step');
      assert.equal(a.layout, 'headT');
      const chunk = randomTokens(17, config.vocabSize, 2);
      assertSame(await token.forward(a, chunk, { attentionRows: rows(17) }), await token.forward(b, chunk, { attentionRows: rows(17) }), 1e-4, 'chunk on the converted cache');
      assert.equal(a.layout, 'token');
      a.keep(Array.from({ length: 20 }, (_, i) => i * 2));
      b.keep(Array.from({ length: 20 }, (_, i) => i * 2));
      assertSame(await head.forward(a, [4]), await token.forward(b, [4]), 1e-4, 'decode after keep, head-major again');
    } finally {
      await head.dispose();
      await token.dispose();
    }
  });

  test("'auto' reads head-major for large (decode-bound) models and token-major for small ones", () => {
    assert.equal(resolvePastLayout('auto', tinyConfig('qwen2')), 'token');
    const large = tinyConfig('qwen2', { vocabSize: 151_936, hiddenSize: 896, numLayers: 24, intermediateSize: 4864 });
    assert.equal(resolvePastLayout('auto', large), 'headT');
    assert.equal(resolvePastLayout('token', large), 'token');
    assert.equal(resolvePastLayout('headT', tinyConfig('qwen2')), 'headT');
  });

});

describe('cache verbs in the head-major layouts', () => {
  const shape = { numLayers: 2, numKvHeads: 3, headDim: 4, ropeTheta: 10000 };
  const rowSize = shape.numKvHeads * shape.headDim;
  function rows(count: number, seed: number): Float32Array[] {
    const rnd = seededRandom(seed);
    return Array.from({ length: shape.numLayers }, () => Float32Array.from({ length: count * rowSize }, () => rnd() - 0.5));
  }
  function sameCache(a: KvCache<string>, b: KvCache<string>): void {
    assert.equal(a.length, b.length);
    assert.deepEqual(a.positions(), b.positions());
    assert.deepEqual(a.tags(), b.tags());
    for (let l = 0; l < shape.numLayers; l++) {
      assert.deepEqual(a.keyView(l), b.keyView(l), `keys of layer ${l}`);
      assert.deepEqual(a.valueView(l), b.valueView(l), `values of layer ${l}`);
      for (let s = 0; s < a.length; s++) assert.deepEqual(a.readRow('key', l, s), b.readRow('key', l, s));
    }
  }

  // 'head' is the fused GroupQueryAttention graph's layout (fused-graph.test.ts), 'headT' the standard graph's.
  for (const layout of ['head', 'headT'] as const) test(`${layout}: append (with growth), keep, remove, reposition, addDelta, clone, snapshot, setLayout give the token-major cache`, () => {
    const token = new KvCache<string>(shape, 2, { layout: 'token' });
    const head = new KvCache<string>(shape, 2, { layout });
    for (const c of [token, head]) {
      c.append(rows(3, 1), rows(3, 2), [0, 1, 2], ['a', 'b', 'c']);
      c.append(rows(5, 3), rows(5, 4), [3, 4, 5, 6, 7], ['d', 'e', 'f', 'g', 'h']);
    }
    sameCache(token, head);
    for (const c of [token, head]) c.remove([1, 4]);
    sameCache(token, head);
    for (const c of [token, head]) c.keep([0, 2, 3, 4, 5]);
    sameCache(token, head);
    for (const c of [token, head]) c.compactPositions(2);
    sameCache(token, head);
    const dk = Float32Array.from({ length: rowSize }, (_, i) => i / 10);
    for (const c of [token, head]) c.addDelta(1, 1, dk, dk, 2, 0.5);
    sameCache(token, head);
    const headClone = head.clone();
    assert.equal(headClone.layout, layout);
    sameCache(token, headClone);
    const restored = KvCache.restore<string>(head.snapshot());
    sameCache(token, restored);
    assert.deepEqual(restored.snapshot(), token.snapshot());
    for (const layout of ['headT', 'head', 'headT', 'token'] as const) {
      restored.setLayout(layout);
      assert.equal(restored.layout, layout);
      sameCache(token, restored);
    }
    for (const c of [token, head]) c.append(rows(20, 5), rows(20, 6), Array.from({ length: 20 }, (_, i) => 100 + i));
    sameCache(token, head);
  });

  test('storage is K transposed [kvHeads, headDim, capacity] and V [kvHeads, capacity, headDim]', () => {
    const cache = new KvCache<string>(shape, 1000, { layout: 'headT' });
    const keys = rows(5, 7);
    const values = rows(5, 8);
    cache.append(keys, values, [0, 1, 2, 3, 4]);
    const capacity = cache.capacity;
    assert.equal(capacity, HEAD_T_CAPACITY_STEP, 'the capacity hint is not taken: capacity follows the length');
    const k = cache.keyBuffer(1);
    const v = cache.valueBuffer(1);
    assert.equal(k.length, capacity * rowSize);
    for (let s = 0; s < 5; s++) {
      for (let h = 0; h < shape.numKvHeads; h++) {
        for (let d = 0; d < shape.headDim; d++) {
          const value = (x: Float32Array[]) => x[1][s * rowSize + h * shape.headDim + d];
          assert.equal(k[(h * shape.headDim + d) * capacity + s], value(keys));
          assert.equal(v[(h * capacity + s) * shape.headDim + d], value(values));
        }
      }
    }
  });

  test('capacity grows in steps with the length and shrinks back after large removals', () => {
    const token = new KvCache<string>(shape, 2, { layout: 'token' });
    const head = new KvCache<string>(shape, 2, { layout: 'headT' });
    const n = 6 * HEAD_T_CAPACITY_STEP + 3;
    for (let at = 0; at < n; at += 50) {
      const count = Math.min(50, n - at);
      for (const c of [token, head]) c.append(rows(count, at), rows(count, at + 1), Array.from({ length: count }, (_, i) => at + i));
      assert.equal(head.capacity, Math.ceil(head.length / HEAD_T_CAPACITY_STEP) * HEAD_T_CAPACITY_STEP);
    }
    sameCache(token, head);
    // A chunk's worth of removals keeps the storage (no re-allocation per distillation round) ...
    for (const c of [token, head]) c.removeRange(0, 2 * HEAD_T_CAPACITY_STEP);
    assert.equal(head.capacity, 7 * HEAD_T_CAPACITY_STEP);
    sameCache(token, head);
    // ... a large one gives it back.
    for (const c of [token, head]) c.keep(Array.from({ length: 100 }, (_, i) => 3 * i));
    assert.equal(head.capacity, HEAD_T_CAPACITY_STEP);
    sameCache(token, head);
  });
});
