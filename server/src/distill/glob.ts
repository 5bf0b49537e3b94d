// Small glob → RegExp compiler for include/exclude options (the `ignore` package covers .gitignore syntax only).
//
// Paths are POSIX and relative to the repository root. Supported syntax:
//   **      any number of path segments, including none ("src/**" = src and everything under it)
//   *       any run of characters within one segment
//   ?       one character within a segment
//   {a,b}   alternation (may nest and contain other syntax)
//   [abc] [a-z] [!abc]   character class within a segment
// A pattern without a slash matches a basename at any depth ("*.ts" matches "src/a.ts"), as in .gitignore.
// A leading "./" or "/" anchors to the root (both mean the same here).

export class GlobSyntaxError extends Error {
  override readonly name = 'GlobSyntaxError';
  constructor(pattern: string, problem: string) {
    super(`glob "${pattern}": ${problem}`);
  }
}

/** Compiles one glob to an anchored RegExp over a whole relative POSIX path. */
export function globToRegExp(pattern: string): RegExp {
  let body = pattern.trim();
  if (body === '') throw new GlobSyntaxError(pattern, 'is empty');
  let anchored = false;
  if (body.startsWith('./')) {
    body = body.slice(2);
    anchored = true;
  } else if (body.startsWith('/')) {
    body = body.slice(1);
    anchored = true;
  }
  // A trailing slash names a directory; matching its contents is handled by matchesGlob's ancestor check.
  if (body.endsWith('/')) body = body.slice(0, -1);
  const source = compileSequence(pattern, body, 0, body.length);
  const matchAnyDepth = !anchored && !body.includes('/');
  return new RegExp(matchAnyDepth ? `^(?:.*/)?${source}$` : `^${source}$`);
}

/** Translates body[start, end) into RegExp source. */
function compileSequence(pattern: string, body: string, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const ch = body[i]!;
    if (ch === '*') {
      if (body[i + 1] === '*') {
        // "**" only means "any depth" as a whole segment; elsewhere it degrades to "*".
        const atSegmentStart = i === start || body[i - 1] === '/';
        const atSegmentEnd = i + 2 >= end || body[i + 2] === '/';
        if (atSegmentStart && atSegmentEnd) {
          if (i + 2 >= end) {
            // Trailing "**": everything below (the directory itself is matched via the "(?:/.*)?" form).
            if (out.endsWith('/')) out = `${out.slice(0, -1)}(?:/.*)?`;
            else out += '.*';
            i += 2;
          } else {
            out += '(?:.*/)?'; // "**/" — zero or more whole segments
            i += 3;
          }
          continue;
        }
        out += '[^/]*';
        i += 2;
        continue;
      }
      out += '[^/]*';
      i += 1;
    } else if (ch === '?') {
      out += '[^/]';
      i += 1;
    } else if (ch === '[') {
      const close = body.indexOf(']', i + 2);
      if (close < 0 || close >= end) throw new GlobSyntaxError(pattern, `unclosed "[" at ${i}`);
      let cls = body.slice(i + 1, close);
      const negated = cls.startsWith('!') || cls.startsWith('^');
      if (negated) cls = cls.slice(1);
      const escaped = cls.replace(/[\\\]^]/g, '\\$&');
      out += negated ? `[^/${escaped}]` : `[${escaped}]`;
      i = close + 1;
    } else if (ch === '{') {
      const close = findBraceClose(body, i, end);
      if (close < 0) throw new GlobSyntaxError(pattern, `unclosed "{" at ${i}`);
      const alternatives = splitTopLevelCommas(body, i + 1, close).map(([s, e]) => compileSequence(pattern, body, s, e));
      out += `(?:${alternatives.join('|')})`;
      i = close + 1;
    } else if (ch === '\\' && i + 1 < end) {
      out += escapeRegExp(body[i + 1]!);
      i += 2;
    } else {
      out += escapeRegExp(ch);
      i += 1;
    }
  }
  return out;
}

function findBraceClose(body: string, open: number, end: number): number {
  let depth = 0;
  for (let i = open; i < end; i++) {
    if (body[i] === '\\') i++;
    else if (body[i] === '{') depth++;
    else if (body[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function splitTopLevelCommas(body: string, start: number, end: number): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  let depth = 0;
  let partStart = start;
  for (let i = start; i < end; i++) {
    const ch = body[i];
    if (ch === '\\') i++;
    else if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push([partStart, i]);
      partStart = i + 1;
    }
  }
  parts.push([partStart, end]);
  return parts;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A compiled set of globs; a path matches when it, or one of its ancestor directories, matches any glob. */
export class GlobSet {
  private readonly patterns: readonly RegExp[];

  constructor(globs: readonly string[]) {
    this.patterns = globs.map(globToRegExp);
  }

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /** True when the path itself matches (no ancestor check): used for include lists, which name files. */
  matchesExactly(relPath: string): boolean {
    return this.patterns.some((re) => re.test(relPath));
  }

  /** True when the path or any ancestor directory matches: "node_modules" excludes everything inside it. */
  matchesPathOrAncestor(relPath: string): boolean {
    let path = relPath;
    for (;;) {
      if (this.matchesExactly(path)) return true;
      const slash = path.lastIndexOf('/');
      if (slash < 0) return false;
      path = path.slice(0, slash);
    }
  }
}
