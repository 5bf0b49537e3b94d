// RepoViews: the streamed files of a workspace read from disk (the server, the CLI), or files held in memory
// (the eval sets, tests). Texts read from disk are kept for the life of the view (one ingest).
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { RepoView } from './types';

export function diskRepo(root: string, paths: readonly string[]): RepoView {
  const streamed = new Set(paths);
  const texts = new Map<string, Promise<string | undefined>>();
  return {
    paths,
    read(p: string): Promise<string | undefined> {
      if (!streamed.has(p)) return Promise.resolve(undefined);
      let t = texts.get(p);
      if (!t) {
        t = readFile(path.join(root, ...p.split('/')), 'utf8').catch(() => undefined);
        texts.set(p, t);
      }
      return t;
    },
  };
}

export function memoryRepo(files: readonly { path: string; text: string }[]): RepoView {
  const byPath = new Map(files.map((f) => [f.path, f.text]));
  return { paths: files.map((f) => f.path), read: (p) => Promise.resolve(byPath.get(p)) };
}

/**
 * The streamed path an answer's path names: exact, without a leading `./`, or the one streamed path it is a
 * suffix of at a `/` boundary ("NodeType.ts" for "src/NodeType.ts" when no other file has that name).
 */
export function resolveAnswerPath(repo: RepoView, named: string): string | undefined {
  const p = named.replace(/^\.\//, '').replace(/\\/g, '/');
  if (repo.paths.includes(p)) return p;
  const suffixed = repo.paths.filter((q) => q.endsWith('/' + p));
  return suffixed.length === 1 ? suffixed[0] : undefined;
}
