// .gitignore rules for a repository, root and nested, with git's precedence: a deeper .gitignore overrides a
// shallower one, and within one file the last matching rule wins (the `ignore` package does the per-file part).
// Rule files are read lazily and cached per directory, so single-file checks (freshness) cost a few reads.
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import ignore from 'ignore';

type Ignore = ignore.Ignore;

/** git's core.ignorecase defaults to the file system's case sensitivity. */
const CASE_INSENSITIVE_FS = process.platform === 'win32' || process.platform === 'darwin';

const IGNORE_FILE = '.gitignore';

export class GitignoreRules {
  private readonly root: string;
  /** Directory (relative POSIX, '' = root) → its rules, or null when it has no .gitignore. */
  private readonly byDirectory = new Map<string, Promise<Ignore | null>>();

  constructor(root: string) {
    this.root = root;
  }

  /**
   * Whether `relPath` is ignored. Ancestor directories are checked too, because git never re-includes a file
   * whose parent directory is excluded. `isDirectory` matters for patterns with a trailing slash ("build/").
   */
  async isIgnored(relPath: string, isDirectory: boolean): Promise<boolean> {
    const segments = relPath.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      if (await this.isIgnoredHere(segments.slice(0, depth).join('/'), true)) return true;
    }
    return this.isIgnoredHere(relPath, isDirectory);
  }

  /**
   * Whether `relPath` is ignored by the rules of its ancestors' .gitignore files, assuming its parent directory
   * itself is not ignored (the walker prunes ignored directories, so it only needs this cheaper check).
   */
  async isIgnoredHere(relPath: string, isDirectory: boolean): Promise<boolean> {
    const segments = relPath.split('/');
    let ignored = false;
    for (let depth = 0; depth < segments.length; depth++) {
      const dir = segments.slice(0, depth).join('/');
      const rules = await this.rulesFor(dir);
      if (!rules) continue;
      const relToDir = segments.slice(depth).join('/') + (isDirectory ? '/' : '');
      const result = rules.test(relToDir);
      if (result.ignored) ignored = true;
      else if (result.unignored) ignored = false;
    }
    return ignored;
  }

  private rulesFor(dir: string): Promise<Ignore | null> {
    let cached = this.byDirectory.get(dir);
    if (!cached) {
      cached = this.load(dir);
      this.byDirectory.set(dir, cached);
    }
    return cached;
  }

  private async load(dir: string): Promise<Ignore | null> {
    const texts: string[] = [];
    // .git/info/exclude ranks below the root .gitignore, so it goes first (later rules win).
    const files = dir === '' ? [path.join(this.root, '.git', 'info', 'exclude')] : [];
    files.push(path.join(this.root, dir, IGNORE_FILE));
    for (const file of files) {
      try {
        texts.push(await readFile(file, 'utf8'));
      } catch {
        // Missing or unreadable rule files simply contribute no rules (git behaves the same).
      }
    }
    if (texts.length === 0) return null;
    return ignore({ allowRelativePaths: true, ignorecase: CASE_INSENSITIVE_FS }).add(texts.join('\n'));
  }
}
