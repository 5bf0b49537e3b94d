// Path snapping: an answer that has begun to write a workspace path finishes it as a real path. A small model copies
// a path's first tokens from the context and then drifts into a more familiar continuation (`src/c` + `ookie.ts` for
// `src/cart.ts`, when `cookie` was common in training); the answer then names a file that does not exist. Once the
// item being written (the text after the last space or comma) contains `/` or `.` and is a prefix of a workspace path,
// only tokens that keep it a prefix of one are allowed, and a separator or an end token only once it is a whole path.
// The model still chooses which path; the snap only removes the drift. Anything that is not a path prefix (a value,
// a name, a path the workspace does not have) is left alone.
//
// `fromStart` (a where-question, whose answer is one file): the snap holds from the answer's first token, so the
// first item must begin one of `paths`; a model that drifts at its first token (`RE` + `INVALID.js`, copied from an
// `EINVAL` in the code) still chooses among the files, by its own scores.

import type { Tokenizer } from '../model/tokenizer';

/** Given the answer's text so far: the tokens allowed next, or undefined when the snap does not apply. */
export type TokenConstraint = (text: string) => ((token: number) => boolean) | undefined;

/** Each token's text, per tokenizer. */
const tokenTexts = new WeakMap<Tokenizer, Map<number, string>>();

/**
 * A token's text, decoded once per tokenizer and shared by every snap (a large vocabulary is decoded once, not once
 * per answer).
 */
export function tokenTextOf(tokenizer: Tokenizer): (token: number) => string {
  const texts = tokenTexts.get(tokenizer) ?? new Map<number, string>();
  tokenTexts.set(tokenizer, texts);
  return (id: number): string => {
    let t = texts.get(id);
    if (t === undefined) texts.set(id, (t = tokenizer.decode([id], { skipSpecial: false })));
    return t;
  };
}

/** A control token (`<|end|>` and the like): it ends an answer. */
export function isSpecialText(text: string): boolean {
  return /^<\|[^|]*\|>$/.test(text) || text === '</s>' || text === '<s>';
}

/** Ends an item: whitespace, list and quote punctuation. */
const SEPARATOR = /^[\s,;)\]`'"]/;

export interface PathSnapOptions {
  /** The first item is constrained from its first token (not only once it has a `/` or `.`): it must be one of `paths`. */
  fromStart?: boolean;
}

/**
 * The snap for `paths` (workspace-relative, as the pot's headers write them). Token texts are decoded once, lazily;
 * special tokens (`<|end|>` and the like) count as separators.
 */
export function pathSnap(paths: readonly string[], tokenizer: Tokenizer, options: PathSnapOptions = {}): TokenConstraint {
  const unique = [...new Set(paths.filter((p) => p.length > 0))];
  const textOf = tokenTextOf(tokenizer);
  let sortedPaths: string[] | undefined;
  return (text: string) => {
    const item = /[^\s,;()[\]`'"]*$/.exec(text)![0];
    // The answer's first item, under fromStart: nothing before it but whitespace.
    const first = options.fromStart === true && unique.length > 0 && text.trimStart() === item;
    if (first && item.length === 0) {
      // Not begun: a token that begins a path (after whitespace, when none came yet), or whitespace alone before it.
      // Every token of the vocabulary is asked once: a binary search over the sorted paths answers each (a set of
      // every prefix would hold millions of strings in a large workspace).
      const sorted = (sortedPaths ??= [...unique].sort());
      return (token: number) => {
        const t = textOf(token);
        if (t.length === 0 || isSpecialText(t)) return false;
        const begun = t.trimStart();
        if (begun.length === 0) return text.length === 0;
        if (begun.length < t.length && text.length > 0) return false;
        return beginsSome(sorted, begun);
      };
    }
    if (item.length === 0 || (!first && !/[/.]/.test(item))) return undefined;
    const rests = unique.filter((p) => p.startsWith(item)).map((p) => p.slice(item.length));
    if (rests.length === 0) return undefined;
    const complete = rests.includes('');
    const longer = rests.filter((r) => r.length > 0);
    return (token: number) => {
      const t = textOf(token);
      if (t.length === 0) return false;
      if (isSpecialText(t) || SEPARATOR.test(t)) return complete;
      return longer.some((r) => r.startsWith(t));
    };
  };
}

/** Whether some string of `sorted` (ascending) starts with `prefix`: the first one not below it is the only candidate. */
export function beginsSome(sorted: readonly string[], prefix: string): boolean {
  const lo = firstNotBelow(sorted, prefix);
  return lo < sorted.length && sorted[lo].startsWith(prefix);
}

/** The index of the first string of `sorted` (ascending) that is not below `key` (binary search). */
export function firstNotBelow(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
