// H2O (Zhang et al., 2023): keep "heavy hitters" by attention accumulated from every later query,
// plus a recent window (half the budget each, as in the paper's default).
import type { CachePolicy, CompressionContext } from './policy';
import { recentSlots, topK } from './policy';

export function h2oPolicy(recentShare = 0.5): CachePolicy {
  return {
    name: 'h2o',
    needs: { logProbs: false, attentionRows: (q) => new Float32Array(q).fill(1) },
    async selectKeep({ cache, stats, target }: CompressionContext) {
      const recent = recentSlots(cache.length, Math.floor(target * recentShare));
      const recentSet = new Set(recent);
      const others = Array.from({ length: cache.length }, (_, i) => i).filter((s) => !recentSet.has(s));
      return [...topK(stats.accumulated, target - recent.length, others), ...recent];
    },
  };
}
