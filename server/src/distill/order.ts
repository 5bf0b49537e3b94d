// The order files stream in. The distilled cache keeps what later tokens attend to, so order matters:
//  - README and entry points first: the overview that frames everything after it;
//  - then along the import graph, dependencies before dependents, so definitions tend to precede uses;
//  - the most recently modified files last, so the code being worked on is freshest in the cache.
// The import graph is imports.ts's; its order is graph.ts's.
import * as path from 'node:path';
import { compareStrings } from './repoWalker';
import { topologicalOrder } from './graph';
import { buildImportGraph, resolveModuleFile, type OrderableFile } from './imports';
import { registryEntry } from '../util/registry';

export type { OrderableFile } from './imports';

/** 'imports': README/entry points, import-graph order, recent files last. 'path': by path. 'mtime': oldest first. */
export type FileOrder = 'imports' | 'path' | 'mtime';

export interface OrderOptions {
  order?: FileOrder;
  /**
   * 'imports' order: at most this many of the most recently modified files move to the end (default 8). Only
   * files at least five minutes newer than the median modification time qualify, so a fresh checkout or unpacked
   * package, where every file has about the same time, keeps its import order.
   */
  recentTail?: number;
}

const DEFAULT_RECENT_TAIL = 8;

/**
 * How much newer than the median a file must be to count as recently edited. A clone or an unpacked package writes
 * its files milliseconds to seconds apart; "strictly newer" alone moved whatever was written last (SECURITY.md,
 * .travis.yml) to the end of the stream, where the cache keeps it, and the code itself out of it.
 */
const RECENT_EDIT_GAP_MS = 5 * 60_000;

type FileOrderer = <T extends OrderableFile>(byPath: T[], options: OrderOptions) => T[];

const fileOrderers: Readonly<Record<FileOrder, FileOrderer>> = {
  path: (byPath) => byPath,
  mtime: (byPath) => byPath.sort((a, b) => a.mtimeMs - b.mtimeMs || compareStrings(a.path, b.path)),
  imports: (byPath, options) => orderByImports(byPath, options.recentTail ?? DEFAULT_RECENT_TAIL),
};

export function orderFiles<T extends OrderableFile>(files: readonly T[], options: OrderOptions = {}): T[] {
  const order = options.order ?? 'imports';
  const orderer = registryEntry(fileOrderers, order);
  if (!orderer) throw new RangeError(`unknown file order "${String(order)}" (expected imports, path or mtime)`);
  return orderer([...files].sort((a, b) => compareStrings(a.path, b.path)), options);
}

function orderByImports<T extends OrderableFile>(byPath: readonly T[], recentTail: number): T[] {
  const leading = new Set(findLeadingFiles(byPath));
  const recent = new Set(findRecentFiles(byPath.filter((f) => !leading.has(f.path)), recentTail));
  const middle = byPath.filter((f) => !leading.has(f.path) && !recent.has(f.path));
  const graph = buildImportGraph(byPath);
  const index = new Map(byPath.map((f) => [f.path, f] as const));
  const pick = (paths: Iterable<string>): T[] => [...paths].map((p) => index.get(p)!);
  return [
    ...pick(leading),
    ...pick(topologicalOrder(middle.map((f) => f.path), graph)),
    ...[...recent].map((p) => index.get(p)!).sort((a, b) => a.mtimeMs - b.mtimeMs || compareStrings(a.path, b.path)),
  ];
}

/** Root README first, then entry points (package.json targets, index/main files, lib.rs, __init__.py ...). */
export function findLeadingFiles(files: readonly OrderableFile[]): string[] {
  const paths = new Set(files.map((f) => f.path));
  const leading: string[] = [];
  const add = (p: string | undefined): void => {
    if (p !== undefined && paths.has(p) && !leading.includes(p)) leading.push(p);
  };
  const readme = files.find((f) => /^readme(?:\.[a-z]+)?$/i.test(f.path));
  add(readme?.path);
  const pkg = files.find((f) => f.path === 'package.json');
  if (pkg) for (const target of packageEntryTargets(pkg.text)) add(resolveModuleFile(target, paths));
  const entryName = /^(?:index|main|app|cli|lib|mod|__init__|__main__)\.[a-z]+$/i;
  for (const dir of ['', 'src/', 'lib/', 'app/']) {
    for (const f of files) {
      if (f.path.startsWith(dir) && !f.path.slice(dir.length).includes('/') && entryName.test(f.path.slice(dir.length))) {
        add(f.path);
      }
    }
  }
  for (const f of files) if (/^cmd\/[^/]+\/main\.go$/.test(f.path)) add(f.path);
  return leading;
}

/** The "main", "module", "bin" and string "exports" entries of a package.json, as relative paths. */
function packageEntryTargets(packageJson: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(packageJson);
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null) return [];
  const record = parsed as Record<string, unknown>;
  const targets: string[] = [];
  for (const key of ['main', 'module', 'exports', 'bin']) {
    const value = record[key];
    if (typeof value === 'string') targets.push(value);
    else if (key === 'bin' && typeof value === 'object' && value !== null) {
      for (const v of Object.values(value)) if (typeof v === 'string') targets.push(v);
    }
  }
  return targets.map((t) => path.posix.normalize(t));
}

function findRecentFiles(files: readonly OrderableFile[], limit: number): string[] {
  if (limit <= 0 || files.length < 2) return [];
  const times = files.map((f) => f.mtimeMs).sort((a, b) => a - b);
  const median = times[Math.floor((times.length - 1) / 2)]!;
  return files
    .filter((f) => f.mtimeMs >= median + RECENT_EDIT_GAP_MS)
    .sort((a, b) => b.mtimeMs - a.mtimeMs || compareStrings(a.path, b.path))
    .slice(0, limit)
    .map((f) => f.path);
}
