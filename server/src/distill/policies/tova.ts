// TOVA (Oren et al., 2024): evict the slots the most recent query attends to least.
import type { CachePolicy, CompressionContext } from './policy';
import { topK } from './policy';

/** Only the newest row observes: TOVA scores by the latest query's attention. */
function lastRow(q: number): Float32Array {
  const rows = new Float32Array(q);
  rows[q - 1] = 1;
  return rows;
}

export function tovaPolicy(): CachePolicy {
  return {
    name: 'tova',
    needs: { logProbs: false, attentionRows: lastRow },
    async selectKeep({ stats, target }: CompressionContext) {
      return topK(stats.recent, target);
    },
  };
}
