// "What does constant X equal?": the answer is the whole value of an assignment of X (following `X = Y` to Y's
// assignment, for the multi-hop "what value does X resolve to" form).
import { answerValue } from './answerText';
import { bareName, definitionsOf, type Located } from './definitions';
import type { AnswerCheck, ParsedQuestion, RepoView } from './types';

const MAX_HOPS = 2;

/**
 * The answer is the whole assigned value: `1` is not what `1 << 16` equals, and 12 is not 128. Quoted strings
 * compare by content in any quote style; whitespace, a closing `;`, a trailing comment and `as const` do not count.
 */
export function valueEquals(assigned: string, literal: string): boolean {
  const a = normalisedValue(assigned), l = normalisedValue(literal);
  if (!a || !l) return false;
  const qa = /^(['"`])(.*)\1$/s.exec(a), ql = /^(['"`])(.*)\1$/s.exec(l);
  if (qa && ql) return qa[2] === ql[2];
  return a === l;
}

/** A value as its assignment writes it, without what follows it on the line: a closing `;`, a comment, `as const`. */
export function valueAsWritten(v: string): string {
  let t = v.trim();
  // a trailing `// …` or `# …` comment, when what precedes it closes every quote it opens
  const comment = /\s(?:\/\/|#)[^'"`]*$/.exec(t);
  if (comment && !/['"`]/.test(t.slice(comment.index)) && quotesClosed(t.slice(0, comment.index))) t = t.slice(0, comment.index).trim();
  return t.replace(/;\s*$/, '').replace(/\s+as\s+const$/, '').trim();
}

function normalisedValue(v: string): string {
  const t = valueAsWritten(v);
  // whitespace is style (`1<<16` is `1 << 16`) except between two words and inside quotes (kept as written)
  return /['"`]/.test(t) ? t : t.replace(/\s+/g, ' ').replace(/ (?=[^\w$])|(?<=[^\w$]) /g, '');
}

function quotesClosed(t: string): boolean {
  let open: string | undefined;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (open) { if (c === '\\') i++; else if (c === open) open = undefined; } else if (c === "'" || c === '"' || c === '`') open = c;
  }
  return open === undefined;
}

function valueMatches(d: Located, literal: string): boolean {
  return d.value !== undefined && valueEquals(d.value, literal);
}

export async function checkValue(q: ParsedQuestion, answer: string, repo: RepoView, signal?: AbortSignal): Promise<AnswerCheck> {
  const name = bareName(q.symbol);
  const literal = answerValue(answer, name);
  if (!literal) return { status: 'not-found', kind: 'value', detail: 'the answer gives no value' };
  let names = [name];
  const seen = new Set<string>();
  let first: Located | undefined;
  for (let hop = 0; hop <= MAX_HOPS && names.length > 0; hop++) {
    const next: string[] = [];
    for (const n of names) {
      if (seen.has(n)) continue;
      seen.add(n);
      const defs = (await definitionsOf(repo, n, signal, q.via ? [q.via] : [])).filter((d) => d.value !== undefined);
      first ??= defs[0];
      const hit = defs.find((d) => valueMatches(d, literal));
      if (hit) return { status: 'checked', kind: 'value', file: hit.file, line: hit.line, detail: `${hit.file} assigns \`${hit.name}\` = ${literal}` };
      // `X = Y`: Y's value is X's value.
      for (const d of defs) if (d.value && /^[A-Za-z_$][\w$.]*$/.test(d.value.trim())) next.push(bareName(d.value.trim()));
    }
    names = next;
  }
  if (!first) return { status: 'not-found', kind: 'value', detail: `no assignment of \`${name}\` in the repository` };
  return { status: 'not-found', kind: 'value', detail: `no assignment of \`${name}\` has the value ${literal}; ${first.file}:${first.line} assigns \`${first.name}\` = ${oneLine(first.value!)}` };
}

function oneLine(v: string): string {
  const t = v.trim().split('\n')[0];
  return t.length > 60 ? t.slice(0, 57) + '…' : t;
}
