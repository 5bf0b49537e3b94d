// SnapKV (Li et al., 2024): one-shot compression after a full prefill. The last `window` tokens
// act as observers; their attention, max-pooled over neighbouring slots (kernel 7) so that
// clusters survive together, picks the prefix slots to keep; the window itself is always kept.
import type { CachePolicy, CompressionContext } from './policy';
import { recentSlots, topK } from './policy';

export const SNAPKV_WINDOW = 32;

export function snapkvPolicy(window = SNAPKV_WINDOW, kernel = 7): CachePolicy {
  return {
    name: 'snapkv',
    needs: { logProbs: false, attentionRows: (q) => snapkvRows(q, window) },
    compressesOnlyAtEnd: true,
    async selectKeep({ cache, stats, target }: CompressionContext) {
      const keepWindow = recentSlots(cache.length, Math.min(window, target));
      const windowSet = new Set(keepWindow);
      const half = Math.floor(kernel / 2);
      const pooled = stats.recent.map((_, s) => {
        let m = 0;
        for (let j = Math.max(0, s - half); j <= Math.min(stats.recent.length - 1, s + half); j++) m = Math.max(m, stats.recent[j]);
        return m;
      });
      const prefix = Array.from({ length: cache.length }, (_, i) => i).filter((s) => !windowSet.has(s));
      return [...topK(pooled, target - keepWindow.length, prefix), ...keepWindow];
    },
  };
}

/** Query rows whose attention SnapKV observes: the last `window` rows of the chunk. */
export function snapkvRows(q: number, window = SNAPKV_WINDOW): Float32Array {
  const rows = new Float32Array(q);
  for (let r = Math.max(0, q - window); r < q; r++) rows[r] = 1;
  return rows;
}
