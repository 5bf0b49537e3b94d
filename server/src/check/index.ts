// Answer checks: after an answer is decoded, the server checks it against the repository and attaches a verdict.
//   question text ─► parseQuestion ─► kind + symbol ─► the kind's checker (files via tree-sitter outlines) ─► verdict
import { checkImporters } from './checkImporters';
import { checkParams } from './checkParams';
import { checkValue } from './checkValue';
import { checkWhere } from './checkWhere';
import { parseQuestion } from './question';
import type { AnswerCheck, ParsedQuestion, RepoView } from './types';

export type { AnswerCheck, CheckStatus, ParsedQuestion, QuestionForm, QuestionKind, RepoView, WorkspaceSymbol } from './types';
export { parseQuestion, QUESTION_FORMS } from './question';
export { workspaceSymbols } from './symbols';
export { formatVerdict, STOPPED_CHECK } from './verdict';
export { diskRepo, memoryRepo } from './repoView';

const CHECKERS = new Map<ParsedQuestion['kind'], (q: ParsedQuestion, answer: string, repo: RepoView, signal?: AbortSignal) => Promise<AnswerCheck>>([
  ['where', checkWhere],
  ['value', checkValue],
  ['params', checkParams],
  ['importers', checkImporters],
]);

/** The verdict on `answer` to `question` (or to an already parsed question). Rejects only when `signal` aborts. */
export async function checkAnswer(question: string | ParsedQuestion, answer: string, repo: RepoView, signal?: AbortSignal): Promise<AnswerCheck> {
  const q = typeof question === 'string' ? parseQuestion(question) : question;
  const checker = CHECKERS.get(q.kind);
  if (!checker) return { status: 'unverifiable', kind: q.kind, detail: 'a free-form answer' };
  if (!answer.trim()) return { status: 'unverifiable', kind: q.kind, detail: 'no answer to check' };
  return checker(q, answer, repo, signal);
}
