// Query-aware refinement (InfiniPot's CaP with the question itself as the catalyst): just before
// answering, score the pot's slots by the attention the question's rows put on them and keep only
// the best share at their positions (re-packing them would change every question-to-slot distance, which the
// built-in model misreads: docs/benchmarks.md, "Positions after compression"). Runs on the ask's clone of the
// pot, so the saved pot stays question-agnostic.

import type { Engine } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import { catalystScores } from './policies/infinipot';
import { topK } from './policies/policy';
import type { SlotSource } from './provenance';

export async function refineForQuestion(engine: Engine, cache: KvCache<SlotSource>, questionTokens: number[], keepShare: number): Promise<void> {
  if (!(keepShare > 0 && keepShare <= 1)) throw new RangeError(`refine: keep share must be in (0, 1] (got ${keepShare})`);
  const target = Math.max(1, Math.round(cache.length * keepShare));
  if (target >= cache.length || questionTokens.length === 0) return;
  const scores = await catalystScores(engine, cache, questionTokens);
  const keep = topK(scores, target).sort((a, b) => a - b);
  cache.keep(keep);
}
