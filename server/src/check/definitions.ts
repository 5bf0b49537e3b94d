// Finding a symbol's definitions across the streamed files (files whose text does not mention it are not parsed).
import { outlineFile } from './outline';
import type { Definition, RepoView } from './types';

export interface Located extends Definition {
  file: string;
}

/** `a.b.c` is looked up as `c`; `f()` as `f`. */
export function bareName(symbol: string): string {
  const s = symbol.replace(/\(\)$/, '');
  const parts = s.split(/\.|::|#/).filter(Boolean);
  return parts[parts.length - 1] ?? s;
}

/** Definitions named `symbol` in `file`. */
export async function definitionsIn(repo: RepoView, file: string, symbol: string): Promise<Located[]> {
  const name = bareName(symbol);
  const text = await repo.read(file);
  if (text === undefined || !text.includes(name)) return [];
  const outline = await outlineFile(file, text);
  return outline.definitions.filter((d) => d.name === name).map((d) => ({ ...d, file }));
}

/** Definitions named `symbol` anywhere in the repository; files in `first` are searched (and listed) first. */
export async function definitionsOf(repo: RepoView, symbol: string, signal?: AbortSignal, first: readonly string[] = []): Promise<Located[]> {
  const order = [...first.filter((f) => repo.paths.includes(f)), ...repo.paths.filter((p) => !first.includes(p))];
  const out: Located[] = [];
  for (const file of order) {
    signal?.throwIfAborted();
    out.push(...(await definitionsIn(repo, file, symbol)));
  }
  return out;
}

/**
 * The names to look up for a multi-hop question: the symbol, and what `via` imports it as when it renames it
 * (`import { urlAlphabet as scopedUrlAlphabet }` → urlAlphabet).
 */
export async function namesViaImport(repo: RepoView, symbol: string, via: string | undefined): Promise<string[]> {
  const name = bareName(symbol);
  if (!via) return [name];
  const text = await repo.read(via);
  if (text === undefined) return [name];
  const outline = await outlineFile(via, text);
  const original = outline.imports.map((i) => i.aliases?.[name]).find((n) => n !== undefined);
  return original && original !== name ? [name, original] : [name];
}
