// Shared by the tests that compare two graphs of one model (fused-graph, head-major-cache): random prompts and a
// tree mask, so both comparisons feed the same shapes.
import { MASK_NEG } from '../server/src/graph/contract';
import { seededRandom } from '../server/src/model/randomWeights';

export function randomTokens(n: number, vocab: number, seed: number): number[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, () => Math.floor(rnd() * vocab));
}

/** Tree mask over `q` new tokens: row r sees the cache and its ancestors (r's parent is (r-1)/2). */
export function heapTreeMask(past: number, q: number): Float32Array {
  const total = past + q;
  const mask = new Float32Array(q * total).fill(MASK_NEG);
  for (let r = 0; r < q; r++) {
    for (let c = 0; c < past; c++) mask[r * total + c] = 0;
    for (let a = r; ; a = Math.floor((a - 1) / 2)) {
      mask[r * total + past + a] = 0;
      if (a === 0) break;
    }
  }
  return mask;
}
