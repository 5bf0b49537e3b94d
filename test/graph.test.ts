// Parity of the ONNX graphs (run in onnxruntime-node) with the plain TypeScript reference forward, on tiny random
// models of each architecture; plus weight formats, the graph cache, external data and device selection.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import type { ModelConfig, Weights } from '../server/src/model/config.js';
import { widenFp16 } from '../server/src/model/halfFloat.js';
import { randomWeights, tinyConfig } from '../server/src/model/randomWeights.js';
import { buildModelGraph } from '../server/src/graph/builder.js';
import { inputNames, MASK_NEG, outputNames, type GraphOptions, type WeightFormat } from '../server/src/graph/contract.js';
import { loadOrBuildGraph } from '../server/src/graph/graphCache.js';
import { writeModelFiles } from '../server/src/graph/onnxProto.js';
import { dequantizeBlocks, quantizeBlocks, toFp16 } from '../server/src/graph/quantize.js';
import { causalMask, referenceForward, type ReferencePast } from '../server/src/reference/forward.js';
import { openSession, type HostTensor, type RuntimeSession } from '../server/src/runtime/ort.js';

const TOLERANCE = 1e-4;
const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-graph-test-'));
after(() => fs.rmSync(tempRoot, { recursive: true, force: true }));

/** The shapes under test: each architecture's distinctive step, tied and untied heads, MHA and GQA. */
const cases: { label: string; config: ModelConfig }[] = [
  { label: 'llama untied GQA', config: tinyConfig('llama', { tieWordEmbeddings: false }) },
  { label: 'llama tied MHA', config: tinyConfig('llama', { tieWordEmbeddings: true, numKvHeads: 4 }) },
  { label: 'qwen2 qkv bias', config: tinyConfig('qwen2') },
  { label: 'qwen3 q/k norm, head_dim 32 != 64/4', config: tinyConfig('qwen3') },
];

// std 0.1 (not 0.02) so attention is far from uniform and logits are O(1): a wrong mask or RoPE shows clearly.
const weightsFor = (config: ModelConfig): Weights => randomWeights(config, 7, { std: 0.1 });

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'compared tensors differ in length');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function f32(t: HostTensor | undefined, name: string): Float32Array {
  assert.ok(t, `graph did not return ${name}`);
  assert.ok(t.data instanceof Float32Array, `${name} is not float32`);
  return t.data;
}

const int64 = (values: number[]): BigInt64Array => BigInt64Array.from(values.map((v) => BigInt(v)));

interface Step {
  tokens: number[];
  positions: number[];
  mask?: Float32Array;
  rows?: Float32Array;
}

function emptyPast(config: ModelConfig): ReferencePast {
  return { keys: Array.from({ length: config.numLayers }, () => new Float32Array(0)), values: Array.from({ length: config.numLayers }, () => new Float32Array(0)), length: 0 };
}

function feedsFor(config: ModelConfig, past: ReferencePast, step: Step): Record<string, HostTensor> {
  const q = step.tokens.length;
  const total = past.length + q;
  const feeds: Record<string, HostTensor> = {
    [inputNames.inputIds]: { dims: [1, q], data: int64(step.tokens) },
    [inputNames.positionIds]: { dims: [1, q], data: int64(step.positions) },
    [inputNames.attentionMask]: { dims: [1, 1, q, total], data: step.mask ?? causalMask(past.length, q) },
  };
  if (step.rows) feeds[inputNames.attentionRows] = { dims: [q], data: step.rows };
  for (let i = 0; i < config.numLayers; i++) {
    const dims = [1, past.length, config.numKvHeads, config.headDim];
    feeds[inputNames.pastKey(i)] = { dims, data: past.keys[i] };
    feeds[inputNames.pastValue(i)] = { dims, data: past.values[i] };
  }
  return feeds;
}

function appendPast(past: ReferencePast, newKeys: Float32Array[], newValues: Float32Array[], q: number): ReferencePast {
  const concat = (a: Float32Array, b: Float32Array) => {
    const out = new Float32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  return { keys: past.keys.map((k, i) => concat(k, newKeys[i])), values: past.values.map((v, i) => concat(v, newValues[i])), length: past.length + q };
}

async function sessionFor(config: ModelConfig, weights: Weights, options: GraphOptions): Promise<RuntimeSession> {
  return openSession(buildModelGraph(config, weights, options).model, { device: 'cpu', threads: 1 });
}

/** Runs one step in the graph and in the reference, asserts logits, new K/V (and attention mass) agree. */
async function runAndCompare(session: RuntimeSession, config: ModelConfig, weights: Weights, past: ReferencePast, step: Step, options: GraphOptions, what: string) {
  const out = await session.run(feedsFor(config, past, step));
  const ref = referenceForward(config, weights, { tokens: step.tokens, positions: step.positions, past, mask: step.mask, attentionRows: step.rows });
  const q = step.tokens.length;
  const expectedLogits = options.logits === 'last' ? ref.logits.subarray((q - 1) * config.vocabSize) : ref.logits;
  const logits = f32(out[outputNames.logits], 'logits');
  assert.deepEqual(out[outputNames.logits].dims, [1, options.logits === 'last' ? 1 : q, config.vocabSize]);
  assert.ok(maxAbsDiff(logits, expectedLogits) < TOLERANCE, `${what}: logits differ by ${maxAbsDiff(logits, expectedLogits)}`);
  const newKeys: Float32Array[] = [];
  const newValues: Float32Array[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const k = f32(out[outputNames.newKey(i)], outputNames.newKey(i));
    const v = f32(out[outputNames.newValue(i)], outputNames.newValue(i));
    assert.deepEqual(out[outputNames.newKey(i)].dims, [1, q, config.numKvHeads, config.headDim]);
    assert.ok(maxAbsDiff(k, ref.newKeys[i]) < TOLERANCE, `${what}: layer ${i} new keys differ`);
    assert.ok(maxAbsDiff(v, ref.newValues[i]) < TOLERANCE, `${what}: layer ${i} new values differ`);
    if (options.attentionMass) {
      const mass = f32(out[outputNames.attentionMass(i)], outputNames.attentionMass(i));
      assert.equal(mass.length, past.length + q);
      assert.ok(maxAbsDiff(mass, ref.attentionMass![i]) < TOLERANCE, `${what}: layer ${i} attention mass differs`);
    }
    // Keep the graph's own K/V so the next step really feeds the graph's cache back in.
    newKeys.push(k.slice());
    newValues.push(v.slice());
  }
  return { logits, ref, newKeys, newValues };
}

const prompt = [3, 17, 42, 5, 88, 1, 60, 23, 9, 71, 14, 33, 95, 2, 48, 50, 7, 66, 81, 12, 29, 40];
const range = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);

for (const { label, config } of cases) {
  describe(`fp32 graph vs reference: ${label}`, () => {
    const weights = weightsFor(config);
    const allLogits: GraphOptions = { weights: 'fp32', logits: 'all', attentionMass: false };

    test('full prefill: logits and new K/V', async () => {
      const session = await sessionFor(config, weights, allLogits);
      try {
        const { logits } = await runAndCompare(session, config, weights, emptyPast(config), { tokens: prompt, positions: range(0, prompt.length) }, allLogits, 'prefill');
        let magnitude = 0;
        for (const v of logits) magnitude = Math.max(magnitude, Math.abs(v));
        assert.ok(magnitude > 0.1, `logits are too small (${magnitude}) for the tolerance to mean anything`);
      } finally {
        await session.dispose();
      }
    });

    test('chunked prefill feeding new K/V back as past matches one-shot prefill', async () => {
      const session = await sessionFor(config, weights, allLogits);
      try {
        const full = referenceForward(config, weights, { tokens: prompt, positions: range(0, prompt.length) });
        let past = emptyPast(config);
        for (const [start, end] of [[0, 4], [4, 5], [5, 22]]) {
          const step = { tokens: prompt.slice(start, end), positions: range(start, end - start) };
          const { logits, newKeys, newValues } = await runAndCompare(session, config, weights, past, step, allLogits, `chunk ${start}..${end}`);
          const expected = full.logits.subarray(start * config.vocabSize, end * config.vocabSize);
          assert.ok(maxAbsDiff(logits, expected) < TOLERANCE, `chunk ${start}..${end} differs from one-shot prefill`);
          past = appendPast(past, newKeys, newValues, end - start);
        }
      } finally {
        await session.dispose();
      }
    });

    test("token-by-token decode with logits 'last'", async () => {
      const lastOnly: GraphOptions = { weights: 'fp32', logits: 'last', attentionMass: false };
      const session = await sessionFor(config, weights, lastOnly);
      try {
        const full = referenceForward(config, weights, { tokens: prompt, positions: range(0, prompt.length) });
        let past = emptyPast(config);
        for (let t = 0; t < prompt.length; t++) {
          const { logits, newKeys, newValues } = await runAndCompare(session, config, weights, past, { tokens: [prompt[t]], positions: [t] }, lastOnly, `decode ${t}`);
          assert.ok(maxAbsDiff(logits, full.logits.subarray(t * config.vocabSize, (t + 1) * config.vocabSize)) < TOLERANCE, `decode ${t} differs from prefill row`);
          past = appendPast(past, newKeys, newValues, 1);
        }
      } finally {
        await session.dispose();
      }
    });

    for (const q of [5, 18]) {
      test(`block-causal mask over a past cache, with attention mass (${q} new rows)`, async () => {
        const withMass: GraphOptions = { weights: 'fp32', logits: 'all', attentionMass: true };
        const session = await sessionFor(config, weights, withMass);
        try {
          const first = await runAndCompare(session, config, weights, emptyPast(config), { tokens: prompt.slice(0, 4), positions: range(0, 4), rows: Float32Array.from([1, 0, 0.5, 2]) }, withMass, 'mass prefill');
          const past = appendPast(emptyPast(config), first.newKeys, first.newValues, 4);
          // New tokens in two blocks: full attention inside a block, the second block sees the first; cache slot 1 is
          // hidden from everyone (an evicted slot), and positions are not contiguous (a shifted cache).
          const total = past.length + q;
          const mask = new Float32Array(q * total);
          const split = Math.floor(q / 2) + 1;
          const block = (r: number) => (r < split ? 0 : 1);
          for (let r = 0; r < q; r++) {
            mask[r * total + 1] = MASK_NEG;
            for (let c = 0; c < q; c++) if (block(c) > block(r)) mask[r * total + past.length + c] = MASK_NEG;
          }
          const rows = Float32Array.from({ length: q }, (_, r) => [1, 1, 0, 0.25, 3][r % 5]);
          const step = { tokens: prompt.slice(4, 4 + q), positions: range(10, q), mask, rows };
          const { ref } = await runAndCompare(session, config, weights, past, step, withMass, 'block-causal');
          // The hidden slot gets no mass; the total is Σ rows × heads (each softmax row sums to 1).
          const mass = ref.attentionMass![0];
          assert.ok(mass[1] < 1e-6, 'masked cache slot received attention mass');
          const sum = mass.reduce((a, b) => a + b, 0);
          const rowSum = rows.reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - rowSum * config.numHeads) < 1e-3, `attention mass sums to ${sum}`);
        } finally {
          await session.dispose();
        }
      });
    }
  });
}

/** Weights as each format stores them, widened back to fp32: a quantized graph must match the reference on these. */
function roundTripWeights(weights: Weights, format: WeightFormat): Weights {
  const out: Weights = new Map();
  for (const [name, w] of weights) {
    let data = w.data;
    if (w.shape.length === 2 && format !== 'fp32') {
      if (format === 'fp16' || name === 'model.embed_tokens.weight') {
        data = new Float32Array(w.data.length);
        widenFp16(toFp16(w.data), data, 0);
      } else {
        const bits = format === 'int8' ? 8 : 4;
        data = dequantizeBlocks(quantizeBlocks(w.data, w.shape[0], w.shape[1], bits), bits);
      }
    }
    out.set(name, { shape: w.shape, data });
  }
  return out;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

describe('weight formats', () => {
  // hidden 48 is not a multiple of the 32-wide quantization block: exercises K padding.
  const untied = tinyConfig('qwen2', { tieWordEmbeddings: false, hiddenSize: 48 });
  const untiedWeights = weightsFor(untied);
  const options = (weights: WeightFormat): GraphOptions => ({ weights, logits: 'all', attentionMass: false });

  for (const format of ['fp16', 'int8', 'int4'] as const) {
    test(`${format} graph equals the reference on ${format}-rounded weights`, async () => {
      const session = await sessionFor(untied, untiedWeights, options(format));
      try {
        const out = await session.run(feedsFor(untied, emptyPast(untied), { tokens: prompt, positions: range(0, prompt.length) }));
        const logits = f32(out.logits, 'logits');
        const ref = referenceForward(untied, roundTripWeights(untiedWeights, format), { tokens: prompt, positions: range(0, prompt.length) });
        if (format === 'fp16') {
          const diff = maxAbsDiff(logits, ref.logits);
          assert.ok(diff < TOLERANCE, `fp16: logits differ from rounded-weight reference by ${diff}`);
        } else {
          // MatMulNBits runs with int8 activations (accuracy_level 4): ~1-2% noise, while a packing/layout error
          // (wrong nibble order, scale index, padding) scrambles whole rows and drops the similarity far lower.
          const similarity = cosine(logits, ref.logits);
          assert.ok(similarity > 0.999, `${format}: cosine similarity with rounded-weight reference ${similarity}`);
        }
      } finally {
        await session.dispose();
      }
    });
  }

  // Tied heads share the table between an fp16 gather and a quantized lm_head, so only loose agreement applies.
  const bounds: Record<Exclude<WeightFormat, 'fp32'>, number> = { fp16: 0.9999, int8: 0.99, int4: 0.8 };
  for (const { label, config } of cases) {
    test(`fp16/int8/int4 agree with fp32 (${label})`, async () => {
      const weights = weightsFor(config);
      const feeds = feedsFor(config, emptyPast(config), { tokens: prompt, positions: range(0, prompt.length) });
      const fp32 = await sessionFor(config, weights, options('fp32'));
      const reference = f32((await fp32.run(feeds)).logits, 'logits').slice();
      await fp32.dispose();
      for (const format of ['fp16', 'int8', 'int4'] as const) {
        const session = await sessionFor(config, weights, options(format));
        const logits = f32((await session.run(feeds)).logits, 'logits');
        await session.dispose();
        const similarity = cosine(logits, reference);
        assert.ok(similarity > bounds[format], `${format}: cosine similarity with fp32 logits ${similarity} <= ${bounds[format]}`);
      }
    });
  }

  test('quantized storage is smaller than fp16, which is smaller than fp32', () => {
    const config = tinyConfig('llama', { vocabSize: 512, hiddenSize: 128, intermediateSize: 256 });
    const weights = randomWeights(config, 3);
    const bytes = (format: WeightFormat) => buildModelGraph(config, weights, options(format)).model.byteLength;
    const [b32, b16, b8, b4] = (['fp32', 'fp16', 'int8', 'int4'] as const).map(bytes);
    assert.ok(b32 > b16 && b16 > b8 && b8 > b4, `sizes fp32 ${b32}, fp16 ${b16}, int8 ${b8}, int4 ${b4}`);
  });
});

describe('model files and graph cache', () => {
  const config = tinyConfig('qwen3');
  const weights = weightsFor(config);
  const options: GraphOptions = { weights: 'fp32', logits: 'last', attentionMass: false };
  const feeds = feedsFor(config, emptyPast(config), { tokens: prompt, positions: range(0, prompt.length) });

  test('external data (model.onnx + model.onnx.data) loads by path and matches the single-file graph', async () => {
    const inline = buildModelGraph(config, weights, options);
    assert.equal(inline.externalData, null);
    const external = buildModelGraph(config, weights, options, { externalData: 'always' });
    assert.ok(external.externalData && external.externalData.totalBytes > 0);
    assert.ok(external.model.byteLength < inline.model.byteLength / 4, 'weights were not moved out of model.onnx');
    const dir = fs.mkdtempSync(path.join(tempRoot, 'external-'));
    writeModelFiles(external, path.join(dir, 'model.onnx'));
    assert.equal(fs.statSync(path.join(dir, 'model.onnx.data')).size, external.externalData.totalBytes);
    const a = await openSession(inline.model, { device: 'cpu', threads: 1 });
    const b = await openSession(path.join(dir, 'model.onnx'), { device: 'cpu', threads: 1 });
    try {
      assert.deepEqual(f32((await b.run(feeds)).logits, 'logits'), f32((await a.run(feeds)).logits, 'logits'));
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  test('second load comes from the cache; other options get another entry', async () => {
    const cacheDir = fs.mkdtempSync(path.join(tempRoot, 'cache-'));
    const first = await loadOrBuildGraph({ cacheDir, config, weights, weightsHash: 'hash-a', options });
    assert.equal(first.built, true);
    const mtime = fs.statSync(first.modelPath).mtimeMs;
    const second = await loadOrBuildGraph({ cacheDir, config, weights, weightsHash: 'hash-a', options });
    assert.equal(second.built, false);
    assert.equal(second.modelPath, first.modelPath);
    assert.equal(fs.statSync(second.modelPath).mtimeMs, mtime);
    const other = await loadOrBuildGraph({ cacheDir, config, weights, weightsHash: 'hash-a', options: { ...options, weights: 'int4' } });
    assert.equal(other.built, true);
    assert.notEqual(other.modelPath, first.modelPath);
    const session = await openSession(first.modelPath, { device: 'cpu', threads: 1 });
    await session.dispose();
  });

  test('a cached graph with external data opens by path', async () => {
    const cacheDir = fs.mkdtempSync(path.join(tempRoot, 'cache-ext-'));
    const cached = await loadOrBuildGraph({ cacheDir, config, weights, weightsHash: 'hash-ext', options, files: { externalData: 'always' } });
    assert.ok(fs.existsSync(path.join(path.dirname(cached.modelPath), 'model.onnx.data')));
    const session = await openSession(cached.modelPath, { device: 'cpu', threads: 1 });
    try {
      const logits = f32((await session.run(feeds)).logits, 'logits');
      const ref = referenceForward(config, weights, { tokens: prompt, positions: range(0, prompt.length) });
      assert.ok(maxAbsDiff(logits, ref.logits.subarray((prompt.length - 1) * config.vocabSize)) < TOLERANCE);
    } finally {
      await session.dispose();
    }
  });

  test('a failed build leaves nothing at the final path and no temporary folder', async () => {
    const cacheDir = fs.mkdtempSync(path.join(tempRoot, 'cache-fail-'));
    const broken = new Map(weights);
    broken.delete('model.layers.1.mlp.down_proj.weight');
    await assert.rejects(
      loadOrBuildGraph({ cacheDir, config, weights: broken, weightsHash: 'hash-broken', options }),
      /missing weight model\.layers\.1\.mlp\.down_proj\.weight/,
    );
    assert.deepEqual(fs.readdirSync(cacheDir), []);
    // The same key then builds normally.
    const ok = await loadOrBuildGraph({ cacheDir, config, weights, weightsHash: 'hash-broken', options });
    assert.equal(ok.built, true);
  });

  test('a build killed mid-write (leftover temporary folder) is never used and is swept once stale', async () => {
    const cacheDir = fs.mkdtempSync(path.join(tempRoot, 'cache-killed-'));
    const leftover = path.join(cacheDir, '.tmp-deadbeef-12345-0000');
    fs.mkdirSync(leftover);
    fs.writeFileSync(path.join(leftover, 'model.onnx'), Buffer.alloc(100)); // a truncated graph
    const anHourAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(leftover, anHourAgo, anHourAgo);
    const cached = await loadOrBuildGraph({ cacheDir, config, weights, weightsHash: 'hash-killed', options });
    assert.equal(cached.built, true);
    assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(path.dirname(cached.modelPath))]);
  });
});

describe('devices', () => {
  const config = tinyConfig('llama');
  const model = buildModelGraph(config, weightsFor(config), { weights: 'fp32', logits: 'last', attentionMass: false }).model;

  test('an unknown device is rejected with the list of valid ones', async () => {
    await assert.rejects(openSession(model, { device: 'tpu' as never }), /unknown device 'tpu'; valid devices: auto, cpu, webgpu, cuda/);
  });

  test("'auto' on a machine without a GPU falls back to cpu and says why", async (t) => {
    const messages: string[] = [];
    const session = await openSession(model, { device: 'auto', log: (m) => messages.push(m) });
    try {
      if (session.device !== 'cpu') {
        t.skip(`this machine has a usable ${session.device} device`);
        return;
      }
      assert.equal(messages.length, 1);
      assert.match(messages[0], /using cpu \(cuda: .*webgpu: /);
    } finally {
      await session.dispose();
    }
  });
});
