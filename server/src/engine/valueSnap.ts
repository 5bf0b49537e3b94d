// Value snapping: the answer to "what does X equal?" is written as one whole value that the workspace assigns, and the
// answer to "what parameters does X take?" as one whole parameter list it defines. A small model copies the first
// tokens and then fails to stop: it repeats an unclosed string (`'Content-Length: '` to the token limit), runs into the
// next word (`1mail` for `1`), ends an expression after its first token, or adds a parameter of its own. Under the snap
// the answer, from its first token, stays a prefix of one of the choices, and it may end (a control token) only where
// one is complete. The model still chooses which, by its own scores: the snap removes the drift, not the choice. The
// choices come from the files that name what the question asks about (distiller.ts, snapChoices).

import type { Tokenizer } from '../model/tokenizer';
import { beginsSome, firstNotBelow, isSpecialText, tokenTextOf, type TokenConstraint } from './pathSnap';

/** The snap over `values` (as written: `'utf32le'`, `1 << 16`, `reader, writer`); undefined when there are none. */
export function valueSnap(values: readonly string[], tokenizer: Tokenizer): TokenConstraint | undefined {
  const sorted = [...new Set(values.map((v) => v.trim()).filter((v) => v.length > 0))].sort();
  if (sorted.length === 0) return undefined;
  const whole = new Set(sorted);
  const textOf = tokenTextOf(tokenizer);
  return (text: string) => {
    const written = text.trimStart();
    if (written.length === 0) {
      // Not begun: whitespace alone (before anything else), or a token that begins a value.
      return (token: number) => {
        const t = textOf(token);
        if (t.length === 0 || isSpecialText(t)) return false;
        const begun = t.trimStart();
        return begun.length === 0 ? text.length === 0 : beginsSome(sorted, begun);
      };
    }
    const rests = prefixed(sorted, written).map((v) => v.slice(written.length));
    if (rests.length === 0) return undefined; // already off every value: leave it alone
    const complete = whole.has(written);
    const longer = rests.filter((r) => r.length > 0);
    return (token: number) => {
      const t = textOf(token);
      if (t.length === 0) return false;
      if (isSpecialText(t)) return complete;
      return longer.some((r) => r.startsWith(t));
    };
  };
}

/** The strings of `sorted` (ascending) that start with `prefix`: one contiguous run. */
function prefixed(sorted: readonly string[], prefix: string): string[] {
  const out: string[] = [];
  for (let i = firstNotBelow(sorted, prefix); i < sorted.length && sorted[i].startsWith(prefix); i++) out.push(sorted[i]);
  return out;
}
