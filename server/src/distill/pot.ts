// The pot: a KV cache of at most `budget` slots that a stream of any length flows through
// (InfiniPot's continual context distillation). Each chunk is appended; when the pot overflows its
// budget, the policy picks the slots to keep and the cache keeps them. CR-RoPE re-positions the kept
// slots to 0..kept-1 so positions stay within the trained context however long the repository; with a
// `positionLimit`, only when the next chunk would pass it, because until then the slots' original
// positions read better (see PotOptions.positionLimit).

import type { Engine } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import { logProbOf } from '../engine/sampling';
import { throwIfAborted } from '../util/abort';
import type { CachePolicy, SlotStats } from './policies/policy';
import type { SlotSource } from './provenance';

export interface PotOptions {
  budget: number;
  policy: CachePolicy;
  /**
   * Slots left after a compression (default: the budget). Compressing below the budget means the
   * next chunks fit without scoring again, so the cost of each compression is shared by several.
   */
  compressTo?: number;
  /**
   * The largest position a slot may take (the model's trained context less room for a question). Kept slots keep
   * their original positions until a chunk would pass it; only then does CR-RoPE re-pack them to 0..kept-1.
   * Absent: re-pack at every compression, as the paper does. Why: moving kept slots closer to the question changes
   * every question-to-slot distance, and the built-in model then misreads what it kept — with the evidence kept
   * and positions re-packed, 0 of 3 held-out where-answers that the full cache got right; with original
   * positions, 3 of 3 (docs/benchmarks.md, "Positions after compression").
   */
  positionLimit?: number;
  /**
   * How kept slots are re-packed when positions run out: 'rotate' (default) re-rotates their keys to 0..kept-1
   * (CR-RoPE); 'reencode' runs the kept tokens again as one contiguous text, so their K/V are what the model computes
   * for that text (the model was trained on contiguous text; a cache without its tokens, e.g. a pot saved before
   * format 3, falls back to 'rotate').
   */
  repack?: 'rotate' | 'reencode';
}

export interface PotStats {
  tokensSeen: number;
  tokensKept: number;
  budget: number;
  compressions: number;
  /** Milliseconds spent scoring and evicting (vs streaming chunks in). */
  compressMs: number;
  prefillMs: number;
  /** Largest RoPE position ever given to a slot. */
  maxPosition: number;
  cacheBytes: number;
}

export class Pot {
  readonly cache: KvCache<SlotSource>;
  readonly stats: SlotStats = { nll: [], accumulated: [], recent: [], tokens: [] };
  private tokensSeen = 0;
  private compressions = 0;
  private compressMs = 0;
  private prefillMs = 0;
  private maxPosition = -1;

  constructor(
    readonly engine: Engine,
    readonly options: PotOptions,
    cache?: KvCache<SlotSource>,
  ) {
    if (!Number.isInteger(options.budget) || options.budget < 1) throw new RangeError(`pot: budget must be a positive integer (got ${options.budget})`);
    this.cache = cache ?? engine.newCache<SlotSource>(options.budget + 1024);
    if (cache) this.resetStats();
  }

  /** Streams one chunk into the pot, compressing first if it would overflow. */
  async append(tokens: readonly number[], sources: readonly SlotSource[], signal?: AbortSignal): Promise<void> {
    if (tokens.length === 0) return;
    if (sources.length !== tokens.length) throw new RangeError(`pot: ${sources.length} sources for ${tokens.length} tokens`);
    const { policy } = this.options;
    const vocab = this.engine.config.vocabSize;
    const started = performance.now();
    const limit = this.options.positionLimit;
    if (limit !== undefined && this.cache.length > 0 && this.cache.nextPosition() + tokens.length > limit) await this.repack();
    const previousLogits = this.cache.lastLogits;
    const rowsFor = policy.needs.attentionRows;
    const result = await this.engine.forward(this.cache, tokens, {
      tags: sources,
      logits: policy.needs.logProbs ? 'all' : 'last',
      attentionRows: rowsFor ? rowsFor(tokens.length) : undefined,
    });
    this.prefillMs += performance.now() - started;
    for (let i = 0; i < tokens.length; i++) {
      let nll = NaN;
      if (policy.needs.logProbs) {
        if (i > 0) nll = -logProbOf(result.logits, (i - 1) * vocab, vocab, tokens[i]);
        else if (previousLogits) nll = -logProbOf(previousLogits, 0, vocab, tokens[0]);
      }
      this.stats.nll.push(nll);
      this.stats.accumulated.push(0);
      this.stats.recent.push(0);
      this.stats.tokens.push(tokens[i]);
    }
    if (result.attentionMass) {
      const length = this.cache.length;
      this.stats.recent = new Array<number>(length).fill(0);
      for (const layer of result.attentionMass) {
        for (let s = 0; s < length; s++) {
          this.stats.accumulated[s] += layer[s];
          this.stats.recent[s] += layer[s];
        }
      }
    }
    this.tokensSeen += tokens.length;
    this.trackPositions();
    if (!policy.compressesOnlyAtEnd && this.cache.length > this.options.budget) {
      await this.compress(Math.min(this.options.budget, this.options.compressTo ?? this.options.budget));
    }
    throwIfAborted(signal);
  }

  /** End of stream: one-shot policies (SnapKV) compress now; others are already within budget. */
  async finish(): Promise<void> {
    if (this.options.policy.name !== 'full' && this.cache.length > this.options.budget) await this.compress(this.options.budget);
  }

  /** Drops every slot of `file` (freshness: the file changed or was deleted), then re-packs positions. */
  dropFile(file: string): number {
    const tags = this.cache.tags();
    const keep: number[] = [];
    tags.forEach((t, s) => {
      if (!t || t.file !== file) keep.push(s);
    });
    const dropped = this.cache.length - keep.length;
    if (dropped > 0) this.keepSlots(keep);
    return dropped;
  }

  summary(): PotStats {
    return {
      tokensSeen: this.tokensSeen,
      tokensKept: this.cache.length,
      budget: this.options.budget,
      compressions: this.compressions,
      compressMs: this.compressMs,
      prefillMs: this.prefillMs,
      maxPosition: this.maxPosition,
      cacheBytes: this.cache.bytes,
    };
  }

  /** Restores counters saved with a snapshot. */
  restoreCounters(saved: Pick<PotStats, 'tokensSeen' | 'compressions'>): void {
    this.tokensSeen = saved.tokensSeen;
    this.compressions = saved.compressions;
  }

  private async compress(target: number): Promise<void> {
    const started = performance.now();
    const keep = await this.options.policy.selectKeep({ engine: this.engine, cache: this.cache, stats: this.stats, target });
    if (keep.length > target) throw new Error(`policy ${this.options.policy.name} kept ${keep.length} slots for a target of ${target}`);
    this.keepSlots(keep);
    this.compressions++;
    this.compressMs += performance.now() - started;
  }

  /** keep + CR-RoPE, with the per-slot statistics kept aligned. */
  private keepSlots(slots: readonly number[]): void {
    const sorted = [...new Set(slots)].sort((a, b) => a - b);
    const pick = (xs: number[]) => sorted.map((s) => xs[s]);
    this.stats.nll = pick(this.stats.nll);
    this.stats.accumulated = pick(this.stats.accumulated);
    this.stats.recent = pick(this.stats.recent);
    this.stats.tokens = this.stats.tokens.length === this.cache.length ? pick(this.stats.tokens) : [];
    this.cache.keep(sorted);
    if (this.options.positionLimit === undefined) this.cache.compactPositions(0);
  }

  private resetStats(): void {
    const n = this.cache.length;
    this.stats.nll = new Array<number>(n).fill(NaN);
    this.stats.accumulated = new Array<number>(n).fill(0);
    this.stats.recent = new Array<number>(n).fill(0);
    this.stats.tokens = [];
  }

  /** Positions ran out: re-pack the kept slots to 0..kept-1, by re-rotation or by re-encoding their tokens. */
  private async repack(): Promise<void> {
    const tokens = this.stats.tokens;
    if (this.options.repack !== 'reencode' || tokens.length !== this.cache.length) {
      this.cache.compactPositions(0);
      return;
    }
    const started = performance.now();
    const tags = this.cache.tags();
    this.cache.truncate(0);
    await this.engine.forward(this.cache, tokens, { tags, logits: 'last' });
    this.compressMs += performance.now() - started;
  }

  private trackPositions(): void {
    const last = this.cache.length - 1;
    if (last >= 0) this.maxPosition = Math.max(this.maxPosition, this.cache.position(last));
  }
}
