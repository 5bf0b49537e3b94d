// Parallel exact decoding for autoregressive models (Jacobi + n-gram drafts, one verification pass per block).
//
//   committed (decided, not yet in the cache) ‖ drafts  ──► one forward pass, all rows' logits, K/V appended
//        row i predicts the token after input i:  decide row by row while the decided token equals the next
//        draft ─► accepted drafts + one more token (the first disagreement, or the row after the last draft)
//   cache.truncate(rejected slots)  ─► next block
//
// The sampler is called once per emitted token, in order, on logits of the true context, so greedy output equals
// sequential greedy (and seeded sampling consumes the same random numbers as Engine.generate). The confidence
// rule (confidence.ts) plugs in after the first disagreement and is the only lossy part.

import { EngineError, type Engine } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import { argmax, GREEDY, Sampler, type Sampling } from '../engine/sampling';
import { Drafter, type DrafterOptions } from './drafts';
import { OutputCollector, prefillPasses, type DecodeOptions, type DecodeResult, type Decoder, type DecoderName } from './types';

export const DEFAULT_BLOCK = 12;

export interface ParallelOptions {
  /** Tokens per verification pass: decided tokens plus drafts (default 12). */
  block?: number;
  /** Tokens of the repository text the cache was built from (n-gram draft source), for every call. */
  history?: readonly number[];
  drafter?: DrafterOptions;
}

/**
 * After the first row whose decision disagrees with the drafts, may accept more of the block's positions
 * (lossy: those rows saw a wrong draft). Returns how many of `rows` (in order) to keep; the exact decoder keeps none.
 */
export interface LossyRule {
  /** Probability of the token the sampler picked for the row, under the sampling distribution. */
  accept(confidence: number): boolean;
}

export class ParallelDecoder implements Decoder {
  readonly name: DecoderName;
  readonly block: number;

  constructor(
    readonly engine: Engine,
    private readonly options: ParallelOptions = {},
    private readonly lossy?: LossyRule,
  ) {
    this.block = options.block ?? DEFAULT_BLOCK;
    if (!Number.isInteger(this.block) || this.block < 1) throw new RangeError(`parallel decoder: block must be a positive integer (got ${this.block})`);
    this.name = lossy ? 'confidence' : 'parallel';
  }

  async generate<Tag>(cache: KvCache<Tag>, prompt: readonly number[], options: DecodeOptions): Promise<DecodeResult> {
    const engine = this.engine;
    const vocab = engine.config.vocabSize;
    const sampling: Sampling = options.sampling ?? GREEDY;
    const sampler = new Sampler(sampling);
    const temperature = sampling.kind === 'sample' ? sampling.temperature : 1;
    if (prompt.length > 0) await engine.prefill(cache, prompt, { signal: options.signal });
    if (!cache.lastLogits) throw new EngineError('generate: empty prompt and the cache holds no logits to continue from');
    const promptEnd = cache.length;
    const out = new OutputCollector(engine, options);
    const drafter = new Drafter([...(this.options.history ?? []), ...(options.history ?? []), ...prompt], this.options.drafter);
    let decodePasses = 0;
    let draftsProposed = 0;
    let draftsAccepted = 0;
    const emit = (token: number): boolean => {
      const before = out.tokens.length;
      const ended = out.offer(token);
      if (out.tokens.length > before) drafter.accept(token);
      return ended;
    };

    // The first token comes from the prefill's logits, as in Engine.generate.
    let committed: number[] = [];
    if (!out.mustStop() && !emit(sampler.next(cache.lastLogits, 0, vocab))) committed = [out.tokens[out.tokens.length - 1]];

    let lastRows: { logits: Float32Array; base: number } | undefined;
    let trueLength = promptEnd; // cache slots holding K/V of the true context (the rest are rejected drafts)
    while (!out.ended) {
      const { tokens: drafts } = drafter.propose(Math.max(0, this.block - committed.length));
      const input = [...committed, ...drafts];
      const base = cache.length;
      // Output index of input[0]: everything emitted before it is already in the cache.
      const firstOutput = base - promptEnd;
      const r = await engine.forward(cache, input, { logits: 'all' });
      decodePasses++;
      draftsProposed += drafts.length;
      lastRows = { logits: r.logits, base };
      for (let i = committed.length - 1; i < input.length; i++) drafter.guess(firstOutput + i + 1, argmax(r.logits, i * vocab, vocab));

      // Exact part: rows conditioned only on true tokens.
      let row = committed.length - 1;
      let valid = committed.length; // input slots whose K/V belong to the true context
      committed = [];
      while (!out.mustStop()) {
        const token = sampler.next(r.logits, row * vocab, vocab);
        if (emit(token)) break;
        if (row + 1 < input.length && input[row + 1] === token) {
          valid++;
          draftsAccepted++;
          row++;
          continue;
        }
        committed = [token];
        break;
      }
      // Lossy part (confidence mode): rows after a wrong draft, kept while confident; they are fed next block.
      if (this.lossy && committed.length === 1) {
        for (let next = row + 1; next < input.length && committed.length < this.block; next++) {
          if (out.mustStop()) break;
          const token = sampler.next(r.logits, next * vocab, vocab);
          if (!this.lossy.accept(probabilityOf(r.logits, next * vocab, vocab, token, temperature))) break;
          if (emit(token)) break;
          committed.push(token);
        }
      }
      trueLength = base + valid;
      if (!out.ended) cache.truncate(trueLength);
    }
    // Roll back to exactly what Engine.generate would hold: the prompt and the tokens fed so far.
    const fed = promptEnd + out.fedCount();
    cache.truncate(Math.min(fed, trueLength));
    if (fed > trueLength) {
      // Confidence mode ended on tokens decided from a wrong context: feed them as Engine.generate would have.
      const r = await engine.forward(cache, out.tokens.slice(trueLength - promptEnd, fed - promptEnd), { logits: 'all' });
      decodePasses++;
      lastRows = { logits: r.logits, base: trueLength };
    }
    if (lastRows && fed > lastRows.base) {
      const row = fed - lastRows.base - 1;
      cache.lastLogits = lastRows.logits.slice(row * vocab, (row + 1) * vocab);
    }
    const prefill = prompt.length > 0 ? prefillPasses(prompt.length) : 0;
    return { ...out.finish(), forwardPasses: prefill + decodePasses, decodePasses, draftsProposed, draftsAccepted };
  }
}

/** softmax(row / temperature)[token], computed stably. */
export function probabilityOf(logits: Float32Array, offset: number, vocab: number, token: number, temperature = 1): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp((logits[offset + i] - max) / temperature);
  return Math.exp((logits[offset + token] - max) / temperature) / sum;
}
