// "What parameters does f take?": the list matches the parameters of a definition of f.
import { answerParams } from './answerText';
import { definitionsOf, namesViaImport, type Located } from './definitions';
import type { AnswerCheck, ParsedQuestion, RepoView } from './types';

/** Names without their `...`/`*`/`**`/`&` marks. */
function bare(params: readonly string[]): string[] {
  return params.map((p) => p.replace(/^(\.\.\.|\*\*|\*|&)/, ''));
}

/** Same names in the same order; a method's (not a function's) leading `self`/`cls` may be left out of the answer. */
export function sameParameters(defined: readonly string[], answered: readonly string[], method = false): boolean {
  const d = bare(defined);
  const a = bare(answered);
  const eq = (x: string[], y: string[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(d, a) || (method && d.length > 0 && /^(self|cls)$/.test(d[0]) && eq(d.slice(1), a));
}

function signature(d: Located): string {
  return `(${(d.params ?? []).join(', ')})`;
}

export async function checkParams(q: ParsedQuestion, answer: string, repo: RepoView, signal?: AbortSignal): Promise<AnswerCheck> {
  const names = await namesViaImport(repo, q.symbol, q.via);
  const name = names[names.length - 1];
  const answered = answerParams(answer);
  if (!answered) return { status: 'not-found', kind: 'params', detail: 'the answer is not a parameter list' };
  const fns: Located[] = [];
  for (const n of names) fns.push(...(await definitionsOf(repo, n, signal, q.via ? [q.via] : [])).filter((d) => d.params !== undefined));
  const hit = fns.find((d) => sameParameters(d.params ?? [], answered, d.member === true));
  if (hit) return { status: 'checked', kind: 'params', file: hit.file, line: hit.line, detail: `\`${name}${signature(hit)}\` in ${hit.file}` };
  if (fns.length > 0) return { status: 'not-found', kind: 'params', detail: `\`${name}\` takes ${signature(fns[0])} in ${fns[0].file}:${fns[0].line}` };
  return { status: 'not-found', kind: 'params', detail: `no function \`${name}\` in the repository` };
}
