// Confidence mode (lossy): Fast-dLLM's threshold rule on top of the parallel decoder. After the first position
// where the drafts were wrong, later positions of the same block (whose rows saw the wrong draft) are still kept
// while the model's probability for the token it picks there exceeds τ (default 0.9); at least one new token per
// pass is always kept (the exact part guarantees it). With τ > 1 it is exactly the parallel exact decoder.

import type { Engine } from '../engine/engine';
import { ParallelDecoder, type ParallelOptions } from './parallelExact';

export const DEFAULT_THRESHOLD = 0.9;

export interface ConfidenceOptions extends ParallelOptions {
  /** τ: keep a position whose picked token has probability above this (default 0.9). */
  threshold?: number;
}

export function confidenceDecoder(engine: Engine, options: ConfidenceOptions = {}): ParallelDecoder {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (!(threshold >= 0)) throw new RangeError(`confidence decoder: threshold must be ≥ 0 (got ${threshold})`);
  return new ParallelDecoder(engine, options, { accept: (confidence) => confidence > threshold });
}
