// Choosing the next token from a row of logits: greedy, temperature, top-p (nucleus).

import { seededRandom } from '../util/random';

export type Sampling =
  | { kind: 'greedy' }
  | { kind: 'sample'; temperature: number; topP?: number; seed?: number };

export const GREEDY: Sampling = { kind: 'greedy' };

export function argmax(logits: Float32Array, offset = 0, length = logits.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = logits[offset + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** log softmax(row)[token], computed stably. */
export function logProbOf(logits: Float32Array, offset: number, vocab: number, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
  return logits[offset + token] - max - Math.log(sum);
}


/**
 * Row `offset` of `logits` with the tokens `allow` refuses set to -Infinity (a copy, `vocab` long); the row itself (a
 * view) when there is no `allow` or it refuses every token. Every decoder applies a TokenConstraint through this.
 */
export function constrained(logits: Float32Array, offset: number, vocab: number, allow: ((token: number) => boolean) | undefined): Float32Array {
  const row = logits.subarray(offset, offset + vocab);
  if (!allow) return row;
  const masked = row.slice();
  let left = 0;
  for (let i = 0; i < vocab; i++) {
    if (allow(i)) left++;
    else masked[i] = -Infinity;
  }
  return left > 0 ? masked : row;
}

export class Sampler {
  private readonly random: () => number;

  constructor(private readonly sampling: Sampling) {
    if (sampling.kind === 'sample') {
      if (!(sampling.temperature > 0)) throw new RangeError(`sampling: temperature must be > 0 (got ${sampling.temperature})`);
      if (sampling.topP !== undefined && !(sampling.topP > 0 && sampling.topP <= 1)) throw new RangeError(`sampling: topP must be in (0, 1] (got ${sampling.topP})`);
    }
    this.random = sampling.kind === 'sample' && sampling.seed !== undefined ? seededRandom(sampling.seed) : Math.random;
  }

  next(logits: Float32Array, offset = 0, vocab = logits.length - offset): number {
    if (this.sampling.kind === 'greedy') return argmax(logits, offset, vocab);
    const { temperature, topP = 1 } = this.sampling;
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
    const probs = new Float64Array(vocab);
    let sum = 0;
    for (let i = 0; i < vocab; i++) {
      probs[i] = Math.exp((logits[offset + i] - max) / temperature);
      sum += probs[i];
    }
    const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => probs[b] - probs[a]);
    // Nucleus: the smallest prefix of the sorted distribution whose mass reaches topP.
    let kept = 0;
    let mass = 0;
    while (kept < vocab && mass < topP * sum) mass += probs[order[kept++]];
    let r = this.random() * mass;
    for (let i = 0; i < kept; i++) {
      r -= probs[order[i]];
      if (r <= 0) return order[i];
    }
    return order[kept - 1];
  }
}
