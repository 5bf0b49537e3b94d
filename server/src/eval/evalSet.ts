// Held-out question sets (data/eval/*.jsonl, written by tools/train/gen-questions.ts) and scoring.
import fs from 'node:fs';
import { readJsonLines } from '../util/jsonl';

export interface EvalFile {
  path: string;
  text: string;
}

export interface EvalRecord {
  id: string;
  pkg?: string;
  files: EvalFile[];
  question: string;
  answer: string;
  type: string;
  /** Tokens between the evidence and the question. */
  depth?: number;
  tokens?: number;
  form?: 'trace' | 'bare';
  trace?: string;
}

/** The copy probe of `eval lookup` (spans to copy, not question records): in data/eval, but not an evaluation set. */
export const COPY_PROBE = 'copy-spans.jsonl';

/** The evaluation sets (question records) in `evalDir`, sorted by name: every *.jsonl but the copy probe. */
export function evalSetNames(evalDir: string): string[] {
  return fs.existsSync(evalDir) ? fs.readdirSync(evalDir).filter((n) => n.endsWith('.jsonl') && n !== COPY_PROBE).sort() : [];
}

export function loadEvalSet(file: string): EvalRecord[] {
  return readJsonLines(file, 'evaluation set').map(({ value, line }) => {
    const r = value as EvalRecord;
    if (!Array.isArray(r.files) || typeof r.question !== 'string' || typeof r.answer !== 'string') {
      throw new Error(`${file}:${line}: a record needs files[], question and answer`);
    }
    return r;
  });
}

/** Exact match after trimming whitespace, surrounding quotes/backticks and a trailing semicolon. */
export function normalizeAnswer(text: string): string {
  return text.trim().split('\n')[0].trim().replace(/;$/, '').replace(/^[`'"]|[`'"]$/g, '').trim();
}

/** Halves of the held-out packages, by parity of their sorted names: what calibrates (Fourier lookup objective) and what judges it. */
export const PACKAGE_SPLITS = ['calibration', 'evaluation'] as const;
export type PackageSplit = (typeof PACKAGE_SPLITS)[number];

/** The packages of `records` in one split (even-numbered sorted names: calibration; odd: evaluation). */
export function packagesInSplit(records: readonly EvalRecord[], split: PackageSplit): Set<string> {
  const packages = [...new Set(records.map((r) => r.pkg ?? ''))].sort();
  return new Set(packages.filter((_, i) => i % 2 === (split === 'calibration' ? 0 : 1)));
}

export function exactMatch(predicted: string, expected: string): boolean {
  return normalizeAnswer(predicted) === normalizeAnswer(expected);
}

export { median } from '../util/stats';

/** One question on one repository: records with the same key are the same prompt (a multi-hop trace/bare twin, or a question that sits in several sets). */
export function promptKey(record: EvalRecord): string {
  return JSON.stringify([record.question, record.files.map((f) => `${f.path}:${f.text.length}`)]);
}
