// Full cache: never evicts (the upper bound, only while the stream fits the model's context).
import type { CachePolicy, CompressionContext } from './policy';

export function fullPolicy(): CachePolicy {
  return {
    name: 'full',
    needs: { logProbs: false },
    compressesOnlyAtEnd: true,
    async selectKeep({ cache }: CompressionContext) {
      return Array.from({ length: cache.length }, (_, i) => i);
    },
  };
}
