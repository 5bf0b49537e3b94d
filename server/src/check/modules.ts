// Module specifiers to streamed files: JavaScript/TypeScript relative imports (with the extensions and index files
// bundlers try), Python relative and absolute dotted modules, and slash paths inside the repository.
import * as posix from 'node:path/posix';

const JS_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx', '.d.ts'];

/** The streamed files a specifier written in `from` may name. */
export function resolvedTargets(from: string, spec: string, paths: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const dir = posix.dirname(from);
  if (/^\.+(?:[A-Za-z_][\w.]*)?$/.test(spec)) {
    // Python relative import: `.`, `..base`, `.mime.base`.
    const level = /^\.+/.exec(spec)![0].length;
    let base = dir;
    for (let i = 1; i < level; i++) base = posix.dirname(base);
    const rest = spec.slice(level).replace(/\./g, '/');
    const stem = rest ? posix.join(base, rest) : base;
    out.push(`${stem}.py`, `${stem}/__init__.py`);
  } else if (spec.startsWith('./') || spec.startsWith('../')) {
    const base = posix.normalize(posix.join(dir, spec));
    const stem = base.replace(/\.(js|mjs|cjs|jsx)$/, '');
    out.push(base, ...JS_EXTENSIONS.flatMap((e) => [stem + e, base + e]), ...['/index.ts', '/index.js', '/index.mjs', '/index.d.ts'].map((e) => base + e));
  } else {
    // Absolute module paths inside the repository: Python `a.b`, Go/Java-style `a/b`.
    const stem = spec.replace(/\./g, '/');
    out.push(`${stem}.py`, `${stem}/__init__.py`, spec);
  }
  return out.filter((p) => paths.has(p));
}

