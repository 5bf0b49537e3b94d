// The server's minimal repository walker: the one function to swap for server/src/distill/streamer.ts when it lands.
// `walkRepository` lists a folder honouring .gitignore files and include/exclude globs (reporting unreadable
// folders and symlink loops); `readTextFile` reads one file as UTF-8 text or says why it is skipped
// (binary, oversized, invalid UTF-8, unreadable, empty).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { throwIfAborted } from '../model/errors.js';
import type { SkippedFile } from './protocol.js';

export interface WalkOptions {
  include: string[];
  exclude: string[];
  signal?: AbortSignal;
}

export interface SourceFile {
  /** Absolute path. */
  absPath: string;
  /** Workspace-relative path with forward slashes. */
  relPath: string;
  text: string;
  mtimeMs: number;
  size: number;
}

export interface Candidate {
  absPath: string;
  relPath: string;
}

export type WalkEntry = { kind: 'candidate'; candidate: Candidate } | { kind: 'skipped'; skipped: SkippedFile };

/** Translates a glob (`**`, `*`, `?`, `{a,b}`) into an anchored RegExp over forward-slash paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slashAfter = glob[i + 2] === '/';
        re += slashAfter ? '(?:.*/)?' : '.*';
        i += slashAfter ? 2 : 1;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) {
        re += '\\{';
        continue;
      }
      re += '(?:' + glob.slice(i + 1, end).split(',').map(escapeRegExp).join('|') + ')';
      i = end;
    } else {
      re += escapeRegExp(c);
    }
  }
  return new RegExp('^' + re + '$');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
}

/** Does `relPath` (or one of its parent folders, for folder globs) match any glob? */
function matchesAny(relPath: string, globs: RegExp[]): boolean {
  return globs.some((g) => g.test(relPath) || g.test(relPath + '/'));
}

/** Reads one file as text, or says why it is skipped. */
export async function readTextFile(c: Candidate, maxFileBytes: number): Promise<{ file: SourceFile } | { reason: string }> {
  const absPath = c.absPath;
  let stat;
  try {
    stat = await fs.stat(absPath);
  } catch (err) {
    return { reason: describeFsError(err) };
  }
  if (!stat.isFile()) return { reason: 'not a regular file' };
  if (stat.size > maxFileBytes) return { reason: `too large (${stat.size} bytes > ${maxFileBytes})` };
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(absPath);
  } catch (err) {
    return { reason: describeFsError(err) };
  }
  if (bytes.length === 0) return { reason: 'empty' };
  if (bytes.subarray(0, 8192).includes(0)) return { reason: 'binary (contains NUL bytes)' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { reason: 'invalid UTF-8' };
  }
  return { file: { ...c, text, mtimeMs: stat.mtimeMs, size: stat.size } };
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'unreadable (permission denied)';
    case 'ELOOP':
      return 'symlink loop';
    case 'ENOENT':
      return 'dangling symlink or vanished file';
    default:
      return `unreadable (${code ?? (err instanceof Error ? err.message : String(err))})`;
  }
}

/**
 * Walks `root` depth-first in a stable (sorted) order. Symlinked folders are followed once (by real path);
 * a link back into a folder already visited is reported as a loop.
 */
export async function* walkRepository(root: string, opts: WalkOptions): AsyncGenerator<WalkEntry> {
  const include = opts.include.map(globToRegExp);
  const exclude = opts.exclude.map(globToRegExp);
  const visited = new Set<string>();

  async function* visit(dirAbs: string, dirRel: string, ignores: { base: string; ig: Ignore }[]): AsyncGenerator<WalkEntry> {
    throwIfAborted(opts.signal);
    let real: string;
    try {
      real = await fs.realpath(dirAbs);
    } catch (err) {
      yield { kind: 'skipped', skipped: { path: dirRel || '.', reason: describeFsError(err) } };
      return;
    }
    if (visited.has(real)) {
      yield { kind: 'skipped', skipped: { path: dirRel || '.', reason: 'symlink loop (folder already visited)' } };
      return;
    }
    visited.add(real);
    let names: string[];
    try {
      names = (await fs.readdir(dirAbs)).sort();
    } catch (err) {
      yield { kind: 'skipped', skipped: { path: dirRel || '.', reason: describeFsError(err) } };
      return;
    }
    let scoped = ignores;
    if (names.includes('.gitignore')) {
      try {
        const ig = ignore().add(await fs.readFile(path.join(dirAbs, '.gitignore'), 'utf8'));
        scoped = [...ignores, { base: dirRel, ig }];
      } catch {
        // An unreadable .gitignore ignores nothing.
      }
    }
    for (const name of names) {
      if (name === '.git') continue;
      const abs = path.join(dirAbs, name);
      const rel = dirRel ? `${dirRel}/${name}` : name;
      let lst;
      try {
        lst = await fs.lstat(abs);
      } catch (err) {
        yield { kind: 'skipped', skipped: { path: rel, reason: describeFsError(err) } };
        continue;
      }
      let isDir = lst.isDirectory();
      if (lst.isSymbolicLink()) {
        try {
          isDir = (await fs.stat(abs)).isDirectory();
        } catch (err) {
          yield { kind: 'skipped', skipped: { path: rel, reason: describeFsError(err) } };
          continue;
        }
      }
      if (isIgnored(scoped, rel, isDir)) continue;
      if (isDir) {
        if (matchesAny(rel + '/', exclude)) continue;
        yield* visit(abs, rel, scoped);
        continue;
      }
      if (matchesAny(rel, exclude) || !matchesAny(rel, include)) continue;
      yield { kind: 'candidate', candidate: { absPath: abs, relPath: rel } };
    }
  }

  yield* visit(root, '', []);
}

function isIgnored(scoped: { base: string; ig: Ignore }[], rel: string, isDir: boolean): boolean {
  for (const { base, ig } of scoped) {
    const sub = base ? rel.slice(base.length + 1) : rel;
    if (ig.ignores(isDir ? sub + '/' : sub)) return true;
  }
  return false;
}
