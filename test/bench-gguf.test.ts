// GGUF writer for the llama.cpp peer of `repopot bench engine`: layout parses back, Q8_0/Q4_0 round trips within
// their error bounds, the llama Q/K permutation, and (independent check of both engines) a tiny random model gives
// llama.cpp the same logits and greedy tokens as our engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dequantizeQ4_0,
  dequantizeQ8_0,
  GGUF_ALIGNMENT,
  GgmlType,
  ggmlTensorBytes,
  llamaCppTensorName,
  permuteForInterleavedRope,
  quantizeQ4_0,
  quantizeQ8_0,
  readGgufHeader,
  readGgufTensorBytes,
  writeGgufModel,
  type GgmlTypeName,
} from '../server/src/bench/gguf';
import { decodeRooflineTokPerSec, median } from '../server/src/bench/engineBench';
import { loadLlamaCpp, ggufWeightBytesPerToken, type LlamaToken } from '../server/src/bench/llamaCppPeer';
import { repopotWeightBytesPerToken } from '../server/src/bench/repopotTarget';
import { randomWeights, seededRandom, tinyConfig } from '../server/src/model/randomWeights';
import { Engine } from '../server/src/engine/engine';
import { argmax } from '../server/src/engine/sampling';
import type { Architecture, ModelConfig } from '../server/src/model/config';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-gguf-test-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));

/** Box–Muller normals from the project's seeded uniform stream. */
function normalData(n: number, seed: number, scale = 1): Float32Array {
  const uniform = seededRandom(seed);
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-12))) * Math.cos(2 * Math.PI * uniform()));
}

function fp16ScaleOfBlock(bytes: Uint8Array, offset: number): number {
  const h = bytes[offset] | (bytes[offset + 1] << 8);
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  const magnitude = exponent === 0 ? mantissa * 2 ** -24 : (1 + mantissa / 1024) * 2 ** (exponent - 15);
  return h & 0x8000 ? -magnitude : magnitude;
}

test('Q8_0 round trip: every error within half a step of its block scale', () => {
  const data = normalData(32 * 64, 1, 0.05);
  const packed = quantizeQ8_0(data);
  assert.equal(packed.length, ggmlTensorBytes('Q8_0', data.length));
  const back = dequantizeQ8_0(packed, data.length);
  for (let b = 0; b < data.length / 32; b++) {
    const d = Math.abs(fp16ScaleOfBlock(packed, b * 34));
    for (let j = 0; j < 32; j++) {
      const i = b * 32 + j;
      // rounding: d/2; the fp16 scale adds at most 127 * d * 2^-11
      assert.ok(Math.abs(back[i] - data[i]) <= d * 0.5 + 127 * d * 2 ** -11 + 1e-9, `element ${i}`);
    }
  }
});

test('Q4_0 round trip: within one step of the block scale, exact at the extreme, ggml nibble order', () => {
  const data = normalData(32 * 64, 2, 0.05);
  const packed = quantizeQ4_0(data);
  assert.equal(packed.length, ggmlTensorBytes('Q4_0', data.length));
  const back = dequantizeQ4_0(packed, data.length);
  let sumSquares = 0;
  for (let b = 0; b < data.length / 32; b++) {
    const d = Math.abs(fp16ScaleOfBlock(packed, b * 18));
    for (let j = 0; j < 32; j++) {
      const i = b * 32 + j;
      // ggml maps the signed extreme to -8 exactly; the opposite extreme clamps at +7 (error up to one step)
      assert.ok(Math.abs(back[i] - data[i]) <= d * (1 + 2 ** -10) + 1e-9, `element ${i}`);
      sumSquares += (back[i] - data[i]) ** 2;
    }
  }
  assert.ok(Math.sqrt(sumSquares / data.length) < 0.05 * 0.2, 'RMS error is a small fraction of the weight scale');

  // Element j in the low nibble of byte j, element j + 16 in the high nibble (dequantize_row_q4_0).
  const block = new Float32Array(32);
  block[0] = -8; // the extreme: d = -8 / -8 = 1, q = 0
  block[16] = 7; // q = 15
  block[1] = 1; // q = 9
  block[17] = -3; // q = 5
  const q = quantizeQ4_0(block);
  assert.equal(fp16ScaleOfBlock(q, 0), 1);
  assert.equal(q[2], 0x00 | (15 << 4));
  assert.equal(q[3], 9 | (5 << 4));
  assert.equal(q[4], 8 | (8 << 4)); // zeros sit at 8
  assert.deepEqual([...dequantizeQ4_0(q, 32)], [...block]);
});

test('llama Q/K permutation matches convert_hf_to_gguf (rotate-half rows → interleaved pairs per head)', () => {
  // 2 heads of dim 4, 1 column: rows are [h0: a0 a1 b0 b1][h1: c0 c1 d0 d1] → [a0 b0 a1 b1][c0 d0 c1 d1]
  const rows = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]);
  assert.deepEqual([...permuteForInterleavedRope(rows, 8, 1, 2)], [0, 2, 1, 3, 10, 12, 11, 13]);
  assert.equal(llamaCppTensorName('model.layers.3.self_attn.k_proj.bias'), 'blk.3.attn_k.bias');
  assert.equal(llamaCppTensorName('model.layers.0.mlp.down_proj.weight'), 'blk.0.ffn_down.weight');
  assert.equal(llamaCppTensorName('model.embed_tokens.weight'), 'token_embd.weight');
  assert.equal(llamaCppTensorName('model.unknown'), undefined);
});

function writeTiny(architecture: Architecture, type: GgmlTypeName, overrides: Partial<ModelConfig> = {}) {
  const config = tinyConfig(architecture, { vocabSize: 320, ...overrides });
  const weights = randomWeights(config, 7, { std: 0.2 });
  const file = path.join(scratch, `${architecture}-${type}.gguf`);
  const result = writeGgufModel(file, config, weights, { type });
  return { config, weights, file, result };
}

test('GGUF header parses back: metadata, names, ggml dims, types, aligned offsets, file size', () => {
  const { config, weights, file, result } = writeTiny('qwen2', 'Q4_0');
  const header = readGgufHeader(file);
  assert.equal(header.version, 3);
  assert.equal(header.metadata.get('general.architecture'), 'qwen2');
  assert.equal(header.metadata.get('qwen2.block_count'), config.numLayers);
  assert.equal(header.metadata.get('qwen2.attention.head_count_kv'), config.numKvHeads);
  assert.equal(header.metadata.get('tokenizer.ggml.model'), 'llama');
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  assert.ok(Array.isArray(tokens) && tokens.length === config.vocabSize && new Set(tokens).size === config.vocabSize);
  assert.equal(header.tensors.length, weights.size);
  assert.equal(header.dataStart % GGUF_ALIGNMENT, 0);
  for (const t of header.tensors) assert.equal(t.fileOffset % GGUF_ALIGNMENT, 0, t.name);
  const q = header.tensors.find((t) => t.name === 'blk.1.attn_q.weight')!;
  assert.deepEqual(q.dims, [config.hiddenSize, config.numHeads * config.headDim]);
  assert.equal(q.type, GgmlType.Q4_0);
  assert.equal(header.tensors.find((t) => t.name === 'blk.1.attn_q.bias')!.type, GgmlType.F32);
  assert.equal(header.tensors.find((t) => t.name === 'output_norm.weight')!.type, GgmlType.F32);
  assert.ok(!header.tensors.some((t) => t.name === 'output.weight'), 'tied embeddings: no output tensor');
  assert.equal(fs.statSync(file).size, result.fileBytes);
  // The data of a tensor round-trips through the file.
  const source = weights.get('model.layers.1.self_attn.q_proj.weight')!.data;
  const bytes = readGgufTensorBytes(file, q, ggmlTensorBytes('Q4_0', source.length));
  assert.deepEqual(bytes, quantizeQ4_0(source));
  // Bytes-per-token accounting: tied embeddings count once (the lm_head), in each engine's own format.
  assert.equal(ggufWeightBytesPerToken(file), result.tensorBytes);
  assert.ok(repopotWeightBytesPerToken(config, 'int4') > result.tensorBytes, 'our int4 keeps fp32 scales (0.625 vs 0.5625 B/weight)');
});

test('roofline and median helpers', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(decodeRooflineTokPerSec(100e9, 1e9, 1e5, 1e4), 50);
});

/** Greedy-decodes with both engines from the same prompt; returns per-step tokens and llama.cpp/our logits. */
async function crossCheck(architecture: Architecture, type: GgmlTypeName): Promise<void> {
  const { config, weights, file } = writeTiny(architecture, type);
  const engine = await Engine.fromModel({ config, weights, weightsHash: `gguf-test-${architecture}` }, { weights: 'fp32', cacheDir: path.join(scratch, 'graphs') });
  const llama = await loadLlamaCpp(2);
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 256, batchSize: 64, threads: 2, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
  try {
    const sequence = context.getSequence();
    const prompt = [260, 300, 5, 99, 123, 7, 280, 44];
    const cache = engine.newCache();
    let ours = await engine.forward(cache, prompt, { logits: 'last' });
    type Item = Parameters<typeof sequence.controlledEvaluate>[0][number];
    let items: Item[] = prompt.slice(0, -1).map((t) => t as LlamaToken);
    let last = prompt[prompt.length - 1] as LlamaToken;
    const oursTokens: number[] = [];
    const theirsTokens: number[] = [];
    let worst = 0;
    let worstScale = 0;
    for (let step = 0; step < 6; step++) {
      const out = await sequence.controlledEvaluate([...items, [last, { generateNext: { token: true, logits: true } }]]);
      const theirs = out[items.length]!.next;
      const logits = theirs.logits!;
      let scale = 0;
      for (let v = 0; v < config.vocabSize; v++) {
        scale = Math.max(scale, Math.abs(ours.logits[v]));
        worst = Math.max(worst, Math.abs(ours.logits[v] - (logits.get(v as LlamaToken) ?? NaN)));
      }
      assert.ok(scale > 0.5, 'logits are not degenerate');
      worstScale = Math.max(worstScale, scale);
      const next = argmax(ours.logits);
      oursTokens.push(next);
      theirsTokens.push(theirs.token!);
      // Feed our token to both so a near-tie cannot make the sequences diverge.
      items = [];
      last = next as LlamaToken;
      ours = await engine.forward(cache, [next], { logits: 'last' });
    }
    // Relative to the logit scale: different kernels (and summation orders) in fp32 on both sides.
    const tolerance = (type === 'F32' ? 5e-3 : 5e-2) * worstScale;
    assert.ok(worst < tolerance, `${architecture}/${type}: max |logit diff| ${worst} ≥ ${tolerance} (logit scale ${worstScale})`);
    assert.deepEqual(theirsTokens, oursTokens);
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
    await engine.dispose();
  }
}

test('tiny random llama: llama.cpp (GGUF F32, permuted Q/K) matches our engine logits and greedy tokens', async () => {
  await crossCheck('llama', 'F32');
});

test('tiny random qwen2 (q/k/v biases, NEOX RoPE): llama.cpp matches our engine', async () => {
  await crossCheck('qwen2', 'F32');
});

test('tiny random qwen3 (q/k norms, head_dim ≠ hidden/heads): llama.cpp matches our engine', async () => {
  await crossCheck('qwen3', 'F32');
});

test('tiny Q8_0 and Q4_0 GGUFs load in llama.cpp and generate in-vocabulary tokens', async () => {
  const llama = await loadLlamaCpp(2);
  try {
    for (const type of ['Q8_0', 'Q4_0', 'F16'] as const) {
      const { config, file } = writeTiny('llama', type);
      const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
      const context = await model.createContext({ contextSize: 128, batchSize: 32, threads: 2 });
      const out = await context.getSequence().controlledEvaluate([260 as LlamaToken, 261 as LlamaToken, [262 as LlamaToken, { generateNext: { token: true } }]]);
      const token = out[2]!.next.token!;
      assert.ok(Number.isInteger(token) && token >= 0 && token < config.vocabSize, `${type}: token ${token}`);
      await context.dispose();
      await model.dispose();
    }
  } finally {
    await llama.dispose();
  }
});
