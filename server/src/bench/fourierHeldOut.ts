// Held-out code sequences for the Fourier calibration and its loss benchmark: the repositories of
// data/eval/*.jsonl (never trained on), one repository's files concatenated with file headers per
// sequence. Calibration takes the even-numbered repositories, the benchmark the odd-numbered ones,
// so the loss is never measured on the code the dimensions were chosen on.

import { heldOutFiles } from './distillBench';
import type { Tokenizer } from '../model/tokenizer';
import { headerForTokenizer, tokenizeWithProvenance } from '../distill/streamer';

export interface HeldOutSequence {
  source: string;
  tokens: number[];
}

export type HeldOutSplit = 'calibration' | 'evaluation';

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
