// KV-cache steering on tiny random models: vector extraction (mean of differences, un-rotated keys,
// first layer excluded, metadata), the one-shot edit (only the intended slot and layers), decoding
// after it (equals a hand-edited cache; c = 0 equals plain decoding) and clear errors.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine, type EngineModel } from '../server/src/engine/engine';
import { maxAbsDiff, randomModel, sampleTokens, scratchCacheDir } from '../server/src/selftest/checks';
import type { Tokenizer } from '../server/src/model/tokenizer';
import { readSafetensorsHeader } from '../server/src/model/safetensors';
import {
  buildSteeringVectors,
  DEFAULT_VECTORS_FILE,
  loadSteeringVectors,
  readTokenState,
  rotateKeyRow,
  saveSteeringVectors,
  SteeringError,
  tokenizePairs,
  type SteeringVectors,
  type TokenPair,
} from '../server/src/steer/vectors';
import { applySteering, generateSteered } from '../server/src/steer/apply';
import { loadPairs, promptFormat } from '../server/src/steer/pairs';
import { defaultSteering } from '../server/src/steer/defaults';
import { defaultLayerRanges, pairQuestions, runSteerBench } from '../server/src/bench/steerBench';
import { askPot } from '../server/src/distill/distiller';
import { questionPrompt, splitTrace } from '../server/src/distill/prompt';
import { Pot } from '../server/src/distill/pot';
import { streamingPolicy } from '../server/src/distill/policies/streaming';

const cacheDir = scratchCacheDir();
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-steer-'));
after(() => fs.rmSync(outDir, { recursive: true, force: true }));

/** Characters ↔ ids (mod vocab): enough for TextStream and the plain prompt frame. */
function charTokenizer(vocabSize: number): Tokenizer {
  return {
    vocabSize,
    bosTokenId: 1,
    eosTokenIds: [2],
    encode: (text) => Array.from(text, (ch) => 3 + (ch.charCodeAt(0) % (vocabSize - 3))),
    decode: (ids) => ids.map((id) => String.fromCharCode(32 + (id % 90))).join(''),
    tokenToId: () => undefined,
  };
}

function modelWithTokenizer(seed: number, layers = 3): EngineModel {
  const model = randomModel('llama', { numLayers: layers }, seed);
  return { ...model, tokenizer: charTokenizer(model.config.vocabSize) };
}

const tokenPairs = (vocab: number): TokenPair[] => [
  { positive: sampleTokens(9, vocab, 21), negative: sampleTokens(5, vocab, 22) },
  { positive: sampleTokens(12, vocab, 23), negative: sampleTokens(7, vocab, 24) },
  { positive: sampleTokens(6, vocab, 25), negative: sampleTokens(6, vocab, 26), fromEnd: 2 },
];

/** Test-local rotate-half RoPE (independent of the code under test). */
function rope(row: Float32Array, heads: number, headDim: number, theta: number, pos: number): Float32Array {
  const out = new Float32Array(row.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const a = pos * Math.pow(theta, (-2 * i) / headDim);
      const x1 = row[h * headDim + i];
      const x2 = row[h * headDim + i + half];
      out[h * headDim + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
      out[h * headDim + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
    }
  }
  return out;
}

async function withEngine<T>(model: EngineModel, body: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await Engine.fromModel(model, { cacheDir });
  try {
    return await body(engine);
  } finally {
    await engine.dispose();
  }
}

test('build: mean of (positive − negative) per layer and KV head, first layer excluded, keys un-rotated', async () => {
  const model = modelWithTokenizer(5);
  const { numKvHeads, headDim, ropeTheta, vocabSize } = model.config;
  await withEngine(model, async (engine) => {
    const pairs = tokenPairs(vocabSize);
    const vectors = await buildSteeringVectors(engine, pairs);
    assert.deepEqual(vectors.layers, [1, 2]);
    assert.equal(vectors.pairs, 3);
    for (const k of [...vectors.keys, ...vectors.values]) assert.equal(k.length, numKvHeads * headDim);

    // Hand computation from separate prefills, keys un-rotated with a test-local RoPE.
    for (const [j, layer] of [1, 2].entries()) {
      const sumK = new Float32Array(numKvHeads * headDim);
      const sumV = new Float32Array(numKvHeads * headDim);
      for (const pair of pairs) {
        for (const [tokens, sign] of [[pair.positive, 1], [pair.negative, -1]] as const) {
          const cache = engine.newCache();
          await engine.prefill(cache, tokens);
          const slot = cache.length - (pair.fromEnd ?? 1);
          const k = rope(cache.readRow('key', layer, slot), numKvHeads, headDim, ropeTheta, -slot);
          const v = cache.readRow('value', layer, slot);
          for (let x = 0; x < k.length; x++) {
            sumK[x] += (sign * k[x]) / pairs.length;
            sumV[x] += (sign * v[x]) / pairs.length;
          }
        }
      }
      assert.ok(maxAbsDiff(vectors.keys[j], sumK) < 1e-5, `layer ${layer} ΔK`);
      assert.ok(maxAbsDiff(vectors.values[j], sumV) < 1e-5, `layer ${layer} ΔV`);
    }

    // Un-rotation matches the graph's RoPE: layer-0 K of one token depends only on the token once un-rotated.
    const t = 7;
    const early = await readTokenState(engine, [4, t]);
    const late = await readTokenState(engine, [4, 9, 11, 13, t, 5], 2);
    assert.ok(maxAbsDiff(early.keys[0], late.keys[0]) < 1e-4);

    // Save/load round trip with metadata.
    const file = path.join(outDir, 'v.safetensors');
    await saveSteeringVectors(file, { ...vectors, defaultCValue: 2, defaultLayers: [2] });
    const header = await readSafetensorsHeader(file);
    assert.equal(header.metadata.model_hash, model.weightsHash);
    assert.equal(header.metadata.layers, '[1,2]');
    assert.equal(header.metadata.pairs, '3');
    assert.equal(header.metadata.extraction_position, 'fewshot-query');
    assert.ok(!header.entries.has('layers.0.key') && !header.entries.has('layers.0.value'));
    const loaded = await loadSteeringVectors(file, { modelHash: model.weightsHash, shape: engine.newCache().shape });
    assert.deepEqual(loaded.layers, [1, 2]);
    assert.equal(loaded.defaultCValue, 2);
    assert.deepEqual(loaded.defaultLayers, [2]);
    assert.equal(maxAbsDiff(loaded.values[1], vectors.values[1]), 0);
  });
});

test('pairs: the committed splits load, and the plain frame formats them for a tokenizer without RepoPot tokens', () => {
  const root = path.join(__dirname, '..', 'data', 'steering');
  const train = loadPairs(path.join(root, 'train.jsonl'));
  const heldout = loadPairs(path.join(root, 'heldout.jsonl'));
  assert.ok(train.length >= 150);
  assert.ok(heldout.length > 0);
  const trainPrompts = new Set(train.map((p) => JSON.stringify([p.files, p.question])));
  assert.ok(heldout.every((p) => !trainPrompts.has(JSON.stringify([p.files, p.question]))), 'held-out prompts never appear in the training split');
  const kinds = new Set(train.map((p) => p.kind));
  for (const k of ['value-flow', 'branch', 'return', 'failure', 'multihop']) assert.ok(kinds.has(k), k);
  const format = promptFormat(charTokenizer(96));
  assert.equal(format.template, 'plain');
  assert.match(format.prompt(train[0].files, train[0].question), /Question: .*\nAnswer:$/);
  assert.deepEqual(format.finalAnswer(' because x. Final answer: 42'), { answer: '42', trace: 'because x.' });
});

test('apply: only the intended slot and layers change, by exactly c·Δ (ΔK re-rotated to the slot)', async () => {
  const model = modelWithTokenizer(6);
  const { numKvHeads, headDim, ropeTheta, vocabSize, numLayers } = model.config;
  await withEngine(model, async (engine) => {
    const vectors = await buildSteeringVectors(engine, tokenPairs(vocabSize));
    const cache = engine.newCache();
    await engine.prefill(cache, sampleTokens(10, vocabSize, 3));
    const before = cache.clone();
    const slot = 6;
    applySteering(cache, slot, { vectors, cKey: 0.5, cValue: 3, layers: [2] });
    for (let l = 0; l < numLayers; l++) {
      for (let s = 0; s < cache.length; s++) {
        const k0 = before.readRow('key', l, s);
        const v0 = before.readRow('value', l, s);
        const k1 = cache.readRow('key', l, s);
        const v1 = cache.readRow('value', l, s);
        if (l === 2 && s === slot) {
          const dk = rope(vectors.keys[1], numKvHeads, headDim, ropeTheta, slot);
          assert.ok(maxAbsDiff(k1, k0.map((x, i) => x + 0.5 * dk[i])) < 1e-5);
          assert.ok(maxAbsDiff(v1, v0.map((x, i) => x + 3 * vectors.values[1][i])) < 1e-6);
        } else {
          assert.deepEqual(k1, k0, `key layer ${l} slot ${s}`);
          assert.deepEqual(v1, v0, `value layer ${l} slot ${s}`);
        }
      }
    }
  });
});

test('generateSteered equals decoding from a cache edited by hand; c = 0 equals plain decoding', async () => {
  const model = modelWithTokenizer(7);
  const { numKvHeads, headDim, ropeTheta, vocabSize } = model.config;
  await withEngine(model, async (engine) => {
    const vectors = await buildSteeringVectors(engine, tokenPairs(vocabSize));
    const prompt = sampleTokens(11, vocabSize, 8);
    const settings = { vectors, cKey: 0.3, cValue: 4 };

    const steered = engine.newCache();
    const a = await generateSteered(engine, steered, prompt, settings, { maxTokens: 8 });

    const byHand = engine.newCache();
    await engine.prefill(byHand, prompt.slice(0, -1));
    const slot = byHand.length - 1;
    vectors.layers.forEach((layer, j) => {
      byHand.addDelta(slot, layer, rope(vectors.keys[j], numKvHeads, headDim, ropeTheta, byHand.position(slot)), vectors.values[j], 0.3, 4);
    });
    const b = await engine.generate(byHand, prompt.slice(-1), { maxTokens: 8 });
    assert.deepEqual(a.tokens, b.tokens);
    assert.equal(a.text, b.text);
    assert.equal(steered.length, byHand.length);
    for (let l = 0; l < model.config.numLayers; l++) {
      assert.ok(maxAbsDiff(steered.keyView(l), byHand.keyView(l)) < 1e-5);
      assert.ok(maxAbsDiff(steered.valueView(l), byHand.valueView(l)) < 1e-6);
    }

    // The edit matters: the next-token logits after it differ from the unsteered ones.
    const plainCache = engine.newCache();
    await engine.prefill(plainCache, prompt.slice(0, -1));
    const plainNext = await engine.forward(plainCache, prompt.slice(-1));
    const steeredCache = engine.newCache();
    await engine.prefill(steeredCache, prompt.slice(0, -1));
    applySteering(steeredCache, steeredCache.length - 1, settings);
    const steeredNext = await engine.forward(steeredCache, prompt.slice(-1));
    assert.ok(maxAbsDiff(plainNext.logits, steeredNext.logits) > 1e-3);

    const zero = await generateSteered(engine, engine.newCache(), prompt, { vectors, cKey: 0, cValue: 0 }, { maxTokens: 8 });
    const plain = await engine.generate(engine.newCache(), prompt, { maxTokens: 8 });
    assert.deepEqual(zero.tokens, plain.tokens);
  });
});

test('tokenizePairs: few-shot demos (trace vs bare) then the same query, read at the slot the edit targets', async () => {
  const model = modelWithTokenizer(8);
  await withEngine(model, async (engine) => {
    const pairs = ['X', 'Y', 'Z'].map((name, i) => ({ id: name, kind: 'return', files: [{ path: `${name.toLowerCase()}.py`, text: `${name} = ${i}\n` }], question: `What is ${name}?`, trace: `${name.toLowerCase()}.py sets ${name} = ${i}.`, answer: `${i}` }));
    const format = promptFormat(engine.tokenizer);
    const [fewshot] = tokenizePairs(engine, pairs, { demos: 2 });
    assert.equal(fewshot.fromEnd, 2, 'read at the second-to-last token: the slot steered when the prompt is prefilled without its last token');
    assert.equal(fewshot.positive[0], 1, 'BOS first');
    assert.ok(fewshot.positive.length > fewshot.negative.length, 'positive demos carry traces');
    const query = engine.tokenizer.encode(format.prompt(pairs[0].files, pairs[0].question));
    assert.deepEqual(fewshot.positive.slice(-query.length), query);
    assert.deepEqual(fewshot.negative.slice(-query.length), query);
    const demo = engine.tokenizer.encode(format.prompt(pairs[1].files, pairs[1].question) + format.positive(pairs[1].trace, pairs[1].answer));
    assert.deepEqual(fewshot.positive.slice(1, 1 + demo.length), demo, 'the next pair is the first demonstration');

    const [ends] = tokenizePairs(engine, pairs, { mode: 'completion-end' });
    assert.equal(ends.fromEnd, 1);
    const promptLength = engine.tokenizer.encode(format.prompt(pairs[0].files, pairs[0].question)).length + 1;
    assert.deepEqual(ends.positive.slice(0, promptLength), ends.negative.slice(0, promptLength));
  });
});

test('bad input fails clearly: vectors of another model, wrong shapes, missing layers, foreign files', async () => {
  const model = modelWithTokenizer(9);
  await withEngine(model, async (engine) => {
    const vectors = await buildSteeringVectors(engine, tokenPairs(model.config.vocabSize).slice(0, 1));
    const file = path.join(outDir, 'mine.safetensors');
    await saveSteeringVectors(file, vectors);
    const shape = engine.newCache().shape;

    await assert.rejects(loadSteeringVectors(file, { modelHash: 'random:other', shape }), (e: Error) => e instanceof SteeringError && e.message.includes(file) && /another model/.test(e.message));
    await assert.rejects(loadSteeringVectors(file, { modelHash: model.weightsHash, shape: { ...shape, numKvHeads: 4 } }), (e: Error) => e instanceof SteeringError && /does not match the model/.test(e.message));

    const foreign: SteeringVectors = { ...vectors, modelHash: 'random:other', file: 'other.safetensors' };
    await assert.rejects(generateSteered(engine, engine.newCache(), [3, 4, 5], { vectors: foreign, cValue: 1 }, { maxTokens: 2 }), /other\.safetensors: built for another model/);
    const truncated: SteeringVectors = { ...vectors, values: vectors.values.map((v) => v.subarray(1)) };
    await assert.rejects(generateSteered(engine, engine.newCache(), [3, 4, 5], { vectors: truncated, cValue: 1 }, { maxTokens: 2 }), /expected 32/);
    await assert.rejects(generateSteered(engine, engine.newCache(), [3, 4, 5], { vectors, cValue: 1, layers: [0] }, { maxTokens: 2 }), /layer 0 has no vector/);

    const notVectors = path.join(outDir, 'weights.safetensors');
    fs.writeFileSync(notVectors, 'garbage');
    await assert.rejects(loadSteeringVectors(notVectors), (e: Error) => e instanceof SteeringError && e.message.startsWith(notVectors));
    await assert.rejects(buildSteeringVectors(engine, []), /no pairs/);
  });
});

test('rotateKeyRow un-rotates exactly what it rotates', () => {
  const shape = { numKvHeads: 2, headDim: 8, ropeTheta: 10000 };
  const row = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
  assert.ok(maxAbsDiff(rotateKeyRow(rotateKeyRow(row, shape, 37), shape, -37), row) < 1e-6);
  assert.ok(maxAbsDiff(rotateKeyRow(row, shape, 5), rope(row, 2, 8, 10000, 5)) < 1e-6);
});

test('defaultSteering: on by default only when the stored evaluation showed a gain', async () => {
  const model = modelWithTokenizer(10);
  await withEngine(model, async (engine) => {
    const identity = { modelHash: model.weightsHash, shape: engine.newCache().shape };
    const dir = fs.mkdtempSync(path.join(outDir, 'model-'));
    assert.equal((await defaultSteering(dir, identity)).enabledByDefault, false);
    const vectors = await buildSteeringVectors(engine, tokenPairs(model.config.vocabSize));
    const file = path.join(dir, DEFAULT_VECTORS_FILE);
    await saveSteeringVectors(file, { ...vectors, defaultCValue: 4, defaultLayers: [2], evaluatedGain: -3 });
    const off = await defaultSteering(dir, identity);
    assert.equal(off.enabledByDefault, false);
    assert.equal(off.settings?.cValue, 4, 'the user can still turn it on with the tuned strength');
    await saveSteeringVectors(file, { ...vectors, defaultCValue: 4, defaultLayers: [2], evaluatedGain: 7.5 });
    const on = await defaultSteering(dir, identity);
    assert.equal(on.enabledByDefault, true);
    assert.deepEqual(on.settings?.layers, [2]);
    const foreign = await defaultSteering(dir, { ...identity, modelHash: 'random:other' });
    assert.equal(foreign.enabledByDefault, false);
    assert.match(foreign.reason, /another model/);
  });
});

test('promptFormat follows the RepoPot Q&A template when the tokenizer has its tokens', () => {
  const specials = new Map([['<|file|>', 90], ['<|question|>', 91], ['<|answer|>', 92], ['<|end|>', 93], ['<|trace|>', 94], ['<|final|>', 95]]);
  const format = promptFormat({ ...charTokenizer(96), tokenToId: (t) => specials.get(t) });
  assert.equal(format.template, 'repopot');
  const files = [{ path: 'src/a.ts', text: 'export const A = 1;' }];
  assert.equal(format.prompt(files, 'What is A?'), '<|file|> src/a.ts\nexport const A = 1;\n<|question|> What is A?\n<|answer|>');
  assert.equal(format.positive('a.ts sets A = 1.', '1'), '<|trace|> a.ts sets A = 1.<|final|> 1<|end|>');
  assert.equal(format.negative('1'), ' 1<|end|>');
  assert.deepEqual(format.finalAnswer('<|trace|> a.ts sets A = 1.<|final|> 1'), { answer: '1', trace: 'a.ts sets A = 1.' });
  assert.ok(format.stop.includes('<|end|>'));
});

test('bench steer: sweep on the training split, plot, then plain|cot|steer lines and a summary per set', async () => {
  const base = randomModel('llama', { numLayers: 3, maxPositions: 2048 }, 11);
  const model: EngineModel = { ...base, tokenizer: charTokenizer(base.config.vocabSize) };
  await withEngine(model, async (engine) => {
    const root = path.join(__dirname, '..', 'data', 'steering');
    const train = loadPairs(path.join(root, 'train.jsonl')).slice(0, 4);
    const heldoutPairs = loadPairs(path.join(root, 'heldout.jsonl')).slice(0, 2);
    const vectors = await buildSteeringVectors(engine, tokenizePairs(engine, train, { demos: 1 }));
    const lines: Record<string, unknown>[] = [];
    const plotFile = path.join(outDir, 'sweep.png');
    const result = await runSteerBench(engine, {
      vectors, train, heldoutPairs, heldout: new Map([['heldout', pairQuestions(heldoutPairs)]]),
      cValues: [1, 2], cKey: 0, maxTokens: 3, tuneLimit: 2, plotFile,
    }, (line) => lines.push(line));
    assert.ok(fs.readFileSync(plotFile).subarray(1, 4).toString() === 'PNG');
    // c_v × layer ranges: all (1-2), lower half (1), upper half (2).
    assert.equal(lines.filter((l) => l.phase === 'sweep' && l.mode === 'steer').length, 2 * defaultLayerRanges([1, 2]).length);
    assert.equal(defaultLayerRanges([1, 2]).length, 3);
    for (const mode of ['plain', 'cot', 'steer']) {
      const line = lines.find((l) => l.set === 'heldout' && l.mode === mode && l.phase === undefined);
      assert.ok(line, mode);
      for (const key of ['accuracy', 'tokens', 'msPerToken']) assert.equal(typeof line[key], 'number', `${mode}.${key}`);
    }
    const summary = lines.find((l) => l.summary === true);
    assert.ok(summary && typeof summary.steerMinusPlain === 'number' && typeof summary.steerMinusCot === 'number' && typeof summary.decodeOverhead === 'number');
    assert.ok(result.steerMinusPlain.has('heldout'));
    assert.equal(lines.filter((l) => l.phase === 'preference').length, 2);
  });
});

test('askPot with steer: the pot stays untouched, c = 0 answers as unsteered, c > 0 equals a hand-edited clone', async () => {
  const model = modelWithTokenizer(12);
  await withEngine(model, async (engine) => {
    const vectors = await buildSteeringVectors(engine, tokenPairs(model.config.vocabSize));
    const pot = new Pot(engine, { budget: 64, policy: streamingPolicy() });
    const potTokens = sampleTokens(24, model.config.vocabSize, 13);
    await pot.append(potTokens, potTokens.map((_, i) => ({ file: 'a.ts', line: i + 1 })));
    await pot.finish();
    const before = pot.cache.clone();
    const question = 'What does f return?';
    const plain = await askPot(engine, pot, question, { maxTokens: 6, maxSources: 0 });
    const zero = await askPot(engine, pot, question, { maxTokens: 6, maxSources: 0, steer: { vectors, cValue: 0 } });
    assert.equal(zero.answer, plain.answer);
    const steered = await askPot(engine, pot, question, { maxTokens: 6, maxSources: 0, steer: { vectors, cValue: 5, layers: [1] } });
    for (let l = 0; l < model.config.numLayers; l++) {
      assert.deepEqual(pot.cache.keyView(l), before.keyView(l), 'the pot is never edited (answers run on a clone)');
      assert.deepEqual(pot.cache.valueView(l), before.valueView(l));
    }
    const prompt = engine.tokenizer.encode(questionPrompt(engine, question).text);
    const byHand = pot.cache.clone();
    await engine.prefill(byHand, prompt.slice(0, -1));
    byHand.addDelta(byHand.length - 1, 1, null, vectors.values[0], 0, 5);
    const expected = await engine.generate(byHand, prompt.slice(-1), { maxTokens: 6, stop: questionPrompt(engine, question).stop });
    assert.equal(steered.tokens, expected.tokens.length);
    assert.equal(steered.answer, splitTrace(expected.text).answer);
  });
});
