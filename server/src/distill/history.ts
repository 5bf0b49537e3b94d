// The n-gram drafter's source for answers after a pot: the repository text the pot's slots came from. The pot
// keeps only (file, line) per slot, not token ids, so the kept lines are read again and tokenized, in cache order.

import fs from 'node:fs';
import path from 'node:path';
import type { Tokenizer } from '../model/tokenizer';
import type { SlotSource } from './provenance';

/** Tokens of the distinct lines the pot holds, in slot order, at most `limit` tokens (the most recent lines win). */
export function potHistory(tags: readonly (SlotSource | undefined)[], repoDir: string, tokenizer: Pick<Tokenizer, 'encode'>, limit = 32768): number[] {
  const files = new Map<string, string[] | null>();
  const linesOf = (file: string): string[] | null => {
    if (!files.has(file)) {
      try {
        files.set(file, fs.readFileSync(path.join(repoDir, file), 'utf8').split('\n'));
      } catch {
        files.set(file, null); // deleted or unreadable since ingest: no drafts from it
      }
    }
    return files.get(file)!;
  };
  const pieces: number[][] = [];
  let previous = '';
  for (const tag of tags) {
    if (!tag || tag.line < 1) continue;
    const key = `${tag.file}:${tag.line}`;
    if (key === previous) continue;
    previous = key;
    const line = linesOf(tag.file)?.[tag.line - 1];
    if (line !== undefined) pieces.push(tokenizer.encode(`${line}\n`));
  }
  const out: number[] = [];
  for (let i = pieces.length - 1; i >= 0 && out.length < limit; i--) out.unshift(...pieces[i]);
  return out.slice(Math.max(0, out.length - limit));
}
