// The fused graph (onnxruntime contrib ops over a head-major cache) against the standard graph on tiny random
// models: logits, new K/V and attention mass for prefill, decode, block-causal masks and catalyst-style probes;
// routing of masks the fused kernel cannot express; and the cache verbs giving the same cache in both layouts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Engine } from '../server/src/engine/engine';
import { KvCache } from '../server/src/engine/kvCache';
import type { FusedAttention, WeightFormat } from '../server/src/graph/contract';
import { buildModelGraph } from '../server/src/graph/builder';
import type { ModelConfig } from '../server/src/model/config';
import { randomWeights, tinyConfig } from '../server/src/model/randomWeights';
import { dequantizeBlocks, quantizeBlocks } from '../server/src/graph/quantize';
import { maxAbsDiff, scratchCacheDir } from '../server/src/selftest/checks';
import { heapTreeMask, randomTokens } from './graphParity';

const cacheDir = scratchCacheDir();

const cases: { label: string; config: ModelConfig }[] = [
  { label: 'llama untied GQA', config: tinyConfig('llama', { tieWordEmbeddings: false }) },
  { label: 'llama tied MHA, head_dim 8', config: tinyConfig('llama', { tieWordEmbeddings: true, numHeads: 8, numKvHeads: 8, headDim: 8 }) },
  { label: 'qwen2 qkv bias', config: tinyConfig('qwen2') },
  { label: 'qwen3 q/k norm', config: tinyConfig('qwen3') },
];

async function pair(config: ModelConfig, weights: WeightFormat, attention: FusedAttention = 'gqa'): Promise<{ fused: Engine; standard: Engine }> {
  const w = randomWeights(config, 7, { std: 0.1 });
  if (weights === 'int4' && config.tieWordEmbeddings) {
    // An int4-exact table (re-quantizing it is lossless), so that the graphs, not the formats, are compared.
    const e = w.get('model.embed_tokens.weight')!;
    const [vocab, hidden] = e.shape;
    w.set('model.embed_tokens.weight', { shape: e.shape, data: dequantizeBlocks(quantizeBlocks(e.data, vocab, hidden, 4), 4) });
  }
  const model = { config, weights: w, weightsHash: `fused-test-${weights}-${JSON.stringify(config)}` };
  const fused = await Engine.fromModel(model, { cacheDir, weights, kernels: 'fused', attention });
  const standard = await Engine.fromModel(model, { cacheDir, weights, kernels: 'standard' });
  return { fused, standard };
}

describe('fused graph equals the standard graph', () => {
  for (const { label, config } of cases) {
    for (const [weights, attention] of [['fp32', 'gqa'], ['fp32', 'sdpa'], ['int4', 'gqa']] as const) {
      test(`${label}, ${weights}, ${attention}: prefill, decode, tree mask, attention mass`, async () => {
        const { fused, standard } = await pair(config, weights, attention);
        // int4 runs with int8 activations quantized per block on the fly (accuracy level 4): inputs that differ by
        // a rounding (stacked vs separate matmuls, fused vs plain norms) can land on a neighbouring int8 level, so
        // int4 is compared at 0.1 (logits here are O(5)) and, below, on its accuracy against fp32.
        const tol = weights === 'fp32' ? 1e-4 : 0.1;
        try {
          const a = fused.newCache();
          const b = standard.newCache();
          assert.equal(a.layout, attention === 'gqa' ? 'head' : 'token');
          assert.equal(b.layout, 'token');
          const prompt = randomTokens(11, config.vocabSize, 1);
          const pa = await fused.forward(a, prompt, { logits: 'all' });
          const pb = await standard.forward(b, prompt, { logits: 'all' });
          assert.ok(maxAbsDiff(pa.logits, pb.logits) < tol, `prefill logits ${maxAbsDiff(pa.logits, pb.logits)}`);
          if (weights === 'int4') {
            const exact = await Engine.fromModel(standard.model, { cacheDir, weights: 'fp32', kernels: 'standard' });
            const pr = await exact.forward(exact.newCache(), prompt, { logits: 'all' });
            await exact.dispose();
            const fusedError = maxAbsDiff(pa.logits, pr.logits);
            const standardError = maxAbsDiff(pb.logits, pr.logits);
            assert.ok(fusedError <= 1.5 * standardError + 0.02, `int4 error vs fp32: fused ${fusedError}, standard ${standardError}`);
          }
          for (let l = 0; l < config.numLayers; l++) {
            assert.ok(maxAbsDiff(pa.newKeys[l], pb.newKeys[l]) < tol, `layer ${l} new keys`);
            assert.ok(maxAbsDiff(pa.newValues[l], pb.newValues[l]) < tol, `layer ${l} new values`);
          }
          for (const t of randomTokens(3, config.vocabSize, 2)) {
            const da = await fused.forward(a, [t]);
            const db = await standard.forward(b, [t]);
            assert.ok(maxAbsDiff(da.logits, db.logits) < tol, `decode logits ${maxAbsDiff(da.logits, db.logits)}`);
          }
          for (let l = 0; l < config.numLayers; l++) assert.ok(maxAbsDiff(a.keyView(l), b.keyView(l)) < tol, `cache layer ${l}`);

          // A verification block with a tree mask, all-row logits and attention mass, not appended (a probe).
          const block = randomTokens(5, config.vocabSize, 3);
          const mask = heapTreeMask(a.length, block.length);
          const rows = Float32Array.from([0.5, 1, 0, 2, 1]);
          const ta = await fused.forward(a, block, { mask, logits: 'all', attentionRows: rows, append: false });
          const tb = await standard.forward(b, block, { mask, logits: 'all', attentionRows: rows, append: false });
          assert.ok(maxAbsDiff(ta.logits, tb.logits) < tol, `tree logits ${maxAbsDiff(ta.logits, tb.logits)}`);
          for (let l = 0; l < config.numLayers; l++) {
            assert.ok(maxAbsDiff(ta.attentionMass![l], tb.attentionMass![l]) < tol * 10, `attention mass layer ${l}: ${maxAbsDiff(ta.attentionMass![l], tb.attentionMass![l])}`);
          }
          assert.equal(a.length, 14);

          // After CR-RoPE edits both caches still agree and decode alike.
          a.remove([0, 3, 4]);
          b.remove([0, 3, 4]);
          a.compactPositions();
          b.compactPositions();
          const ea = await fused.forward(a, [1]);
          const eb = await standard.forward(b, [1]);
          assert.ok(maxAbsDiff(ea.logits, eb.logits) < tol, `after edits ${maxAbsDiff(ea.logits, eb.logits)}`);
        } finally {
          await fused.dispose();
          await standard.dispose();
        }
      });
    }
  }

  test('a mask that opens a later new token takes the standard graph and still answers correctly', async () => {
    const config = tinyConfig('llama');
    const { fused, standard } = await pair(config, 'fp32');
    try {
      const a = fused.newCache();
      const b = standard.newCache();
      const prompt = randomTokens(6, config.vocabSize, 4);
      await fused.prefill(a, prompt);
      await standard.prefill(b, prompt);
      const q = 3;
      const total = a.length + q;
      const mask = new Float32Array(q * total); // everything visible: row 0 sees rows 1 and 2 (not causal)
      const ra = await fused.forward(a, [1, 2, 3], { mask, logits: 'all' });
      const rb = await standard.forward(b, [1, 2, 3], { mask, logits: 'all' });
      assert.ok(maxAbsDiff(ra.logits, rb.logits) < 1e-4);
      const decodeA = await fused.forward(a, [4]);
      const decodeB = await standard.forward(b, [4]);
      assert.ok(maxAbsDiff(decodeA.logits, decodeB.logits) < 1e-4);
    } finally {
      await fused.dispose();
      await standard.dispose();
    }
  });

  test('positions beyond the fused RoPE table take the standard graph', async () => {
    const config = tinyConfig('qwen2');
    const { fused, standard } = await pair(config, 'fp32');
    try {
      const a = fused.newCache();
      const b = standard.newCache();
      const far = [70000, 70001];
      const ra = await fused.forward(a, [3, 4], { positions: far });
      const rb = await standard.forward(b, [3, 4], { positions: far });
      assert.ok(maxAbsDiff(ra.logits, rb.logits) < 1e-3);
    } finally {
      await fused.dispose();
      await standard.dispose();
    }
  });

  test('the fused graph has far fewer nodes (24-layer Qwen2 shape at int4: 1,270 standard, 391 fused)', () => {
    const config = tinyConfig('qwen2', { numLayers: 24 });
    const w = randomWeights(config, 1);
    const standard = buildModelGraph(config, w, { weights: 'int4', logits: 'last', attentionMass: false }).nodeCount;
    const fused = buildModelGraph(config, w, { weights: 'int4', logits: 'last', attentionMass: false, kernels: 'fused' }).nodeCount;
    assert.ok(standard >= 1270, `standard graph has ${standard} nodes`);
    assert.ok(fused <= 391 && 3 * fused < standard, `fused graph has ${fused} nodes`);
  });
});

