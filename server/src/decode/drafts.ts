// Draft tokens for block verification, from two free sources:
//  - n-gram lookup (prompt-lookup decoding): recent earlier occurrences of the longest suffix of the context
//    (history + prompt + output so far) and the tokens that followed them. Answers about code repeat identifiers,
//    paths and signatures from the repository text, so these copies are often right.
//  - Jacobi iteration: what the previous verification pass predicted for the positions beyond the accepted
//    ones (conditioned on drafts that may have been wrong, but often still right).
//  - a pool of the model's own predictions (lookahead decoding): every row of every pass says what follows its
//    node's last two tokens; chained, they continue phrases the model produced or considered before.
//  - a pointer: the cache slot the model itself attends to most when it starts the answer (its retrieval head, e.g.
//    the header of the file that defines the symbol asked about). The text from there on is copied while the output
//    keeps agreeing with it: where an n-gram of the answer's first token occurs in many places, the pointer says which.
// Several candidate continuations are returned; the decoder verifies them together as a token tree.

export interface DrafterOptions {
  /** Longest suffix matched (default 4); longer matches come first. */
  maxNgram?: number;
  /** Shortest suffix matched (default 1). */
  minNgram?: number;
  /** Candidate continuations per proposal, Jacobi included (default DEFAULT_DRAFT_CANDIDATES; see draftCandidatesFor). */
  maxCandidates?: number;
}

const DEFAULT_DRAFT_CANDIDATES = 4;

/**
 * Candidates worth verifying in a block of `block` tokens. A tree splits its nodes among its candidates, so more of
 * them make each shorter: on the held-out answers (session 24, cf25, `bench decode --draft-candidates`) one candidate
 * gave the most tokens per pass up to block 8 and two from block 16; four (the earlier default) fewer at every block.
 */
export function draftCandidatesFor(block: number): number {
  return block >= 16 ? 2 : 1;
}

/** Occurrences remembered per n-gram (most recent last). */
const OCCURRENCES = 8;
/** Slots from the pointed one in which the output's first token is looked for. */
const POINTER_SLACK = 3;

export class Drafter {
  /** history ‖ prompt ‖ accepted output. */
  private readonly sequence: number[] = [];
  /** Per n: n-gram key → ends (exclusive) of its latest occurrences that have a following token. */
  private readonly ends: Map<string, number[]>[];
  private readonly maxNgram: number;
  private readonly minNgram: number;
  private readonly maxCandidates: number;
  /** Jacobi guesses by output index (index into the decoder's output tokens). */
  private readonly jacobi = new Map<number, number>();
  /**
   * What the model predicted after a pair (and after a single token) in verification passes, wherever that pair
   * sat in the tree (lookahead decoding's n-gram pool): the model's own continuations, reused when they recur.
   */
  private readonly predictedAfterPair = new Map<string, number>();
  private readonly predictedAfterToken = new Map<number, number>();
  private readonly outputStart: number;
  /** The pointer's source text and the index of the token the output should emit next (see pointAt). */
  private pointer: { source: readonly number[]; next: number; anchored: boolean } | undefined;

  constructor(source: readonly number[], options: DrafterOptions = {}) {
    this.maxNgram = Math.max(1, options.maxNgram ?? 4);
    this.minNgram = Math.min(this.maxNgram, Math.max(1, options.minNgram ?? 1));
    this.maxCandidates = Math.max(1, options.maxCandidates ?? DEFAULT_DRAFT_CANDIDATES);
    this.ends = Array.from({ length: this.maxNgram + 1 }, () => new Map<string, number[]>());
    for (const t of source) this.push(t);
    this.outputStart = this.sequence.length;
  }

  /** Records an emitted output token (call in order, once per token). */
  accept(token: number): void {
    this.push(token);
    const p = this.pointer;
    if (!p) return;
    if (!p.anchored) {
      // The pointed slot may hold the copy's first token or sit just before it (a header's marker): anchor on the
      // first of the next POINTER_SLACK slots that holds the token the output began with.
      const at = p.source.slice(p.next, p.next + POINTER_SLACK).indexOf(token);
      this.pointer = at < 0 ? undefined : { source: p.source, next: p.next + at + 1, anchored: true };
    } else if (p.source[p.next] === token) p.next++;
    else this.pointer = undefined; // the output left the pointed text: the n-gram copies take over
  }

  /**
   * Points the drafts at `source[index]`: the output's next token should be that token (or one of the following
   * POINTER_SLACK), and the drafts copy `source` from there while the output agrees with it.
   */
  pointAt(source: readonly number[], index: number): void {
    this.pointer = index >= 0 && index < source.length ? { source, next: index, anchored: false } : undefined;
  }

  /** Output tokens accepted so far. */
  get outputLength(): number {
    return this.sequence.length - this.outputStart;
  }

  /** Remembers `predicted` as the guess for output index `outputIndex` (Jacobi). */
  guess(outputIndex: number, predicted: number): void {
    this.jacobi.set(outputIndex, predicted);
  }

  /** Records that the model, given a context ending in `previous`, `last`, predicted `predicted`. */
  learn(previous: number | undefined, last: number, predicted: number): void {
    if (previous !== undefined) this.predictedAfterPair.set(`${previous},${last}`, predicted);
    this.predictedAfterToken.set(last, predicted);
  }

  /** A chain through the learned predictions, starting after the accepted output. */
  private pooledChain(length: number): number[] {
    const seq = this.sequence;
    const chain: number[] = [];
    const at = (i: number) => (i < seq.length ? seq[i] : chain[i - seq.length]);
    while (chain.length < length) {
      const total = seq.length + chain.length;
      if (total === 0) break;
      const last = at(total - 1);
      const next = (total >= 2 ? this.predictedAfterPair.get(`${at(total - 2)},${last}`) : undefined) ?? this.predictedAfterToken.get(last);
      if (next === undefined) break;
      chain.push(next);
    }
    return chain;
  }

  /**
   * Candidate continuations of the accepted output, best first, each at most `length` tokens: the pointed copy,
   * n-gram copies (longest matching suffix first, most recent occurrence first), then the pooled and Jacobi guesses.
   */
  candidates(length: number): number[][] {
    if (length <= 0) return [];
    // The pointed copy alone while the output follows it: the tree splits its budget among candidates, and the
    // pointer is right far more often than any one n-gram occurrence (it is where the model reads).
    const p = this.pointer;
    if (p?.anchored && p.next < p.source.length) return [p.source.slice(p.next, p.next + length)];
    const out: number[][] = [];
    const seen = new Set<string>();
    const add = (chain: number[]) => {
      if (chain.length === 0 || out.length >= this.maxCandidates) return;
      const key = chain.join(',');
      if (seen.has(key)) return;
      seen.add(key);
      out.push(chain);
    };
    const seq = this.sequence;
    const jacobi: number[] = [];
    for (let i = 0; i < length; i++) {
      const t = this.jacobi.get(this.outputLength + i);
      if (t === undefined) break;
      jacobi.push(t);
    }
    const pooled = this.pooledChain(length);
    // Keep slots for the model's own guesses: they are the only source when the text is new.
    const ngramSlots = Math.max(1, this.maxCandidates - (jacobi.length > 0 ? 1 : 0) - (pooled.length > 0 ? 1 : 0));
    for (let n = Math.min(this.maxNgram, seq.length); n >= this.minNgram && out.length < ngramSlots; n--) {
      const list = this.ends[n].get(keyOf(seq, seq.length - n, n));
      if (!list) continue;
      for (let k = list.length - 1; k >= 0 && out.length < ngramSlots; k--) add(copyFrom(seq, list[k], length));
    }
    add(pooled);
    add(jacobi);
    return out;
  }

  private push(token: number): void {
    const seq = this.sequence;
    seq.push(token);
    const end = seq.length - 1; // the n-grams ending just before `token` now have a follower
    for (let n = 1; n <= this.maxNgram && n <= end; n++) {
      const key = keyOf(seq, end - n, n);
      const map = this.ends[n];
      const list = map.get(key);
      if (!list) map.set(key, [end]);
      else {
        list.push(end);
        if (list.length > OCCURRENCES) list.shift();
      }
    }
  }
}

/** `length` tokens from `from`; a copy that runs into the present continues from its own start (LZ77-style repeats). */
function copyFrom(seq: readonly number[], from: number, length: number): number[] {
  const chain: number[] = [];
  for (let i = from; chain.length < length; i++) chain.push(i < seq.length ? seq[i] : chain[i - seq.length]);
  return chain;
}

function keyOf(seq: readonly number[], start: number, n: number): string {
  let key = String(seq[start]);
  for (let i = 1; i < n; i++) key += ',' + seq[start + i];
  return key;
}
