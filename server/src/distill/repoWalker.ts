// Walks a repository folder and returns the text files worth streaming, with every skip counted by reason.
// Bad input (binary, huge, invalid UTF-8, unreadable files, symlink loops, empty repositories) is never fatal:
// it becomes a SkippedFile. Only a missing/unreadable root or cancellation throws.
//
// Symlinks are never followed (like git, which stores them as links): one pointing inside the repository is a
// 'duplicate' of its target (streamed under its real path) or a 'symlink-loop' when it points at an ancestor;
// one pointing outside is 'outside-root'. That makes loops impossible to walk into by construction.
import { createHash } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { describeError } from '../model/errors';
import { throwIfAborted } from '../util/abort';
import { FileError } from '../util/fileError';
import { grammarFor } from '../check/grammars';
import { classifyData, classifyPath, classifyText, DEFAULT_EXCLUDES, isBuildOutputDir, looksBinary, SKIP_REASONS, type SkipReason } from './fileFilters';
import { GitignoreRules } from './gitignore';
import { GlobSet } from './glob';

export type { SkipReason } from './fileFilters';

export interface RepoFile {
  /** POSIX path relative to the repository root: the identity used in headers, provenance and manifests. */
  path: string;
  absPath: string;
  bytes: number;
  mtimeMs: number;
  /** Hex SHA-256 of the raw bytes (freshness manifests compare these). */
  sha256: string;
  text: string;
}

export interface SkippedFile {
  /** POSIX path relative to the root; a pruned directory counts once, under its own path. */
  path: string;
  reason: SkipReason;
  /** Human-readable specifics (sizes, error codes, symlink targets). */
  detail?: string;
  /** A pruned directory: the files under it (counted, never read; at most FOLDER_COUNT_LIMIT). */
  files?: number;
}

export interface WalkOptions {
  /** When given, only files matching one of these globs (or lying under a matching directory) are kept. */
  include?: readonly string[];
  /** Files or directories matching one of these globs are skipped as 'excluded'. */
  exclude?: readonly string[];
  /** Files larger than this are skipped as 'too-large' without being read. Default 1 MiB. */
  maxFileBytes?: number;
  /** Honour .gitignore files (root and nested) and .git/info/exclude. Default true. */
  respectGitignore?: boolean;
  /** Skip vendored, generated and minified files by the built-in heuristics. Default true. */
  defaultFilters?: boolean;
  signal?: AbortSignal;
}

export interface WalkResult {
  /** Kept files, sorted by path. */
  files: RepoFile[];
  skipped: SkippedFile[];
  /** Every reason is present, zero when unused, so callers can print a stable table. */
  skipCounts: Record<SkipReason, number>;
}

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

/** Files counted under one pruned directory at most (node_modules can hold hundreds of thousands). */
export const FOLDER_COUNT_LIMIT = 10_000;

/** Files (not directories, symlinks followed never) under `dir`, counting stops at `limit`. */
async function countFiles(dir: string, limit: number): Promise<number> {
  let count = 0;
  const pending = [dir];
  while (pending.length > 0 && count < limit) {
    const current = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory()) pending.push(path.join(current, e.name));
      else if (++count >= limit) break;
    }
  }
  return count;
}

/** Files read concurrently: enough to hide I/O latency without flooding the libuv pool. */
const READ_CONCURRENCY = 8;

/** Raised only for problems with the root itself; names the folder and the problem. */
export class RepoWalkError extends FileError {
  override readonly name = 'RepoWalkError';
}

/** Everything one walk shares: resolved options and the root's identity. */
interface WalkContext {
  root: string;
  rootReal: string;
  include: GlobSet;
  exclude: GlobSet;
  defaultExcludes: GlobSet;
  gitignore: GitignoreRules | null;
  defaultFilters: boolean;
  maxFileBytes: number;
  signal: AbortSignal | undefined;
}

type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

export async function walkRepository(root: string, options: WalkOptions = {}): Promise<WalkResult> {
  const ctx = await createContext(root, options);
  const skipped: SkippedFile[] = [];
  const candidates: string[] = [];

  await walkFolders(ctx, [''], skipped, candidates);
  // A package that ships only its build (npm packages compiled to dist/): with no source file (one a grammar reads)
  // outside the build folders, those folders are the code, so they are read rather than nothing at all.
  if (!candidates.some((rel) => grammarFor(rel) !== undefined)) {
    const builds = skipped.filter((s) => s.reason === 'generated' && (s.files ?? 0) > 0 && isBuildOutputDir(s.path));
    if (builds.length > 0) {
      for (const b of builds) skipped.splice(skipped.indexOf(b), 1);
      await walkFolders(ctx, builds.map((b) => b.path), skipped, candidates);
    }
  }

  const loaded = await mapConcurrently(candidates, READ_CONCURRENCY, (rel) => loadFile(ctx, rel));
  const files: RepoFile[] = [];
  for (const item of loaded) {
    if ('reason' in item) skipped.push(item);
    else files.push(item);
  }
  files.sort((a, b) => compareStrings(a.path, b.path));
  return { files, skipped, skipCounts: countSkips(skipped) };
}

/** Depth-first walk of `starts` (relative folders) over sorted entries: deterministic, no recursion limit. */
async function walkFolders(ctx: WalkContext, starts: readonly string[], skipped: SkippedFile[], candidates: string[]): Promise<void> {
  const pending: string[] = [...starts].reverse();
  while (pending.length > 0) {
    throwIfAborted(ctx.signal);
    const relDir = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(ctx.root, relDir), { withFileTypes: true });
    } catch (err) {
      if (relDir === '') throw new RepoWalkError(ctx.root, `cannot list the repository folder: ${describeError(err)}`);
      skipped.push({ path: relDir, reason: 'unreadable', detail: errorCode(err) });
      continue;
    }
    entries.sort((a, b) => compareStrings(a.name, b.name));
    const subdirs: string[] = [];
    for (const entry of entries) {
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      const kind = await entryKind(ctx, rel, entry);
      const skip = await classifyEntry(ctx, rel, kind, false);
      if (skip) {
        if (kind === 'directory') skip.files = await countFiles(path.join(ctx.root, rel), FOLDER_COUNT_LIMIT);
        skipped.push(skip);
      } else if (kind === 'directory') {
        subdirs.push(rel);
      } else {
        candidates.push(rel);
      }
    }
    // Pushed in reverse so the stack pops them in name order.
    for (let i = subdirs.length - 1; i >= 0; i--) pending.push(subdirs[i]!);
  }
}

async function createContext(root: string, options: WalkOptions): Promise<WalkContext> {
  throwIfAborted(options.signal);
  const absRoot = path.resolve(root);
  let rootReal: string;
  let rootStats: Stats;
  try {
    rootReal = await realpath(absRoot);
    rootStats = await stat(rootReal);
  } catch (err) {
    throw new RepoWalkError(absRoot, `cannot open the repository folder: ${describeError(err)}`, { cause: err });
  }
  if (!rootStats.isDirectory()) throw new RepoWalkError(absRoot, 'is not a folder');
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!(maxFileBytes > 0)) throw new RangeError(`maxFileBytes must be positive, got ${maxFileBytes}`);
  return {
    root: absRoot,
    rootReal,
    include: new GlobSet(options.include ?? []),
    exclude: new GlobSet(options.exclude ?? []),
    defaultExcludes: new GlobSet(DEFAULT_EXCLUDES),
    gitignore: options.respectGitignore === false ? null : new GitignoreRules(absRoot),
    defaultFilters: options.defaultFilters !== false,
    maxFileBytes,
    signal: options.signal,
  };
}

async function entryKind(ctx: WalkContext, rel: string, entry: Dirent): Promise<EntryKind> {
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isDirectory()) return 'directory';
  if (entry.isFile()) return 'file';
  if (entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice()) return 'other';
  // DT_UNKNOWN on some file systems: ask directly.
  try {
    return kindOfStats(await lstat(path.join(ctx.root, rel)));
  } catch {
    return 'other';
  }
}

function kindOfStats(stats: Stats): EntryKind {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'file';
  return 'other';
}

/**
 * Path-level decision for one entry, in a fixed order so counts are predictable: VCS folders, .gitignore,
 * user excludes, symlinks / special files, vendored/generated heuristics, then include globs (files only).
 * `fullGitignore` also checks ancestors (the walk prunes ignored folders, so it does not need to).
 */
async function classifyEntry(
  ctx: WalkContext,
  rel: string,
  kind: EntryKind,
  fullGitignore: boolean,
): Promise<SkippedFile | null> {
  const isDirectory = kind === 'directory';
  if (ctx.defaultExcludes.matchesExactly(rel)) return { path: rel, reason: 'excluded', detail: 'default exclude (VCS folder or secrets)' };
  if (ctx.gitignore) {
    const ignored = fullGitignore
      ? await ctx.gitignore.isIgnored(rel, isDirectory)
      : await ctx.gitignore.isIgnoredHere(rel, isDirectory);
    if (ignored) return { path: rel, reason: 'ignored' };
  }
  if (ctx.exclude.matchesExactly(rel)) return { path: rel, reason: 'excluded' };
  if (kind === 'symlink') return classifySymlink(ctx, rel);
  if (kind === 'other') return { path: rel, reason: 'not-a-file', detail: 'socket, FIFO or device' };
  if (ctx.defaultFilters) {
    const reason = classifyPath(rel, isDirectory);
    if (reason) return { path: rel, reason };
  }
  if (!isDirectory && !ctx.include.isEmpty && !ctx.include.matchesPathOrAncestor(rel)) {
    return { path: rel, reason: 'not-included' };
  }
  return null;
}

async function classifySymlink(ctx: WalkContext, rel: string): Promise<SkippedFile> {
  const abs = path.join(ctx.root, rel);
  let target: string;
  try {
    target = await realpath(abs);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ELOOP') return { path: rel, reason: 'symlink-loop', detail: 'the link chain never resolves' };
    if (code === 'ENOENT') return { path: rel, reason: 'broken-symlink' };
    return { path: rel, reason: 'unreadable', detail: code };
  }
  const targetRel = path.relative(ctx.rootReal, target);
  if (targetRel === '..' || targetRel.startsWith(`..${path.sep}`) || path.isAbsolute(targetRel)) {
    return { path: rel, reason: 'outside-root', detail: `links to ${target}` };
  }
  const targetPosix = targetRel.split(path.sep).join('/');
  const linkPosix = rel;
  // Pointing at the root or at an ancestor of the link: following it would recurse forever.
  if (targetPosix === '' || linkPosix.startsWith(`${targetPosix}/`)) {
    return { path: rel, reason: 'symlink-loop', detail: `links to ${targetPosix || '.'}` };
  }
  return { path: rel, reason: 'duplicate', detail: `links to ${targetPosix}` };
}

async function loadFile(ctx: WalkContext, rel: string): Promise<RepoFile | SkippedFile> {
  throwIfAborted(ctx.signal);
  const abs = path.join(ctx.root, rel);
  let bytes: Buffer;
  let stats: Stats;
  try {
    stats = await stat(abs);
    if (!stats.isFile()) return { path: rel, reason: 'not-a-file' };
    if (stats.size > ctx.maxFileBytes) {
      return { path: rel, reason: 'too-large', detail: `${stats.size} bytes > ${ctx.maxFileBytes}` };
    }
    const data = ctx.defaultFilters ? classifyData(rel, stats.size) : null;
    if (data) return { path: rel, reason: 'data', detail: data };
    const handle = await open(abs, 'r');
    try {
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    return { path: rel, reason: 'unreadable', detail: errorCode(err) };
  }
  // The file may have grown between stat and read.
  if (bytes.length > ctx.maxFileBytes) {
    return { path: rel, reason: 'too-large', detail: `${bytes.length} bytes > ${ctx.maxFileBytes}` };
  }
  if (looksBinary(bytes)) return { path: rel, reason: 'binary', detail: 'contains NUL bytes' };
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { path: rel, reason: 'invalid-utf8' };
  }
  if (ctx.defaultFilters) {
    const reason = classifyText(rel, text);
    if (reason) return { path: rel, reason };
  }
  return {
    path: rel,
    absPath: abs,
    bytes: bytes.length,
    mtimeMs: stats.mtimeMs,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    text,
  };
}

/** Fatal decoding turns invalid UTF-8 into a skip instead of silently inserting U+FFFD; the BOM is dropped. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function countSkips(skipped: readonly SkippedFile[]): Record<SkipReason, number> {
  const counts = Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>;
  for (const s of skipped) counts[s.reason]++;
  return counts;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : describeError(err);
}

/** Code-point order, independent of locale, so every machine orders files the same way. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
