// The parallel decoders against the sequential baseline: exact mode is token-identical to Engine.generate
// (greedy) on many prompts and block sizes, with stop sequences and cancellation landing mid-block, and leaves
// the cache exactly as Engine.generate does; block diffusion's step equals the reference forward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Engine, type EngineModel } from '../server/src/engine/engine';
import type { KvCache } from '../server/src/engine/kvCache';
import { argmax } from '../server/src/engine/sampling';
import { MASK_NEG } from '../server/src/graph/contract';
import type { Tokenizer } from '../server/src/model/tokenizer';
import { referenceForward } from '../server/src/reference/forward';
import { maxAbsDiff, randomModel, sampleTokens, scratchCacheDir, sharedDir } from '../server/src/selftest/checks';
import { ParallelDecoder, buildTree, treeMask } from '../server/src/decode/parallelExact';
import { confidenceDecoder } from '../server/src/decode/confidence';
import { SequentialDecoder } from '../server/src/decode/sequential';
import { BlockDiffusionDecoder, blockCausalMask } from '../server/src/decode/blockDiffusion';
import { chooseDecoder, CHOICE_FILE } from '../server/src/decode/autoSelect';
import { Drafter, draftCandidatesFor } from '../server/src/decode/drafts';
import type { DecodeOptions, DecodeResult } from '../server/src/engine/decoder';

const cacheDir = scratchCacheDir();

/** Token i decodes to a fixed short string (random models have no tokenizer). */
function letterTokenizer(vocab: number): Tokenizer {
  const piece = (id: number) => String.fromCharCode(97 + (id % 26)) + (id % 3 === 0 ? ' ' : '');
  return { vocabSize: vocab, eosTokenIds: [], encode: () => [], decode: (ids) => ids.map(piece).join(''), tokenToId: () => undefined };
}

function withTokenizer(model: EngineModel): EngineModel {
  return { ...model, tokenizer: letterTokenizer(model.config.vocabSize) };
}

interface Outcome {
  result: DecodeResult;
  cache: KvCache;
}

async function run(decoder: { generate: SequentialDecoder['generate'] }, engine: Engine, prompt: number[], options: DecodeOptions): Promise<Outcome> {
  const cache = engine.newCache();
  const result = await decoder.generate(cache, prompt, options);
  return { result, cache };
}

/** Same tokens, text, stop reason; the cache holds the same slots (positions) and, to fp32 noise, the same K/V. */
function assertSameOutcome(actual: Outcome, expected: Outcome, label: string): void {
  assert.deepEqual(actual.result.tokens, expected.result.tokens, `${label}: tokens`);
  assert.equal(actual.result.text, expected.result.text, `${label}: text`);
  assert.equal(actual.result.stopReason, expected.result.stopReason, `${label}: stop reason`);
  assert.equal(actual.cache.length, expected.cache.length, `${label}: cache length after rollback`);
  assert.deepEqual(Array.from(actual.cache.positions()), Array.from(expected.cache.positions()), `${label}: positions`);
  for (let l = 0; l < actual.cache.shape.numLayers; l++) {
    assert.ok(maxAbsDiff(actual.cache.keyView(l), expected.cache.keyView(l)) < 1e-4, `${label}: keys of layer ${l}`);
    assert.ok(maxAbsDiff(actual.cache.valueView(l), expected.cache.valueView(l)) < 1e-4, `${label}: values of layer ${l}`);
  }
}

for (const arch of ['llama', 'qwen2'] as const) {
  test(`exact mode equals sequential greedy (${arch}, 8 prompts × 4 blocks × 3 draft sources)`, async () => {
    const model = withTokenizer(randomModel(arch, {}, 21));
    const engine = await Engine.fromModel(model, { cacheDir });
    const vocab = model.config.vocabSize;
    let accepted = 0;
    for (let p = 0; p < 8; p++) {
      const prompt = sampleTokens(3 + p, vocab, 100 + p);
      const maxTokens = 20 + p;
      const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens });
      // Drafts: none useful; the true continuation (every draft right: long accepted runs); noise (all wrong).
      const sources = { none: [], oracle: [...prompt, ...sequential.result.tokens], noise: sampleTokens(200, vocab, 7 + p) };
      for (const block of [2, 5, 8, 16]) {
        for (const [name, history] of Object.entries(sources)) {
          const parallel = await run(new ParallelDecoder(engine, { block }), engine, prompt, { maxTokens, history });
          assertSameOutcome(parallel, sequential, `prompt ${p}, block ${block}, ${name}`);
          assert.equal(parallel.cache.length, prompt.length + parallel.result.tokens.length - 1, 'length limit: all but the last token fed');
          accepted += parallel.result.draftsAccepted;
          if (name === 'oracle' && block >= 5) assert.ok(parallel.result.decodePasses < sequential.result.decodePasses, 'oracle drafts save passes');
        }
      }
    }
    assert.ok(accepted > 100, `drafts were accepted (${accepted})`);
    await engine.dispose();
  });
}

test('exact mode: stop sequences end mid-block exactly as sequential, and stream the same text', async () => {
  const model = withTokenizer(randomModel('llama', {}, 9));
  const engine = await Engine.fromModel(model, { cacheDir });
  const prompt = sampleTokens(6, model.config.vocabSize, 4);
  const free = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 40 });
  const history = [...prompt, ...free.result.tokens];
  for (const at of [5, 11, 17, 23]) {
    const stop = free.result.text.slice(at, at + 3);
    const streamedSequential: string[] = [];
    const streamedParallel: string[] = [];
    const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 40, stop: [stop], onText: (t) => streamedSequential.push(t) });
    for (const block of [4, 16]) {
      streamedParallel.length = 0;
      const parallel = await run(new ParallelDecoder(engine, { block }), engine, prompt, { maxTokens: 40, stop: [stop], history, onText: (t) => streamedParallel.push(t) });
      assert.equal(sequential.result.stopReason, 'stop');
      assertSameOutcome(parallel, sequential, `stop "${stop}", block ${block}`);
      assert.equal(streamedParallel.join(''), parallel.result.text);
      assert.equal(streamedParallel.join(''), streamedSequential.join(''));
    }
  }
  await engine.dispose();
});

test('exact mode with a token constraint (path snapping) equals sequential greedy under the same constraint', async () => {
  const model = withTokenizer(randomModel('llama', {}, 13));
  const engine = await Engine.fromModel(model, { cacheDir });
  const vocab = model.config.vocabSize;
  // Every other step only even token ids; sometimes a verdict refuses everything (then the step is free, as in Engine.generate).
  const constrain = (text: string) => (text.length % 2 === 0 ? (t: number) => t % 2 === 0 : text.length % 7 === 3 ? () => false : undefined);
  for (let p = 0; p < 4; p++) {
    const prompt = sampleTokens(4 + p, vocab, 300 + p);
    const free = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 24 });
    const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 24, constrain });
    assert.notDeepEqual(sequential.result.tokens, free.result.tokens, 'the constraint changes the output');
    for (const [name, history] of Object.entries({ constrained: [...prompt, ...sequential.result.tokens], free: [...prompt, ...free.result.tokens] })) {
      for (const block of [4, 16]) {
        const parallel = await run(new ParallelDecoder(engine, { block }), engine, prompt, { maxTokens: 24, constrain, history });
        assertSameOutcome(parallel, sequential, `prompt ${p}, block ${block}, drafts from the ${name} output`);
        if (name === 'constrained' && block === 16) assert.ok(parallel.result.decodePasses < sequential.result.decodePasses, 'right drafts save passes');
      }
    }
  }
  await engine.dispose();
});

test('exact mode: cancellation mid-block keeps the same partial answer and cache as sequential', async () => {
  const model = withTokenizer(randomModel('qwen2', {}, 5));
  const engine = await Engine.fromModel(model, { cacheDir });
  const prompt = sampleTokens(5, model.config.vocabSize, 8);
  const free = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 40 });
  const history = [...prompt, ...free.result.tokens];
  for (const cancelAfter of [1, 3, 7, 12]) {
    const cancelling = () => {
      const controller = new AbortController();
      let seen = 0;
      return { signal: controller.signal, onToken: () => (++seen === cancelAfter ? controller.abort() : undefined) };
    };
    const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 40, ...cancelling() });
    const parallel = await run(new ParallelDecoder(engine, { block: 12 }), engine, prompt, { maxTokens: 40, history, ...cancelling() });
    assert.equal(sequential.result.stopReason, 'cancelled');
    assert.equal(sequential.result.tokens.length, cancelAfter);
    assertSameOutcome(parallel, sequential, `cancel after ${cancelAfter}`);
    assert.equal(parallel.cache.length, prompt.length + cancelAfter, 'cancelled: every emitted token fed');
    assert.ok(parallel.result.decodePasses < Math.max(2, cancelAfter), 'the oracle drafts were verified in blocks');
  }
  // Cancelled before the first token (prompt already in the cache): nothing generated, the cache holds the prompt.
  const controller = new AbortController();
  controller.abort();
  const cache = engine.newCache();
  await engine.prefill(cache, prompt);
  const none = { result: await new ParallelDecoder(engine).generate(cache, [], { maxTokens: 10, signal: controller.signal }), cache };
  assert.equal(none.result.stopReason, 'cancelled');
  assert.equal(none.result.tokens.length, 0);
  assert.ok(cache.lastLogits, 'the prompt logits survive for a later call');
  assert.equal(none.cache.length, prompt.length);
  await engine.dispose();
});

test('exact mode: EOS mid-block ends like sequential (all emitted tokens fed)', async () => {
  const base = randomModel('llama', {}, 13);
  const engine0 = await Engine.fromModel(withTokenizer(base), { cacheDir });
  const prompt = sampleTokens(4, base.config.vocabSize, 3);
  const free = await run(new SequentialDecoder(engine0), engine0, prompt, { maxTokens: 30 });
  await engine0.dispose();
  // Declare the 10th generated token an EOS token: both decoders must stop right before it.
  const eos = free.result.tokens[9];
  const model = withTokenizer({ ...base, config: { ...base.config, eosTokenIds: [eos] } });
  const engine = await Engine.fromModel(model, { cacheDir });
  const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 30 });
  const parallel = await run(new ParallelDecoder(engine, { block: 16 }), engine, prompt, { maxTokens: 30, history: [...prompt, ...free.result.tokens] });
  assert.equal(sequential.result.stopReason, 'eos');
  assertSameOutcome(parallel, sequential, 'eos');
  assert.equal(parallel.cache.length, prompt.length + parallel.result.tokens.length);
  await engine.dispose();
});

test('exact mode drafts from its earlier answers: a repeated question takes fewer passes, same output', async () => {
  const model = withTokenizer(randomModel('llama', {}, 17));
  const engine = await Engine.fromModel(model, { cacheDir });
  const prompt = sampleTokens(6, model.config.vocabSize, 5);
  const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 24 });
  const remembering = new ParallelDecoder(engine, { block: 8 });
  const forgetting = new ParallelDecoder(engine, { block: 8, answerMemory: 0 });
  const first = await run(remembering, engine, prompt, { maxTokens: 24 });
  const again = await run(remembering, engine, prompt, { maxTokens: 24 });
  await run(forgetting, engine, prompt, { maxTokens: 24 });
  const forgot = await run(forgetting, engine, prompt, { maxTokens: 24 });
  for (const [label, outcome] of [['first', first], ['again', again], ['forgot', forgot]] as const) assertSameOutcome(outcome, sequential, label);
  assert.ok(again.result.decodePasses < first.result.decodePasses, `remembered answer drafts: ${again.result.decodePasses} vs ${first.result.decodePasses} passes`);
  assert.equal(forgot.result.decodePasses, first.result.decodePasses, 'answerMemory 0 keeps no earlier answer');
  await engine.dispose();
});

test('exact mode with seeded sampling draws the same tokens as sequential sampling (one draw per token, in order)', async () => {
  const model = withTokenizer(randomModel('qwen2', { eosTokenIds: [] }, 23));
  const engine = await Engine.fromModel(model, { cacheDir });
  for (const seed of [1, 2, 3]) {
    const prompt = sampleTokens(4, model.config.vocabSize, seed);
    const sampling = { kind: 'sample' as const, temperature: 0.7, topP: 0.9, seed };
    const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 24, sampling });
    const parallel = await run(new ParallelDecoder(engine, { block: 8 }), engine, prompt, { maxTokens: 24, sampling, history: [...prompt, ...sequential.result.tokens] });
    assertSameOutcome(parallel, sequential, `seed ${seed}`);
    assert.ok(parallel.result.draftsAccepted > 0);
  }
  await engine.dispose();
});

test('stories260K: exact mode equals sequential greedy on story prompts', async (t) => {
  const dir = path.join(sharedDir(), 'models', 'stories260K');
  if (!fs.existsSync(dir)) return t.skip(`../shared absent: ${dir} not found`);
  const engine = await Engine.load(dir, { cacheDir });
  const openings = ['Once upon a time', 'Tom and Sue went to the park.', 'The little bird', 'Lily had a big red ball. She', 'Ben said, "Look!"', 'One day, a cat'];
  let passesParallel = 0;
  let passesSequential = 0;
  for (const text of openings) {
    const prompt = [1, ...engine.tokenizer.encode(text)];
    const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 80, stop: ['\n\n'] });
    for (const block of [4, 12]) {
      const parallel = await run(new ParallelDecoder(engine, { block }), engine, prompt, { maxTokens: 80, stop: ['\n\n'] });
      assertSameOutcome(parallel, sequential, `"${text}", block ${block}`);
      if (block === 12) passesParallel += parallel.result.decodePasses;
    }
    passesSequential += sequential.result.decodePasses;
  }
  assert.ok(passesParallel < passesSequential, `fewer passes (${passesParallel} vs ${passesSequential})`);
  await engine.dispose();
});

test('confidence mode: τ above 1 is exact; a low τ is lossy but keeps the cache consistent', async () => {
  const model = withTokenizer(randomModel('llama', { eosTokenIds: [] }, 17));
  const engine = await Engine.fromModel(model, { cacheDir });
  const prompt = sampleTokens(5, model.config.vocabSize, 2);
  const sequential = await run(new SequentialDecoder(engine), engine, prompt, { maxTokens: 30 });
  const noise = sampleTokens(300, model.config.vocabSize, 99);
  const strict = await run(confidenceDecoder(engine, { block: 8, threshold: 1.01 }), engine, prompt, { maxTokens: 30, history: noise });
  assertSameOutcome(strict, sequential, 'τ = 1.01');
  const loose = await run(confidenceDecoder(engine, { block: 8, threshold: 0 }), engine, prompt, { maxTokens: 30, history: noise });
  assert.equal(loose.result.tokens.length, 30);
  assert.ok(loose.result.decodePasses < sequential.result.decodePasses, 'τ = 0 keeps several tokens per pass');
  assert.notDeepEqual(loose.result.tokens, sequential.result.tokens, 'τ = 0 on wrong drafts changes the output (the check can fail)');
  // The cache holds exactly the prompt and the emitted tokens but the last, each computed in its true context.
  assert.equal(loose.cache.length, prompt.length + 29);
  const recomputed = engine.newCache();
  await engine.prefill(recomputed, [...prompt, ...loose.result.tokens.slice(0, 29)]);
  for (let l = 0; l < model.config.numLayers; l++) assert.ok(maxAbsDiff(loose.cache.keyView(l), recomputed.keyView(l)) < 1e-4);
  await engine.dispose();
});

test('token tree: mask shows each draft its ancestors only; the drafter proposes copies and Jacobi guesses', () => {
  const tree = buildTree([[5, 6, 7], [5, 8], [9]], 8);
  assert.deepEqual(tree.tokens, [5, 6, 7, 8, 9]);
  assert.deepEqual(tree.parent, [-1, 0, 1, 0, -1]);
  assert.deepEqual(tree.depth, [1, 2, 3, 2, 1]);
  assert.equal(tree.childWith(0, 8), 3);
  assert.equal(tree.childWith(-1, 6), -1);
  const mask = treeMask(2, 1, tree.parent);
  const total = 2 + 6;
  const visible = (row: number) => Array.from({ length: total }, (_, c) => (mask[row * total + c] === 0 ? 1 : 0)).join('');
  assert.equal(visible(0), '11100000'); // committed token: past + itself
  assert.equal(visible(3), '11111100'); // token 7: committed, 5, 6, itself
  assert.equal(visible(4), '11110010'); // token 8: committed, 5, itself
  assert.equal(visible(5), '11100001'); // token 9: committed, itself
  assert.ok(mask.every((v) => v === 0 || v === MASK_NEG));

  const drafter = new Drafter([1, 2, 3, 4, 9, 9, 1, 2, 3, 5]);
  drafter.accept(1);
  drafter.accept(2);
  drafter.accept(3);
  // Suffix "1 2 3" occurred twice: most recent continuation first.
  assert.deepEqual(drafter.candidates(3).slice(0, 2), [[5, 1, 2], [4, 9, 9]]);
  drafter.guess(3, 42);
  drafter.guess(4, 43);
  assert.deepEqual(drafter.candidates(2).at(-1), [42, 43]);

  // One candidate: the longest, most recent copy alone, so a small block's tree is one deep chain.
  const single = new Drafter([1, 2, 3, 4, 9, 9, 1, 2, 3, 5], { maxCandidates: 1 });
  for (const t of [1, 2, 3]) single.accept(t);
  single.guess(3, 42);
  assert.deepEqual(single.candidates(3), [[5, 1, 2]]);
  assert.ok(draftCandidatesFor(4) === 1 && draftCandidatesFor(8) === 1 && draftCandidatesFor(16) === 2);
});

test('pointer drafts: anchored on the output\'s first token near the pointed slot, followed while the output agrees', () => {
  const source = [0, 7, 30, 31, 32, 33, 34];
  const drafter = new Drafter([]);
  drafter.pointAt(source, 1); // the slot before the copy (a header marker), as an answer head often points
  drafter.accept(30);
  assert.deepEqual(drafter.candidates(3), [[31, 32, 33]], 'anchored: the pointed copy alone');
  drafter.accept(31);
  assert.deepEqual(drafter.candidates(8), [[32, 33, 34]], 'advances with the output, ends with the source');
  drafter.accept(99);
  assert.ok(!drafter.candidates(3).some((c) => c[0] === 33), 'the output left the copy: no pointer draft');
  const unanchored = new Drafter([]);
  unanchored.pointAt(source, 1);
  unanchored.accept(34); // not within the slack after the pointed slot
  assert.deepEqual(unanchored.candidates(3), []);
});

test('exact mode with pointer drafts over a cached context equals sequential greedy', async () => {
  const model = withTokenizer(randomModel('llama', {}, 23));
  const engine = await Engine.fromModel(model, { cacheDir });
  const vocab = model.config.vocabSize;
  let saved = 0;
  for (let p = 0; p < 4; p++) {
    const context = sampleTokens(40, vocab, 300 + p);
    const prompt = sampleTokens(4, vocab, 400 + p);
    const base = engine.newCache();
    await engine.prefill(base, context);
    const seqCache = base.clone();
    const sequential = await new SequentialDecoder(engine).generate(seqCache, prompt, { maxTokens: 16 });
    // The context repeats the answer (an oracle source for the pointer to land on, wherever attention points).
    const oracle = [...context.slice(0, 20), ...sequential.tokens, ...context.slice(20 + sequential.tokens.length)].slice(0, context.length);
    for (const [name, slotTokens] of [['context', context], ['oracle', oracle]] as const) {
      const cache = base.clone();
      const result = await new ParallelDecoder(engine, { block: 8, pointerLayer: model.config.numLayers - 1 }).generate(cache, prompt, { maxTokens: 16, slotTokens });
      assertSameOutcome({ result, cache }, { result: sequential, cache: seqCache }, `prompt ${p}, ${name}`);
      saved += sequential.decodePasses - result.decodePasses;
    }
  }
  assert.ok(saved >= 0);
  await engine.dispose();
});

/** Full-sequence block-causal mask: token r sees token c iff c's block is not after r's. */
function fullBlockCausal(length: number, block: number): Float32Array {
  const mask = new Float32Array(length * length);
  for (let r = 0; r < length; r++) for (let c = 0; c < length; c++) if (Math.floor(c / block) > Math.floor(r / block)) mask[r * length + c] = MASK_NEG;
  return mask;
}

test('block diffusion: one step over the prefix cache equals the reference forward with the block-causal mask', async () => {
  const model = withTokenizer(randomModel('qwen2', {}, 31));
  const engine = await Engine.fromModel(model, { cacheDir });
  const B = 4;
  const maskId = 95;
  const decoder = new BlockDiffusionDecoder(engine, { block: B, maskTokenId: maskId });
  const prefix = sampleTokens(8, model.config.vocabSize, 12); // two whole blocks
  const cache = engine.newCache();
  await decoder.prefillBlocks(cache, prefix);
  assert.equal(cache.length, 8);
  const block = [7, maskId, 30, maskId];
  const positions = [8, 9, 10, 11];
  const logits = await decoder.step(cache, block, positions);
  assert.equal(cache.length, 8, 'a step appends nothing');
  const all = [...prefix, ...block];
  const expected = referenceForward(model.config, model.weights, { tokens: all, positions: all.map((_, i) => i), mask: fullBlockCausal(all.length, B) }).logits;
  const vocab = model.config.vocabSize;
  assert.ok(maxAbsDiff(logits, expected.slice(8 * vocab)) < 1e-4, `step vs reference ${maxAbsDiff(logits, expected.slice(8 * vocab))}`);
  // The mask matters: with the causal mask the first block row differs (the check can fail).
  const causal = referenceForward(model.config, model.weights, { tokens: all, positions: all.map((_, i) => i) }).logits;
  assert.ok(maxAbsDiff(logits, causal.slice(8 * vocab)) > 1e-3);
  assert.deepEqual(Array.from(blockCausalMask(2, [6, 7, 8], 4)), [0, 0, 0, 0, MASK_NEG, 0, 0, 0, 0, MASK_NEG, 0, 0, 0, 0, 0]);
  await engine.dispose();
});

/** The same algorithm with no cache at all: the whole sequence through referenceForward every step. */
function referenceDiffusion(model: EngineModel, prompt: number[], B: number, maskId: number, threshold: number, maxTokens: number): number[] {
  const { config, weights } = model;
  const vocab = config.vocabSize;
  const softmaxMax = (row: Float32Array) => {
    const best = argmax(row);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - row[best]);
    return { token: best, confidence: 1 / sum };
  };
  const sequence = [...prompt];
  const output: number[] = [];
  while (output.length < maxTokens) {
    const blockStart = Math.floor(sequence.length / B) * B;
    const tokens = sequence.slice(blockStart);
    while (tokens.length < B) tokens.push(maskId);
    const fixed = sequence.length - blockStart;
    const masked = tokens.map((_, i) => i >= fixed);
    while (masked.some(Boolean)) {
      const all = [...sequence.slice(0, blockStart), ...tokens];
      const logits = referenceForward(config, weights, { tokens: all, positions: all.map((_, i) => i), mask: fullBlockCausal(all.length, B) }).logits;
      const candidates: { i: number; token: number; confidence: number }[] = [];
      for (let i = 0; i < B; i++) {
        if (!masked[i]) continue;
        const row = logits.slice((blockStart + i - 1) * vocab, (blockStart + i) * vocab); // token shift
        row[maskId] = -Infinity;
        candidates.push({ i, ...softmaxMax(row) });
      }
      let chosen = candidates.filter((c) => c.confidence > threshold);
      if (chosen.length === 0) chosen = [candidates.reduce((a, b) => (b.confidence > a.confidence ? b : a))];
      for (const c of chosen) {
        tokens[c.i] = c.token;
        masked[c.i] = false;
      }
    }
    for (let i = fixed; i < B && output.length < maxTokens; i++) output.push(tokens[i]);
    sequence.splice(blockStart, sequence.length - blockStart, ...tokens);
  }
  return output;
}

test('block diffusion: decoding matches a cache-free reference implementation (prompt tail, token shift, τ)', async () => {
  const model = withTokenizer({ ...randomModel('qwen2', { numLayers: 1 }, 41), tokenizer: undefined });
  const engine = await Engine.fromModel(model, { cacheDir });
  const maskId = 95;
  for (const [promptLength, threshold] of [[6, 0.0125], [8, 0.02], [5, 0]] as const) {
    const prompt = sampleTokens(promptLength, model.config.vocabSize, promptLength);
    const decoder = new BlockDiffusionDecoder(engine, { block: 4, maskTokenId: maskId, threshold });
    const cache = engine.newCache();
    const r = await decoder.generate(cache, prompt, { maxTokens: 10 });
    assert.deepEqual(r.tokens, referenceDiffusion(model, prompt, 4, maskId, threshold, 10), `prompt ${promptLength}, τ ${threshold}`);
    if (threshold === 0) assert.ok(r.decodePasses <= 2 * Math.ceil((promptLength % 4 + 10) / 4), 'τ = 0 unmasks a whole block per step');
    assert.equal(cache.length % 4, 0, 'only whole blocks are appended');
  }
  await engine.dispose();
});

test('auto: measures once, remembers the choice in the cache dir, reuses it', async () => {
  const model = withTokenizer(randomModel('llama', {}, 3));
  const engine = await Engine.fromModel(model, { cacheDir });
  const dir = scratchCacheDir();
  const first = await chooseDecoder(engine, { cacheDir: dir, measureTokens: 8, block: 4 });
  assert.ok(first.choice === 'sequential' || first.choice === 'parallel');
  assert.ok(first.sequentialTokensPerSecond > 0 && first.parallelTokensPerSecond > 0);
  const stored = JSON.parse(fs.readFileSync(path.join(dir, CHOICE_FILE), 'utf8'));
  assert.equal(Object.keys(stored).length, 1);
  const second = await chooseDecoder(engine, { cacheDir: dir, block: 4 });
  assert.equal(second.measuredAt, first.measuredAt, 'remembered, not measured again');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'atomic write left no temporary file');
  await engine.dispose();
});

test('ask: the drafter source is the repository lines the pot holds, in slot order, read again from disk', async () => {
  const { potHistory } = await import('../server/src/distill/history');
  const repo = fs.mkdtempSync(path.join(scratchCacheDir(), 'repo-'));
  fs.writeFileSync(path.join(repo, 'a.ts'), 'one\ntwo\nthree\n');
  fs.writeFileSync(path.join(repo, 'b.ts'), 'four\n');
  const encode = (text: string) => Array.from(text, (ch) => ch.charCodeAt(0));
  const tags = [{ file: 'a.ts', line: 0 }, { file: 'a.ts', line: 1 }, { file: 'a.ts', line: 1 }, { file: 'b.ts', line: 1 }, undefined, { file: 'a.ts', line: 3 }, { file: 'gone.ts', line: 1 }];
  assert.deepEqual(potHistory(tags, repo, { encode }), encode('one\nfour\nthree\n'));
  assert.deepEqual(potHistory(tags, repo, { encode }, 6), encode('three\n'), 'the limit keeps the most recent lines');
});
