// Random eviction: the floor every scored policy must beat.
import { seededRandom } from '../../util/random';
import type { CachePolicy, CompressionContext } from './policy';

export function randomPolicy(seed = 1): CachePolicy {
  const random = seededRandom(seed);
  return {
    name: 'random',
    needs: { logProbs: false },
    async selectKeep({ cache, target }: CompressionContext) {
      const slots = Array.from({ length: cache.length }, (_, i) => i);
      for (let i = slots.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [slots[i], slots[j]] = [slots[j], slots[i]];
      }
      return slots.slice(0, target);
    },
  };
}
