// Which lines of a file carry its outline: the lines that define a name (function, class, type, variable, member)
// and the lines that import one. A lookup answer is copied from them (where/params/const from the definition line,
// importers from the import lines), and session 7 found that a pot drops them while keeping their file's header
// (12 of 15 lost answers). The streamer tags these lines so a policy can favour them (infinipot `pin=outline`).
import { outlineFile } from '../check/outline';
import type { FileOutline } from '../check/types';
import type { StreamableFile } from './streamer';

/** 1-based lines of `file` that define or import a name (tree-sitter where a grammar fits, else patterns). */
export async function outlineLines(file: StreamableFile): Promise<ReadonlySet<number>> {
  return outlineLineSet(await outlineFile(file.path, file.text));
}

/** The lines of an outline's definitions and imports. */
export function outlineLineSet(outline: Pick<FileOutline, 'definitions' | 'imports'>): Set<number> {
  return new Set([...outline.definitions.map((d) => d.line), ...outline.imports.map((i) => i.line)]);
}
