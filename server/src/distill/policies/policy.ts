// The contract every cache policy implements. Policies are written only in terms of the cache's
// verbs (keep + re-position) and per-slot scores; the pot drives them.

import type { Engine } from '../../engine/engine';
import type { KvCache } from '../../engine/kvCache';
import type { SlotSource } from '../provenance';

import type { PolicyName } from '../../vocab';

export { POLICY_NAMES, type PolicyName } from '../../vocab';

/** Per-slot statistics the pot keeps aligned with the cache (same order, same length). */
export interface SlotStats {
  /** Negative log-likelihood of the token when it streamed in (NuC's surprise). */
  nll: number[];
  /** Attention received from all later queries (H2O's accumulated score). */
  accumulated: number[];
  /** Attention from the most recent query row (TOVA's score). */
  recent: number[];
  /** The token each slot holds (re-encoding the kept slots needs it; see PotOptions.repack). */
  tokens: number[];
}

export interface CompressionContext {
  engine: Engine;
  cache: KvCache<SlotSource>;
  stats: SlotStats;
  /** Slots to keep after compression. */
  target: number;
}

export interface CachePolicy {
  readonly name: PolicyName;
  /** What the pot must compute while streaming chunks for this policy. */
  readonly needs: {
    logProbs: boolean;
    /** Weights of each chunk row whose attention the pot records (accumulated and most recent). */
    attentionRows?: (q: number) => Float32Array;
  };
  /** When true the pot never compresses while streaming (full cache, SnapKV's one-shot). */
  readonly compressesOnlyAtEnd?: boolean;
  /** Chooses the slots to keep (any order). Must return exactly min(target, cache.length) slots. */
  selectKeep(context: CompressionContext): Promise<number[]>;
}

/** Indices of the `k` largest scores among `candidates` (stable for ties: earlier slot wins). */
export function topK(scores: ArrayLike<number>, k: number, candidates?: readonly number[]): number[] {
  const pool = candidates ? [...candidates] : Array.from({ length: scores.length }, (_, i) => i);
  pool.sort((a, b) => scores[b] - scores[a] || a - b);
  return pool.slice(0, Math.max(0, k));
}

/**
 * Per-slot attention mass that the query rows of `tokens`, each weighted `rowWeight`, put on the first `slots`
 * slots of `cache` (default: all), summed over layers. The tokens run without being appended. InfiniPot's
 * catalyst (CaP) and an answer's citations both rank slots by it.
 */
export async function attentionMass<Tag>(engine: Engine, cache: KvCache<Tag>, tokens: readonly number[], rowWeight: number, slots = cache.length): Promise<Float64Array> {
  const rows = new Float32Array(tokens.length).fill(rowWeight);
  const result = await engine.forward(cache, tokens, { attentionRows: rows, append: false, logits: 'last' });
  const mass = new Float64Array(slots);
  for (const layerMass of result.attentionMass ?? []) for (let s = 0; s < slots; s++) mass[s] += layerMass[s];
  return mass;
}

/** The newest `count` slots. */
export function recentSlots(length: number, count: number): number[] {
  const from = Math.max(0, length - count);
  return Array.from({ length: length - from }, (_, i) => from + i);
}
