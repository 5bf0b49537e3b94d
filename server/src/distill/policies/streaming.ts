// StreamingLLM (Xiao et al., 2023): attention sinks (the first few slots) + a recent window.
import type { CachePolicy, CompressionContext } from './policy';
import { recentSlots } from './policy';

export function streamingPolicy(sinks = 4): CachePolicy {
  return {
    name: 'streaming',
    needs: { logProbs: false },
    async selectKeep({ cache, target }: CompressionContext) {
      const sinkCount = Math.min(sinks, target, cache.length);
      const sinkSlots = Array.from({ length: sinkCount }, (_, i) => i);
      const recent = recentSlots(cache.length, target - sinkCount).filter((s) => s >= sinkCount);
      return [...sinkSlots, ...recent];
    },
  };
}
