// Draft tokens for block verification, from two free sources:
//  - n-gram lookup (prompt-lookup decoding): the longest recent suffix of the context (history + prompt + output
//    so far) that occurred before, and the tokens that followed it then. Answers about code repeat identifiers,
//    paths and signatures from the repository text, so these copies are often right.
//  - Jacobi iteration: what the previous verification pass predicted for the positions beyond the accepted
//    ones (conditioned on drafts that may have been wrong, but often still right).

export interface DrafterOptions {
  /** Longest suffix matched (default 4); longer matches are preferred. */
  maxNgram?: number;
  /** Shortest suffix matched (default 1). */
  minNgram?: number;
}

export class Drafter {
  /** history ‖ prompt ‖ accepted output. */
  private readonly sequence: number[] = [];
  /** Per n: n-gram key → end (exclusive) of its latest occurrence that has a following token. */
  private readonly latest: Map<string, number>[];
  private readonly maxNgram: number;
  private readonly minNgram: number;
  /** Jacobi guesses by output index (index into the decoder's output tokens). */
  private jacobi = new Map<number, number>();
  private outputStart: number;

  constructor(source: readonly number[], options: DrafterOptions = {}) {
    this.maxNgram = Math.max(1, options.maxNgram ?? 4);
    this.minNgram = Math.min(this.maxNgram, Math.max(1, options.minNgram ?? 1));
    this.latest = Array.from({ length: this.maxNgram + 1 }, () => new Map<string, number>());
    for (const t of source) this.push(t);
    this.outputStart = this.sequence.length;
  }

  /** Records an accepted output token (call in order, once per token). */
  accept(token: number): void {
    this.push(token);
  }

  /** Remembers `predicted` as the guess for output index `outputIndex` (Jacobi). */
  guess(outputIndex: number, predicted: number): void {
    this.jacobi.set(outputIndex, predicted);
  }

  /** Up to `count` drafts for the output positions after the accepted ones and `pending` (decided, not yet accepted here). */
  propose(count: number, pending: readonly number[] = []): { tokens: number[]; source: 'ngram' | 'jacobi' | 'none' } {
    if (count <= 0) return { tokens: [], source: 'none' };
    const context = pending.length ? [...this.sequence, ...pending] : this.sequence;
    const strong = this.ngramChain(context, count, 2);
    if (strong.length > 0) return { tokens: strong, source: 'ngram' };
    const firstIndex = this.sequence.length - this.outputStart + pending.length;
    const jacobi: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = this.jacobi.get(firstIndex + i);
      if (t === undefined) break;
      jacobi.push(t);
    }
    if (jacobi.length > 0) return { tokens: jacobi, source: 'jacobi' };
    const weak = this.ngramChain(context, count, this.minNgram);
    return weak.length > 0 ? { tokens: weak, source: 'ngram' } : { tokens: [], source: 'none' };
  }

  /** Copies continuations, looking up again after each copied run so one proposal can fill the block. */
  private ngramChain(context: readonly number[], count: number, minimum: number): number[] {
    const out: number[] = [];
    const view = (i: number) => (i < context.length ? context[i] : out[i - context.length]);
    let total = context.length;
    while (out.length < count) {
      let from = -1;
      for (let n = Math.min(this.maxNgram, total); n >= Math.max(minimum, this.minNgram); n--) {
        const key = keyOf(view, total - n, n);
        const end = this.latest[n].get(key);
        if (end !== undefined && end < total) {
          from = end;
          break;
        }
      }
      if (from < 0) break;
      // Copy the continuation (it may run into the tokens just copied, LZ77-style: that is how repeats extend).
      const before = out.length;
      for (let i = from; out.length < count && out.length - before < 64 && i < context.length + out.length; i++) out.push(view(i));
      if (out.length === before) break;
      total = context.length + out.length;
      minimum = Math.max(minimum, 2); // chained lookups only on strong matches
    }
    return out;
  }

  private push(token: number): void {
    const seq = this.sequence;
    seq.push(token);
    const end = seq.length - 1; // the n-grams ending just before `token` now have a follower
    for (let n = 1; n <= this.maxNgram && n <= end; n++) this.latest[n].set(keyOf((i) => seq[i], end - n, n), end);
  }
}

function keyOf(at: (i: number) => number, start: number, n: number): string {
  let key = String(at(start));
  for (let i = 1; i < n; i++) key += ',' + at(start + i);
  return key;
}
