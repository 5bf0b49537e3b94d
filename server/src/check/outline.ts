// One file's outline (definitions, imports): tree-sitter where a grammar fits, else the definition patterns; none
// for prose and data files.
// Outlines are cached by path and text, so repeated checks over a workspace do not parse a file twice.
import { withTree } from './grammars';
import { outlineByPatterns } from './patternOutline';
import { outlineTree } from './syntaxOutline';
import type { FileOutline } from './types';

const CACHE_LIMIT = 512;

/**
 * Prose and data: a README's usage example (`var once = require('once')`) reads like a definition to the patterns,
 * and "Where is `once` defined?" answered `README.md` must not check out.
 */
const NOT_CODE = /\.(?:md|markdown|mdx|txt|rst|adoc|json|jsonc|ya?ml|toml|lock|ini|cfg|csv)$|(?:^|\/)(?:LICEN[CS]E|COPYING|NOTICE|AUTHORS|CHANGELOG|CHANGES|HISTORY)(?:\.[^/]*)?$/i;
const cache = new Map<string, { text: string; outline: FileOutline }>();

/** A TypeScript declaration file (`index.d.ts`): it declares what an implementation beside it defines. */
export const isDeclarationFile = (file: string): boolean => /\.d\.[cm]?ts$/.test(file);

export async function outlineFile(file: string, text: string): Promise<FileOutline> {
  const hit = cache.get(file);
  if (hit && hit.text === text) return hit.outline;
  if (NOT_CODE.test(file)) return { definitions: [], imports: [], via: 'not-code' };
  let parsed: Omit<FileOutline, 'via'> | undefined;
  try {
    parsed = await withTree(file, text, (tree) => outlineTree(tree));
  } catch {
    // A grammar that fails on this file (a runtime error in the parser): the patterns still give an outline.
    parsed = undefined;
  }
  const outline: FileOutline = parsed ? { ...parsed, via: 'tree-sitter' } : { ...outlineByPatterns(text), via: 'patterns' };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(file, { text, outline });
  return outline;
}
