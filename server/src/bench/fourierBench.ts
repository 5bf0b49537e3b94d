// `repopot bench distill --suite fourier`: the pot with the Fourier tier against the plain pot at equal
// bytes, and against the exact cache at the same token count and the full cache.
//
//  - loss: held-out code (data/eval, odd-numbered repositories: never the calibration's) streams through
//    each pot; then the next `continuation` tokens of the same repository are scored (mean NLL, top-1).
//      plain   InfiniPot, B0 slots (the byte budget)
//      tier    InfiniPot + Fourier tier, B1 slots in the same bytes
//      exact   InfiniPot, B1 slots, no tier (the same token count: what the tier's approximation costs)
//      full    the whole stream (when it fits the context)
//  - bytes per slot, tokens per byte, ingest speed, reconstruction share of a query, snapshot shrink;
//  - niah: the needle suite with `infinipot` and `infinipot+fourier` at equal bytes (accuracyVsPlain).
// One JSON line per measurement, then the summary line.

import type { Engine } from '../engine/engine';
import { KvCache } from '../engine/kvCache';
import type { FourierKvCache } from '../fourier/tier';
import { Pot } from '../distill/pot';
import { defaultChunkTokens, defaultCompressTo } from '../distill/distiller';
import { makePolicyFromSpec } from '../distill/policies/registry';
import type { SlotSource } from '../distill/provenance';
import { heldOutSequences, type HeldOutSequence } from '../bench/fourierHeldOut';
import { approximatedShare, type FourierLayout } from '../fourier/layout';
import { newTierCache, plainSlotBytes, tierBytes, tierSlotsForBytes } from '../fourier/budget';
import { logProbOf } from '../engine/sampling';
import { seededRandom } from '../model/randomWeights';

export interface FourierBenchOptions {
  evalDir: string;
  layout: FourierLayout;
  /** Plain pot slots (the byte budget is this many plain slots). */
  budget?: number;
  sequences?: number;
  continuation?: number;
  /** Policy for all pots (default infinipot; models without a tokenizer use h2o). */
  policy?: string;
  /** Model label for the lines. */
  model?: string;
  signal?: AbortSignal;
}

type Emit = (line: Record<string, unknown>) => void;

interface Variant {
  name: 'plain' | 'tier' | 'exact' | 'full';
  slots: number;
  tier: boolean;
}

interface Scored {
  nll: number;
  top1: number;
  scored: number;
  bytes: number;
  slots: number;
  ingestTokensPerSecond: number;
}

export function defaultFourierBudget(engine: Engine): number {
  return Math.max(64, Math.min(256, 2 ** Math.floor(Math.log2(engine.config.maxPositions / 4))));
}

/** Held-out token streams: tokenized code, or (no tokenizer: random-weight shapes) seeded pseudo-text. */
export function benchSequences(engine: Engine, evalDir: string, count: number, tokens: number, split: 'calibration' | 'evaluation' = 'evaluation'): HeldOutSequence[] {
  if (engine.model.tokenizer) return heldOutSequences(engine.model.tokenizer, evalDir, split, count, tokens);
  const vocab = engine.config.vocabSize;
  return Array.from({ length: count }, (_, s) => {
    const rand = seededRandom((split === 'evaluation' ? 1000 : 5000) + s);
    // Zipf-ish tokens with repeats: a stream with some structure, so attention is not uniform.
    const ids: number[] = [];
    while (ids.length < tokens) {
      if (ids.length > 16 && rand() < 0.3) {
        const from = Math.floor(rand() * (ids.length - 8));
        ids.push(...ids.slice(from, from + 8));
      } else ids.push(Math.min(vocab - 1, Math.floor(vocab * rand() ** 3)));
    }
    return { source: `random-${split}-${s}`, tokens: ids.slice(0, tokens) };
  });
}

async function streamTokens(pot: Pot, tokens: readonly number[], chunk: number, source: string, signal?: AbortSignal): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < tokens.length; i += chunk) {
    signal?.throwIfAborted();
    const part = tokens.slice(i, i + chunk);
    const sources: SlotSource[] = part.map((_, j) => ({ file: source, line: Math.floor((i + j) / 16) }));
    await pot.append(part, sources, signal);
  }
  return (performance.now() - started) / 1000;
}

/** Mean NLL and top-1 accuracy of `continuation` given the cache (scored on a clone). */
async function scoreContinuation(engine: Engine, cache: KvCache<SlotSource>, continuation: readonly number[]): Promise<{ nll: number; top1: number; n: number }> {
  const clone = cache.clone();
  const vocab = engine.config.vocabSize;
  const r = await engine.forward(clone, continuation, { logits: 'all' });
  let nll = 0;
  let hits = 0;
  let n = 0;
  for (let i = 1; i < continuation.length; i++) {
    const at = (i - 1) * vocab;
    nll -= logProbOf(r.logits, at, vocab, continuation[i]);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (r.logits[at + v] > r.logits[at + best]) best = v;
    if (best === continuation[i]) hits++;
    n++;
  }
  return { nll: nll / n, top1: hits / n, n };
}

export async function runFourierBench(engine: Engine, o: FourierBenchOptions, emit: Emit): Promise<Record<string, unknown>> {
  const shape = { numLayers: engine.config.numLayers, numKvHeads: engine.config.numKvHeads, headDim: engine.config.headDim, ropeTheta: engine.config.ropeTheta };
  const layout = o.layout;
  const b0 = o.budget ?? defaultFourierBudget(engine);
  const chunk = Math.min(defaultChunkTokens(engine.config.maxPositions), b0);
  const geometry = { chunk };
  const bytes = b0 * plainSlotBytes(shape);
  const b1 = tierSlotsForBytes(shape, layout, bytes, geometry);
  const continuation = o.continuation ?? 64;
  const streamLength = Math.min(4 * b0, engine.config.maxPositions - continuation - 8);
  const policySpec = o.policy ?? (engine.model.tokenizer ? 'infinipot' : 'h2o');
  const sequences = benchSequences(engine, o.evalDir, o.sequences ?? 4, streamLength + continuation);
  if (sequences.length === 0) throw new Error(`no held-out repository has ${streamLength + continuation} tokens for this model`);
  const model = o.model ?? engine.model.dir ?? 'model';
  emit({
    bench: 'distill', suite: 'fourier', model, kind: 'geometry', policy: policySpec, budgetBytes: bytes, plainSlots: b0, tierSlots: b1,
    plainBytesPerSlot: plainSlotBytes(shape), tierBytesPerSlot: tierBytes(shape, layout, b1, geometry) / b1, approximatedShare: approximatedShare(layout),
    coefficientRatio: layout.coefficientRatio, streamTokens: streamLength, continuation, sequences: sequences.map((s) => s.source),
  });

  const variants: Variant[] = [
    { name: 'plain', slots: b0, tier: false },
    { name: 'tier', slots: b1, tier: true },
    { name: 'exact', slots: b1, tier: false },
    { name: 'full', slots: streamLength + chunk, tier: false },
  ];
  const totals = new Map<string, Scored>();
  let reconstructMs = 0;
  let queryMs = 0;
  let queryTierMs = 0;
  let tierSnapshot = 0;
  let plainSnapshot = 0;
  let tierBytesHeld = 0;
  let plainBytesHeld = 0;
  for (const seq of sequences) {
    const context = seq.tokens.slice(0, streamLength);
    const next = seq.tokens.slice(streamLength, streamLength + continuation);
    for (const v of variants) {
      o.signal?.throwIfAborted();
      const cache = v.tier ? newTierCache<SlotSource>(shape, layout, v.slots, geometry) : engine.newCache<SlotSource>(v.slots + chunk + 64);
      const policy = makePolicyFromSpec(v.name === 'full' ? 'full' : policySpec, engine);
      const pot = new Pot(engine, { budget: v.slots, policy, compressTo: defaultCompressTo(v.slots, chunk) }, cache);
      const seconds = await streamTokens(pot, context, chunk, seq.source, o.signal);
      if (v.tier) {
        (cache as FourierKvCache<SlotSource>).settle(true);
        await (cache as FourierKvCache<SlotSource>).prepare();
      }
      const s = await scoreContinuation(engine, pot.cache, next);
      const line = { nll: s.nll, top1: s.top1, scored: s.n, bytes: pot.cache.bytes, slots: pot.cache.length, ingestTokensPerSecond: context.length / seconds };
      emit({ bench: 'distill', suite: 'fourier', model, kind: 'loss', variant: v.name, source: seq.source, ...line });
      const t = totals.get(v.name) ?? { nll: 0, top1: 0, scored: 0, bytes: 0, slots: 0, ingestTokensPerSecond: 0 };
      for (const k of Object.keys(line) as (keyof Scored)[]) t[k] += line[k] / sequences.length;
      totals.set(v.name, t);
      if (v.name === 'tier') {
        const tc = pot.cache as FourierKvCache<SlotSource>;
        tierBytesHeld += tc.bytes / sequences.length;
        // A query: question-sized prefill + 16 decoded tokens on a clone; reconstruction = rebuilding the whole tier once.
        const clone = tc.clone();
        const runs: number[] = [];
        for (let i = 0; i < 3; i++) runs.push(await clone.reconstructAllAsync());
        reconstructMs += runs.sort((a, b) => a - b)[1] / sequences.length;
        const started = performance.now();
        const before = clone.timings.reconstructMs + clone.timings.projectMs;
        const question = Math.min(24, next.length);
        await engine.forward(clone, next.slice(0, question), { logits: 'last' });
        for (let i = 0; i < 16; i++) await engine.forward(clone, [next[(question + i) % next.length]], { logits: 'last' });
        queryMs += (performance.now() - started) / sequences.length;
        // What the query actually paid (the dense view is kept; the window's overflow joins the tier once).
        queryTierMs += (clone.timings.reconstructMs + clone.timings.projectMs - before) / sequences.length;
        const encode = (tag: SlotSource | undefined) => (tag ? [tag.file, tag.line] : null);
        tierSnapshot += tc.snapshot(encode).length / sequences.length;
        plainSnapshot += KvCache.prototype.snapshot.call(tc, encode).length / sequences.length;
      }
      if (v.name === 'plain') plainBytesHeld += pot.cache.bytes / sequences.length;
    }
  }
  const get = (n: string) => totals.get(n)!;
  const reconstructShare = reconstructMs / (reconstructMs + queryMs);
  const summary = {
    bench: 'distill',
    suite: 'fourier',
    summary: true,
    model,
    policy: policySpec,
    budgetBytes: bytes,
    plainSlots: b0,
    tierSlots: b1,
    tokensPerByteVsPlain: (get('tier').slots / tierBytesHeld) / (get('plain').slots / plainBytesHeld),
    accuracyVsPlain: null as number | null,
    lossIncrease: get('tier').nll / get('exact').nll - 1,
    lossVsPlain: get('tier').nll / get('plain').nll - 1,
    lossVsFull: get('tier').nll / get('full').nll - 1,
    top1VsPlainPoints: 100 * (get('tier').top1 - get('plain').top1),
    nll: { plain: get('plain').nll, tier: get('tier').nll, exact: get('exact').nll, full: get('full').nll },
    bytesPerSlot: { plain: plainBytesHeld / get('plain').slots, tier: tierBytesHeld / get('tier').slots },
    ingestTokensPerSecond: { plain: get('plain').ingestTokensPerSecond, tier: get('tier').ingestTokensPerSecond, exact: get('exact').ingestTokensPerSecond },
    reconstructMs,
    queryMs,
    reconstructShare,
    /** Share of the query's own time spent on tier work as implemented (dense view kept between passes). */
    tierShareInQuery: queryTierMs / queryMs,
    snapshotShrink: 1 - tierSnapshot / plainSnapshot,
  };
  return summary;
}
