// Answer checks on the eval sets (data/eval/*.jsonl): every right answer is "checked" with a confirming line that
// holds the evidence, and planted wrong answers of each type are "not-found". Runs the checks only (no model).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkAnswer, memoryRepo, parseQuestion, type AnswerCheck } from '../server/src/check/index';
import { loadEvalSet, type EvalRecord } from '../server/src/eval/evalSet';

const evalDir = path.resolve(import.meta.dirname, '..', 'data', 'eval');
const records: EvalRecord[] = readdirSync(evalDir)
  .filter((f) => /^lookup-.*\.jsonl$/.test(f))
  .sort()
  .flatMap((f) => loadEvalSet(path.join(evalDir, f)));

function lineOf(r: EvalRecord, check: AnswerCheck): string {
  const text = r.files.find((f) => f.path === check.file)?.text;
  assert.ok(text !== undefined, `${r.id}: confirming file ${check.file} is one of the record's files`);
  return text.split('\n')[(check.line ?? 0) - 1] ?? '';
}

/** A wrong answer of the record's type, and why it is wrong; undefined when the record offers none. */
function plant(r: EvalRecord, variant: number): string | undefined {
  // Files that are not in the answer and never mention the symbol (or the module's name): surely wrong answers.
  const symbol = parseQuestion(r.question).symbol;
  const word = symbol.split('/').pop()!.replace(/\.\w+$/, '');
  const other = r.files.filter((f) => !r.answer.split(', ').includes(f.path) && !f.text.includes(word)).map((f) => f.path);
  switch (r.type) {
    case 'where':
    case 'multihop-def':
      // A streamed file that never mentions the symbol, or a path that does not exist.
      return variant === 0 ? other[0] : `lib/${r.answer.replace(/\.(\w+)$/, '-planted.$1')}`;
    case 'params':
    case 'multihop-params': {
      if (variant === 1 && r.answer !== 'none') return r.answer.split(', ').slice(0, -1).join(', ') || 'none';
      return r.answer === 'none' ? 'plantedParam' : `${r.answer}, plantedParam`;
    }
    case 'const': {
      const a = r.answer.trim();
      const q = /^(['"`])(.*)\1$/s.exec(a);
      if (q) return `${q[1]}${q[2]}planted${q[1]}`;
      if (/^-?\d+(\.\d+)?$/.test(a)) return String(Number(a) + (variant === 0 ? 1 : 1000));
      return a === 'true' ? 'false' : a === 'false' ? 'true' : a === 'null' ? '0' : `${a}Planted`;
    }
    case 'imports': {
      if (other.length === 0) return undefined;
      return variant === 0 ? other[0] : `${r.answer}, ${other[other.length - 1]}`;
    }
    default:
      return undefined;
  }
}

test('eval sets: every question is recognised as its lookup kind', () => {
  const expected: Record<string, string> = { where: 'where', 'multihop-def': 'where', params: 'params', 'multihop-params': 'params', const: 'value', imports: 'importers' };
  assert.ok(records.length > 1000, `eval records loaded (${records.length})`);
  for (const r of records) {
    const q = parseQuestion(r.question);
    assert.equal(q.kind, expected[r.type], `${r.id}: ${r.question}`);
    assert.ok(q.symbol.length > 0 && r.question.includes(q.symbol), `${r.id}: symbol "${q.symbol}" from ${r.question}`);
  }
});

test('eval sets: right answers are "checked" with a confirming line that holds the evidence', async (t) => {
  const byType = new Map<string, number>();
  for (const r of records) {
    const check = await checkAnswer(r.question, r.answer, memoryRepo(r.files));
    assert.equal(check.status, 'checked', `${r.id} (${r.type}): ${r.question} → ${r.answer}: ${check.detail}`);
    assert.ok(check.file && check.line && check.line >= 1, `${r.id}: names file and line`);
    const line = lineOf(r, check);
    const symbol = parseQuestion(r.question).symbol;
    if (r.type === 'imports') {
      assert.ok(r.answer.split(', ').includes(check.file!), `${r.id}: confirming file is a listed importer`);
      assert.match(line, /\b(import|require|from|export)\b/, `${r.id}: ${check.file}:${check.line} is an import: ${line}`);
    } else if (r.type === 'where' || r.type === 'multihop-def') {
      assert.equal(check.file, r.answer, `${r.id}: confirms the answered file`);
      assert.ok(line.length > 0, `${r.id}: line ${check.line} exists`);
    } else if (r.type === 'const') {
      assert.ok(line.includes(symbol), `${r.id}: ${check.file}:${check.line} assigns ${symbol}: ${line}`);
    } else {
      // parameters: the defining line names the function (or what it was imported as).
      assert.ok(line.length > 0, `${r.id}: line ${check.line} exists`);
    }
    byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  }
  for (const type of ['where', 'params', 'const', 'imports', 'multihop-def', 'multihop-params']) assert.ok((byType.get(type) ?? 0) > 0, `eval sets hold ${type} questions`);
  t.diagnostic(`checked: ${[...byType].map(([k, n]) => `${k} ${n}`).join(', ')}`);
});

test('eval sets: planted wrong answers of every type are "not-found"', async (t) => {
  const planted = new Map<string, number>();
  for (const r of records) {
    for (const variant of [0, 1]) {
      const wrong = plant(r, variant);
      if (wrong === undefined || wrong === r.answer) continue;
      const check = await checkAnswer(r.question, wrong, memoryRepo(r.files));
      assert.equal(check.status, 'not-found', `${r.id} (${r.type}): ${r.question} → planted "${wrong}" (right: ${r.answer}) was ${check.status}: ${check.detail}`);
      assert.equal(check.file, undefined);
      planted.set(r.type, (planted.get(r.type) ?? 0) + 1);
    }
  }
  for (const type of ['where', 'params', 'const', 'imports', 'multihop-def', 'multihop-params']) assert.ok((planted.get(type) ?? 0) > 0, `planted ${type} answers`);
  t.diagnostic(`not-found: ${[...planted].map(([k, n]) => `${k} ${n}`).join(', ')}`);
});
