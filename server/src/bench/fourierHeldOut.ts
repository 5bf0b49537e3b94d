// Held-out code sequences for the Fourier calibration and its loss benchmark: the repositories of
// data/eval/*.jsonl (never trained on), one repository's files concatenated with file headers per
// sequence. Calibration takes the even-numbered repositories, the benchmark the odd-numbered ones,
// so the loss is never measured on the code the dimensions were chosen on.

import path from 'node:path';
import { heldOutFiles, interleaveTypes } from './distillBench';
import { evalSetNames, loadEvalSet, packagesInSplit, type EvalRecord, type PackageSplit } from '../eval/evalSet';
import { ownQuestionText } from '../distill/prompt';
import type { Tokenizer } from '../model/tokenizer';
import { headerForTokenizer, tokenizeWithProvenance, type FileHeader } from '../distill/streamer';

export interface HeldOutSequence {
  source: string;
  tokens: number[];
  /** Lookup sequences: the question-and-answer rows at the end (the rows calibration scores). */
  queryRows?: number;
}

export type HeldOutSplit = PackageSplit;

/** Up to `count` sequences of exactly `tokens` tokens (repositories too short are skipped). */
export function heldOutSequences(tokenizer: Tokenizer, evalDir: string, split: HeldOutSplit, count: number, tokens: number): HeldOutSequence[] {
  const byRepo = new Map<string, { path: string; text: string }[]>();
  for (const f of heldOutFiles(evalDir)) {
    const repo = f.path.startsWith('@') ? f.path.split('/').slice(0, 2).join('/') : f.path.split('/')[0];
    let files = byRepo.get(repo);
    if (!files) byRepo.set(repo, (files = []));
    files.push(f);
  }
  const header = headerForTokenizer(tokenizer);
  const out: HeldOutSequence[] = [];
  [...byRepo.entries()].forEach(([repo, files], i) => {
    if (out.length >= count || i % 2 !== (split === 'calibration' ? 0 : 1)) return;
    const ids: number[] = [];
    for (const f of files) {
      ids.push(...tokenizeWithProvenance(f, tokenizer, header).tokens);
      if (ids.length >= tokens) break;
    }
    if (ids.length >= tokens) out.push({ source: repo, tokens: ids.slice(0, tokens) });
  });
  return out;
}

/**
 * Lookup sequences for the retrieval objective: a held-out repository (at most `maxTokens` tokens with BOS), then
 * `<|question|> q\n<|answer|> a<|end|>` in the model's format; queryRows covers the question and answer, the rows
 * that must find the evidence. Packages are split like the code sequences, by parity of their sorted names
 * (calibration even, evaluation odd), so the questions that judge the tier never chose its dimensions. Where and
 * constant questions in turn (what `bench distill --suite lookup` asks), one per repository and type.
 */
export function heldOutLookupSequences(tokenizer: Tokenizer, evalDir: string, split: HeldOutSplit, count: number, maxTokens: number, bos: number | undefined): HeldOutSequence[] {
  const records = evalSetNames(evalDir).filter((n) => n.startsWith('lookup-')).flatMap((n) => loadEvalSet(path.join(evalDir, n)));
  const inSplit = packagesInSplit(records, split);
  const header = headerForTokenizer(tokenizer);
  const seen = new Set<string>();
  const fitting = new Map<EvalRecord, HeldOutSequence>();
  for (const r of records) {
    if (!inSplit.has(r.pkg ?? '') || (r.type !== 'where' && r.type !== 'const')) continue;
    const key = `${r.pkg}|${r.type}|${r.files.map((f) => f.path).join(',')}`;
    if (seen.has(key)) continue;
    const sequence = lookupSequence(tokenizer, header, r, bos);
    if (sequence.tokens.length > maxTokens) continue;
    seen.add(key);
    fitting.set(r, sequence);
  }
  return interleaveTypes([...fitting.keys()], ['where', 'const']).slice(0, count).map((r) => fitting.get(r)!);
}

function lookupSequence(tokenizer: Tokenizer, header: FileHeader, r: EvalRecord, bos: number | undefined): HeldOutSequence {
  const repo = r.files.flatMap((f) => tokenizeWithProvenance(f, tokenizer, header).tokens);
  const tail = tokenizer.encode(`${ownQuestionText(r.question)} ${r.answer}<|end|>`);
  return { source: `${r.pkg ?? r.id}: ${r.question}`, tokens: [...(bos !== undefined ? [bos] : []), ...repo, ...tail], queryRows: tail.length };
}
