// File-hash manifests for freshness: what was streamed (path → sha256) versus what the repository holds now.
// Changed and removed files have their KV slots dropped; added and changed files stream in again.
import { compareStrings } from './repoWalker';

/** What diffing needs from a file; RepoFile satisfies it. */
export interface HashedFile {
  path: string;
  sha256: string;
}

export interface RepositoryDiff<T extends HashedFile> {
  added: T[];
  changed: T[];
  /** Paths in the previous manifest that the current walk no longer returns (deleted, or now skipped). */
  removed: string[];
  unchanged: T[];
}

export function manifestOf(files: readonly HashedFile[]): Map<string, string> {
  return new Map(files.map((f) => [f.path, f.sha256] as const));
}

export function diffRepository<T extends HashedFile>(
  previous: ReadonlyMap<string, string>,
  current: readonly T[],
): RepositoryDiff<T> {
  const diff: RepositoryDiff<T> = { added: [], changed: [], removed: [], unchanged: [] };
  const seen = new Set<string>();
  for (const file of current) {
    seen.add(file.path);
    const before = previous.get(file.path);
    if (before === undefined) diff.added.push(file);
    else if (before !== file.sha256) diff.changed.push(file);
    else diff.unchanged.push(file);
  }
  for (const path of previous.keys()) if (!seen.has(path)) diff.removed.push(path);
  diff.removed.sort(compareStrings);
  return diff;
}
