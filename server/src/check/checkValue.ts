// "What does constant X equal?": the literal occurs on a line that assigns X (following `X = Y` to Y's
// assignment, for the multi-hop "what value does X resolve to" form).
import { answerValue, escapeRegExp } from './answerText';
import { bareName, definitionsOf, type Located } from './definitions';
import type { AnswerCheck, ParsedQuestion, RepoView } from './types';

const MAX_HOPS = 2;

/** Quoted strings compare by content in any quote style; other literals as whole tokens (12 is not in 128). */
export function literalOccurs(haystack: string, literal: string): boolean {
  const lit = literal.trim();
  if (!lit) return false;
  const quoted = /^(['"`])(.*)\1$/s.exec(lit);
  if (quoted) return ['"', "'", '`'].some((q) => haystack.includes(q + quoted[2] + q));
  return new RegExp(`(?<![\\w.$])${escapeRegExp(lit)}(?![\\w.$])`).test(haystack);
}

function valueMatches(d: Located, literal: string): boolean {
  return d.value !== undefined && literalOccurs(d.value, literal);
}

export async function checkValue(q: ParsedQuestion, answer: string, repo: RepoView, signal?: AbortSignal): Promise<AnswerCheck> {
  const name = bareName(q.symbol);
  const literal = answerValue(answer, name);
  if (!literal) return { status: 'not-found', kind: 'value', detail: 'the answer gives no value' };
  let names = [name];
  const seen = new Set<string>();
  let assigned = false;
  for (let hop = 0; hop <= MAX_HOPS && names.length > 0; hop++) {
    const next: string[] = [];
    for (const n of names) {
      if (seen.has(n)) continue;
      seen.add(n);
      const defs = (await definitionsOf(repo, n, signal, q.via ? [q.via] : [])).filter((d) => d.value !== undefined);
      assigned ||= defs.length > 0;
      const hit = defs.find((d) => valueMatches(d, literal));
      if (hit) return { status: 'checked', kind: 'value', file: hit.file, line: hit.line, detail: `${hit.file} assigns \`${hit.name}\` = ${literal}` };
      // `X = Y`: Y's value is X's value.
      for (const d of defs) if (d.value && /^[A-Za-z_$][\w$.]*$/.test(d.value.trim())) next.push(bareName(d.value.trim()));
    }
    names = next;
  }
  return { status: 'not-found', kind: 'value', detail: assigned ? `no assignment of \`${name}\` has the value ${literal}` : `no assignment of \`${name}\` in the repository` };
}
