// `repopot bench decode`: the parallel block decoder against sequential decoding, measured in the same run.
//
//  answers   held-out prompts with their context in the cache, every decoder on a clone of the same cache:
//            - eval:    data/eval lookup and multi-hop questions, the record's files streamed in as the
//                       repository (n-gram drafts copy from them), RepoPot's question prompt;
//            - stories: for a children's-story model (stories260K): a few stories the model itself sampled
//                       as the "repository", then held-out story openings.
//            Per decoder: tokens per decoding forward pass, wall-clock speedup over sequential, share of outputs
//            token-identical to sequential greedy. Two clocks: the whole answer (the question's prefill included,
//            which is the same work for every decoder) and the decoding after the first token (decodeSpeedup).
//  cost      random weights at a real shape (Qwen2.5-Coder-0.5B): time of one forward of B tokens vs one token
//            over a filled cache, to choose B per device.
// JSON lines {"bench":"decode","mode",…,"block",…}; a summary line with exactSpeedup, exactTokensPerForward,
// exactIdenticalRate (the best block for exact mode).

import fs from 'node:fs';
import path from 'node:path';
import { Engine } from '../engine/engine';
import type { KvCache, KvDtype } from '../engine/kvCache';
import type { WeightFormat } from '../graph/contract';
import { questionPrompt } from '../distill/prompt';
import { headerForTokenizer, tokenizeWithProvenance } from '../distill/streamer';
import { evalSetNames, loadEvalSet, median, promptKey, type EvalRecord } from '../eval/evalSet';
import { hfConfigToModelConfig } from '../model/hfConfig';
import { randomWeights } from '../model/randomWeights';
import { sampleTokens } from '../util/random';
import { confidenceDecoder } from '../decode/confidence';
import { ParallelDecoder } from '../decode/parallelExact';
import { SequentialDecoder } from '../decode/sequential';
import type { Decoder, DecodeResult } from '../engine/decoder';

export type DecodeWorkload = 'eval' | 'stories';

export interface DecodeBenchOptions {
  workload: DecodeWorkload;
  /** data/eval (eval workload). */
  evalDir: string;
  /** Prompts measured (default 24 eval, 12 stories). */
  limit?: number;
  blocks: number[];
  maxTokens: number;
  /** τ for confidence mode (default 0.9). */
  threshold?: number;
  /** Skip confidence mode. */
  exactOnly?: boolean;
  /** Draft candidates per proposal for every parallel decoder (default: the decoder's own, draftCandidatesFor). */
  draftCandidates?: number;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

export interface DecodeCostOptions {
  configPath: string;
  weights: WeightFormat;
  blocks: number[];
  /** Cache length the verification runs over (default 512). */
  past?: number;
  repeats?: number;
  cacheDir?: string;
  device?: 'cpu' | 'cuda' | 'webgpu' | 'auto';
  /** The KV cache's dtype (EngineOptions.kvDtype). */
  kvDtype?: KvDtype;
  log?: (message: string) => void;
}

type Emit = (line: Record<string, unknown>) => void;

interface BenchPrompt {
  id: string;
  type: string;
  /** Tokens prefilled before the question (the repository). */
  context: number[];
  prompt: number[];
  stop: string[];
}

const STORY_OPENINGS = [
  'Once upon a time, there was a little dog named Max.',
  'Tom and Sue went to the park.',
  'One day, a little bird was flying in the sky.',
  'Lily had a big red ball.',
  'There was a small cat who liked to play.',
  'Ben wanted to help his mom in the kitchen.',
  'Sara found a shiny box under her bed.',
  'The sun was hot and the children wanted to swim.',
  'Tim had a new toy car.',
  'A little girl named Amy loved flowers.',
  'The frog sat on a big green leaf.',
  'Mom said, "Let\'s go to the store."',
];

/** Questions whose answers copy repository text: lookups (where / imports / params / const) and multi-hop. */
function evalPrompts(engine: Engine, evalDir: string, limit: number, answerRoom: number): BenchPrompt[] {
  const tokenizer = engine.tokenizer;
  const header = headerForTokenizer(tokenizer);
  const sets = evalSetNames(evalDir);
  if (sets.length === 0) throw new Error(`${evalDir}: no evaluation sets (data/eval/*.jsonl)`);
  const records: EvalRecord[] = sets.flatMap((n) => loadEvalSet(path.join(evalDir, n)));
  // Interleave the types so a small limit still covers lookups and multi-hop questions.
  const byType = new Map<string, EvalRecord[]>();
  for (const r of records) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  const picked: EvalRecord[] = [];
  // The same question on the same files can sit in several sets: ask it once (a decoder remembers its answers).
  const asked = new Set<string>();
  for (let i = 0; picked.length < limit && [...byType.values()].some((rs) => i < rs.length); i++) {
    for (const rs of byType.values()) {
      if (i >= rs.length || picked.length >= limit) continue;
      const r = rs[Math.floor((i * 7919) % rs.length)];
      const key = promptKey(r);
      if (!asked.has(key)) picked.push(r);
      asked.add(key);
    }
  }
  return picked.map((r) => {
    const q = questionPrompt(engine, r.question);
    const prompt = tokenizer.encode(q.text);
    let context = r.files.flatMap((f) => tokenizeWithProvenance(f, tokenizer, header).tokens);
    const room = engine.config.maxPositions - prompt.length - answerRoom - 1;
    if (context.length > room) context = context.slice(context.length - room);
    const bos = engine.config.bosTokenId;
    if (bos !== undefined && context[0] !== bos) context = [bos, ...context];
    return { id: r.id, type: r.type, context, prompt, stop: q.stop };
  });
}

/** Story prompts after stories the model itself sampled (fixed seeds) as the text in the cache. */
async function storyPrompts(engine: Engine, limit: number, answerRoom: number): Promise<BenchPrompt[]> {
  const tokenizer = engine.tokenizer;
  const bos = engine.config.bosTokenId ?? 1;
  const budget = Math.max(32, engine.config.maxPositions - answerRoom - 48);
  const repository: number[] = [bos];
  for (let seed = 1; repository.length < budget; seed++) {
    const r = await engine.generate(engine.newCache(), [bos], { maxTokens: Math.min(160, budget - repository.length + 1), sampling: { kind: 'sample', temperature: 0.8, topP: 0.95, seed } });
    repository.push(...r.tokens, ...tokenizer.encode('\n'));
  }
  const context = repository.slice(0, budget);
  return STORY_OPENINGS.slice(0, limit).map((text, i) => ({ id: `story-${i}`, type: 'story', context, prompt: tokenizer.encode(`\n${text}`), stop: [] }));
}

interface Run {
  result: DecodeResult;
  /** The whole answer: the question's prefill and every token. */
  ms: number;
  /** From the first token (decided from the prefill's logits) to the end: what a decoder changes. */
  decodeMs: number;
}

async function timed(decoder: Decoder, base: KvCache, p: BenchPrompt, maxTokens: number): Promise<Run> {
  const cache = base.clone();
  let firstToken: number | undefined;
  const started = performance.now();
  // The cache holds exactly the context's tokens, one per slot: the pointer's source.
  const result = await decoder.generate(cache, p.prompt, { maxTokens, stop: p.stop, history: p.context, slotTokens: p.context, onToken: () => (firstToken ??= performance.now()) });
  const ended = performance.now();
  return { result, ms: ended - started, decodeMs: ended - (firstToken ?? ended) };
}

interface Tally {
  mode: string;
  block: number;
  /** Draft candidates per pass (parallel decoders; null for sequential). */
  draftCandidates: number | null;
  tokens: number;
  passes: number;
  ms: number;
  decodeMs: number;
  /** Draft tokens verified and accepted, over the decoding passes (parallel decoders). */
  drafts: number;
  accepted: number;
  identical: number;
  tokenAgreement: number;
  n: number;
}

export async function runDecodeBench(engine: Engine, o: DecodeBenchOptions, emit: Emit): Promise<void> {
  const limit = o.limit ?? (o.workload === 'eval' ? 24 : 12);
  const prompts = o.workload === 'eval' ? evalPrompts(engine, o.evalDir, limit, o.maxTokens) : await storyPrompts(engine, limit, o.maxTokens);
  const sequential = new SequentialDecoder(engine);
  const decoders: { mode: string; block: number; decoder: ParallelDecoder }[] = [];
  const drafter = o.draftCandidates === undefined ? undefined : { maxCandidates: o.draftCandidates };
  for (const block of o.blocks) {
    decoders.push({ mode: 'exact', block, decoder: new ParallelDecoder(engine, { block, drafter }) });
    // Without drafts from its earlier answers: what the answer memory adds (prompts come in a fixed order).
    decoders.push({ mode: 'exact-no-memory', block, decoder: new ParallelDecoder(engine, { block, drafter, answerMemory: 0 }) });
    // The exact decoder with pointer drafts from the last layer's attention: what the pointer adds.
    if (o.workload === 'eval') decoders.push({ mode: 'exact-pointer', block, decoder: new ParallelDecoder(engine, { block, drafter, pointerLayer: engine.config.numLayers - 1 }) });
    if (!o.exactOnly) decoders.push({ mode: 'confidence', block, decoder: confidenceDecoder(engine, { block, threshold: o.threshold, drafter }) });
  }
  const tallies = new Map<string, Tally>();
  const tally = (mode: string, block: number, draftCandidates: number | null = null): Tally => {
    const key = `${mode}/${block}`;
    let t = tallies.get(key);
    if (!t) tallies.set(key, (t = { mode, block, draftCandidates, tokens: 0, passes: 0, ms: 0, decodeMs: 0, drafts: 0, accepted: 0, identical: 0, tokenAgreement: 0, n: 0 }));
    return t;
  };
  // Warm every graph variant (logits last and all) so no decoder pays a build or session start.
  if (prompts.length > 0) {
    const warm = engine.newCache();
    await engine.prefill(warm, [...prompts[0].context, ...prompts[0].prompt]);
    for (const d of [sequential, ...decoders.map((x) => x.decoder)]) await d.generate(warm.clone(), [], { maxTokens: 4 });
    if (o.workload === 'eval') await engine.forward(warm, prompts[0].prompt.slice(-1), { attentionRows: Float32Array.of(1) }); // the pointer's graph
  }
  for (const p of prompts) {
    if (o.signal?.aborted) break;
    const base = engine.newCache(p.context.length + p.prompt.length + o.maxTokens + 64);
    await engine.prefill(base, p.context);
    // Sequential twice around the parallel runs (its time is their mean) so drift in machine load hits both alike.
    const first = await timed(sequential, base, p, o.maxTokens);
    const runs: { mode: string; block: number; candidates: number; run: Run }[] = [];
    for (const d of decoders) runs.push({ mode: d.mode, block: d.block, candidates: d.decoder.draftCandidates, run: await timed(d.decoder, base, p, o.maxTokens) });
    const second = await timed(sequential, base, p, o.maxTokens);
    const reference = first.result.tokens;
    const s = tally('sequential', 1);
    s.tokens += reference.length;
    s.passes += first.result.decodePasses + 1;
    s.ms += (first.ms + second.ms) / 2;
    s.decodeMs += (first.decodeMs + second.decodeMs) / 2;
    s.identical += reference.join() === second.result.tokens.join() ? 1 : 0;
    s.tokenAgreement += 1;
    s.n++;
    for (const { mode, block, candidates, run } of runs) {
      const t = tally(mode, block, candidates);
      t.tokens += run.result.tokens.length;
      // +1: the prefill's last pass decided the first token, as it does for sequential decoding.
      t.passes += run.result.decodePasses + 1;
      t.ms += run.ms;
      t.decodeMs += run.decodeMs;
      t.drafts += run.result.draftsProposed;
      t.accepted += run.result.draftsAccepted;
      const same = run.result.tokens.join() === reference.join();
      t.identical += same ? 1 : 0;
      t.tokenAgreement += agreement(reference, run.result.tokens);
      t.n++;
      if (mode === 'exact' && !same) o.log?.(`exact mode differs from sequential on ${p.id} (block ${block}): first difference at token ${firstDifference(reference, run.result.tokens)}`);
    }
  }
  const seq = tally('sequential', 1);
  const lines = [...tallies.values()].map((t) => ({
    bench: 'decode',
    workload: o.workload,
    mode: t.mode,
    block: t.block,
    draftCandidates: t.draftCandidates,
    tokensPerForward: round(t.tokens / Math.max(1, t.passes)),
    speedup: round((seq.ms / Math.max(1, seq.tokens)) / (t.ms / Math.max(1, t.tokens))),
    // Tokens after the first one, per decoding millisecond, over sequential's.
    decodeSpeedup: round((seq.decodeMs / Math.max(1, seq.tokens - seq.n)) / (t.decodeMs / Math.max(1, t.tokens - t.n))),
    // How big the verified trees were and how many of their drafts landed: the cost side of tokensPerForward.
    draftsPerPass: round(t.drafts / Math.max(1, t.passes - t.n)), // passes count each answer's prefill pass too
    draftsAccepted: round(t.accepted / Math.max(1, t.drafts)),
    identical: round(t.identical / Math.max(1, t.n)),
    tokenAgreement: round(t.tokenAgreement / Math.max(1, t.n)),
    tokensPerSecond: round(t.tokens / Math.max(1e-9, t.ms / 1000)),
    prompts: t.n,
    tokens: t.tokens,
    device: engine.device,
  }));
  for (const line of lines) emit(line);
  const exact = lines.filter((l) => l.mode === 'exact').sort((a, b) => b.speedup - a.speedup)[0];
  const confidence = lines.filter((l) => l.mode === 'confidence').sort((a, b) => b.speedup - a.speedup)[0];
  emit({
    bench: 'decode',
    summary: true,
    workload: o.workload,
    exactBlock: exact?.block ?? null,
    exactSpeedup: exact?.speedup ?? null,
    exactDecodeSpeedup: exact?.decodeSpeedup ?? null,
    exactTokensPerForward: exact?.tokensPerForward ?? null,
    exactIdenticalRate: exact?.identical ?? null,
    confidenceSpeedup: confidence?.speedup ?? null,
    confidenceIdenticalRate: confidence?.identical ?? null,
    prompts: seq.n,
    device: engine.device,
  });
}

/** Share of positions where two outputs agree, over the longer one. */
function agreement(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  if (n === 0) return 1;
  let same = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] === b[i]) same++;
  return same / n;
}

function firstDifference(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Cost of verifying B tokens in one pass relative to one token, on random weights at a real model's shape. */
export async function runDecodeCost(o: DecodeCostOptions, emit: Emit): Promise<void> {
  const config = hfConfigToModelConfig(JSON.parse(fs.readFileSync(o.configPath, 'utf8')), o.configPath);
  const seed = 1;
  o.log?.(`random ${o.weights} weights at ${path.basename(o.configPath)} (${config.numLayers} layers, hidden ${config.hiddenSize}, vocab ${config.vocabSize})`);
  const engine = await Engine.fromModel(
    { config, weights: randomWeights(config, seed), weightsHash: `random:${path.basename(o.configPath)}:${seed}` },
    { weights: o.weights, cacheDir: o.cacheDir, device: o.device ?? 'cpu', kvDtype: o.kvDtype, log: o.log },
  );
  try {
    const past = o.past ?? 512;
    const cache = engine.newCache(past + Math.max(...o.blocks) + 8);
    await engine.prefill(cache, sampleTokens(past, config.vocabSize, 3));
    const blocks = [1, ...o.blocks.filter((b) => b !== 1)];
    const inputs = new Map(blocks.map((b) => [b, sampleTokens(b, config.vocabSize, b)]));
    for (const b of blocks) {
      await engine.forward(cache, inputs.get(b)!, { logits: 'all' }); // warm-up
      cache.truncate(past);
    }
    // Rounds over every block size (not block after block), so load drifting on a shared machine hits all alike;
    // at least `repeats` rounds, more for fast models (until about 3 s have been spent).
    const samples = new Map<number, number[]>(blocks.map((b) => [b, []]));
    const started = performance.now();
    for (let round = 0; round < (o.repeats ?? 7) || (performance.now() - started < 3000 && round < 200); round++) {
      for (const b of blocks) {
        const t0 = performance.now();
        await engine.forward(cache, inputs.get(b)!, { logits: 'all' });
        samples.get(b)!.push(performance.now() - t0);
        cache.truncate(past);
      }
    }
    const times = new Map(blocks.map((b) => [b, median(samples.get(b)!)]));
    const one = times.get(1)!;
    for (const [block, ms] of times) {
      emit({ bench: 'decode', mode: 'verify-cost', block, msPerForward: round(ms), relativeCost: round(ms / one), breakEvenTokensPerForward: round(ms / one), samples: samples.get(block)!.length, config: path.basename(o.configPath), weights: o.weights, past, device: engine.device });
    }
  } finally {
    await engine.dispose();
  }
}
