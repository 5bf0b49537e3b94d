// Block-diffusion decoding for checkpoints trained in Fast-dLLM v2's layout (Qwen2.5 architecture, block-causal
// attention, a mask token, token shift):
//
//   prompt ─► prefilled block-causally (blocks aligned to positions 0, B, 2B, …; the prompt's partial last block
//             stays in the first decoded block as fixed tokens)
//   block  = [fixed…, MASK…] ─► step: forward the block over the prefix cache with append:false (DualCache:
//             only the block is recomputed), every block token sees the prefix and the whole block
//          ─► unmask every masked position whose confidence exceeds τ (at least the most confident one)
//          ─► repeat until none is masked, then one more pass appends the final block's K/V.
// Token shift: the prediction for block position i is the logits row of position i-1 (the previous block's last
// row for i = 0), as the model keeps its autoregressive head.

import { PREFILL_CHUNK_TOKENS } from '../vocab';
import { EngineError, type Engine } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import { MASK_NEG } from '../graph/contract';
import { GREEDY, Sampler, type Sampling } from '../engine/sampling';
import { probabilityOf } from './parallelExact';
import { OutputCollector, type DecodeOptions, type DecodeResult, type Decoder } from '../engine/decoder';

export const DEFAULT_DIFFUSION_BLOCK = 32;
/** Names mask tokens go by: Fast-dLLM v2 (`|<MASK>|`, id 151665 in Qwen2.5's vocabulary), LLaDA/BERT styles. */
export const MASK_TOKEN_NAMES = ['|<MASK>|', '<|mask|>', '<mask>', '[MASK]', '<|MASK|>'];

export interface BlockDiffusionOptions {
  /** Block size B (Fast-dLLM v2: 32). */
  block?: number;
  /** τ: unmask positions whose confidence exceeds this (default 0.9); at least one per step. */
  threshold?: number;
  /** The mask token; default: looked up in the tokenizer by MASK_TOKEN_NAMES. */
  maskTokenId?: number;
  /** Token shift (Fast-dLLM v2): position i is predicted from row i-1. Default true. */
  shift?: boolean;
}

/**
 * Additive mask for new tokens at `positions` over `past` cache slots (all in earlier blocks, so visible) and
 * each other: a new token sees another new token iff that one's block is not later than its own.
 */
export function blockCausalMask(past: number, positions: readonly number[], block: number): Float32Array {
  const q = positions.length;
  const total = past + q;
  const mask = new Float32Array(q * total);
  for (let r = 0; r < q; r++) {
    const own = Math.floor(positions[r] / block);
    for (let c = 0; c < q; c++) if (Math.floor(positions[c] / block) > own) mask[r * total + past + c] = MASK_NEG;
  }
  return mask;
}

export function findMaskToken(engine: Engine): number | undefined {
  for (const name of MASK_TOKEN_NAMES) {
    const id = engine.model.tokenizer?.tokenToId(name);
    if (id !== undefined) return id;
  }
  return undefined;
}

export class BlockDiffusionDecoder implements Decoder {
  readonly name = 'block-diffusion' as const;
  readonly block: number;
  readonly threshold: number;
  readonly maskTokenId: number;
  readonly shift: boolean;

  constructor(
    readonly engine: Engine,
    options: BlockDiffusionOptions = {},
  ) {
    this.block = options.block ?? DEFAULT_DIFFUSION_BLOCK;
    this.threshold = options.threshold ?? 0.9;
    this.shift = options.shift ?? true;
    const mask = options.maskTokenId ?? findMaskToken(engine);
    if (mask === undefined) throw new EngineError(`block diffusion: the tokenizer has no mask token (${MASK_TOKEN_NAMES.join(', ')}); pass maskTokenId`);
    if (!Number.isInteger(mask) || mask < 0 || mask >= engine.config.vocabSize) throw new EngineError(`block diffusion: mask token ${mask} is outside the vocabulary`);
    this.maskTokenId = mask;
    if (!Number.isInteger(this.block) || this.block < 1) throw new RangeError(`block diffusion: block must be a positive integer (got ${this.block})`);
  }

  /** Appends `tokens` block-causally (chunks of whole blocks; positions continue the cache). */
  async prefillBlocks<Tag>(cache: KvCache<Tag>, tokens: readonly number[]): Promise<number> {
    const start = cache.nextPosition();
    const chunk = Math.max(this.block, Math.floor(PREFILL_CHUNK_TOKENS / this.block) * this.block);
    let passes = 0;
    for (let from = 0; from < tokens.length; ) {
      // End chunks on block boundaries: a block split across passes would hide its later tokens from its earlier ones.
      let to = Math.min(tokens.length, from + chunk);
      const over = (start + to) % this.block;
      if (to < tokens.length && over > 0 && to - over > from) to -= over;
      const positions = Array.from({ length: to - from }, (_, i) => start + from + i);
      await this.engine.forward(cache, tokens.slice(from, to), { positions, mask: blockCausalMask(cache.length, positions, this.block) });
      passes++;
      from = to;
    }
    return passes;
  }

  /** One denoising step: the block's logits over the prefix cache, nothing appended. */
  async step<Tag>(cache: KvCache<Tag>, blockTokens: readonly number[], positions: readonly number[]): Promise<Float32Array> {
    const r = await this.engine.forward(cache, blockTokens, { positions, mask: blockCausalMask(cache.length, positions, this.block), logits: 'all', append: false });
    return r.logits;
  }

  async generate<Tag>(cache: KvCache<Tag>, prompt: readonly number[], options: DecodeOptions): Promise<DecodeResult> {
    const engine = this.engine;
    const vocab = engine.config.vocabSize;
    const B = this.block;
    const sampling: Sampling = options.sampling ?? GREEDY;
    const sampler = new Sampler(sampling);
    const temperature = sampling.kind === 'sample' ? sampling.temperature : 1;
    const out = new OutputCollector(engine, options);
    const start = cache.nextPosition();
    // Blocks are aligned to positions 0, B, 2B, …; a cache this decoder (or prefillBlocks) filled always ends on one.
    if (start % B !== 0 && prompt.length > 0) throw new EngineError(`block diffusion: the cache ends at position ${start}, not on a block boundary (block ${B})`);
    // The prompt's whole blocks go into the cache; its partial last block is decoded with the first block.
    const tailLength = (start + prompt.length) % B;
    const headLength = Math.max(0, prompt.length - tailLength);
    let forwardPasses = headLength > 0 ? await this.prefillBlocks(cache, prompt.slice(0, headLength)) : 0;
    const prefill = forwardPasses;
    let fixed = prompt.slice(headLength);
    let previousRow = cache.lastLogits?.slice();
    if (this.shift && fixed.length === 0 && !previousRow) throw new EngineError('block diffusion: empty prompt and the cache holds no logits to continue from');

    while (!out.ended) {
      const blockStart = cache.nextPosition();
      const positions = Array.from({ length: B }, (_, i) => blockStart + i);
      const tokens = [...fixed, ...new Array<number>(B - fixed.length).fill(this.maskTokenId)];
      const masked = tokens.map((_, i) => i >= fixed.length);
      let emitted = fixed.length;
      if (previousRow) previousRow[this.maskTokenId] = -Infinity;
      while (masked.some(Boolean)) {
        if (out.mustStop()) break;
        const logits = await this.step(cache, tokens, positions);
        forwardPasses++;
        // Never predict the mask token itself.
        for (let i = 0; i < B; i++) logits[i * vocab + this.maskTokenId] = -Infinity;
        const candidates: { index: number; token: number; confidence: number }[] = [];
        for (let i = 0; i < B; i++) {
          if (!masked[i]) continue;
          const [rows, offset] = this.shift ? (i === 0 ? [previousRow!, 0] : [logits, (i - 1) * vocab]) : [logits, i * vocab];
          const token = sampler.next(rows, offset, vocab);
          candidates.push({ index: i, token, confidence: probabilityOf(rows, offset, vocab, token, temperature) });
        }
        let chosen = candidates.filter((c) => c.confidence > this.threshold);
        if (chosen.length === 0) chosen = [candidates.reduce((a, b) => (b.confidence > a.confidence ? b : a))];
        for (const c of chosen) {
          tokens[c.index] = c.token;
          masked[c.index] = false;
        }
        // Stream the block's decided prefix as it grows.
        while (emitted < B && !masked[emitted] && !out.offer(tokens[emitted])) emitted++;
        if (out.ended) break;
      }
      if (out.ended) break;
      const r = await engine.forward(cache, tokens, { positions, mask: blockCausalMask(cache.length, positions, B), logits: 'all' });
      forwardPasses++;
      previousRow = r.logits.slice((B - 1) * vocab);
      fixed = [];
    }
    return { ...out.finish(), forwardPasses, decodePasses: forwardPasses - prefill, draftsProposed: 0, draftsAccepted: 0 };
  }
}
