// Import edges between a repository's files, for the file order (order.ts): one scanner per language, chosen by
// file extension. The scanners are per-language regexes (no parsing): good enough to order, never used for
// correctness. Not tree-sitter, though check/grammars.ts has grammars for most of these languages: scanning runs on
// every file of a workspace, and parsing alone was ~60x slower than these scanners (400 files of node_modules,
// 1 MB: 330 ms vs 5 ms); the grammars also load asynchronously, and ordering is synchronous.
import * as path from 'node:path';
import { compareStrings } from './repoWalker';

/** What ordering needs from a file; RepoFile satisfies it. */
export interface OrderableFile {
  path: string;
  text: string;
  mtimeMs: number;
}

/** What a scanner may resolve against: every file path of the repository, and its Go module (go.mod) if any. */
interface ScanContext {
  paths: ReadonlySet<string>;
  goModule: GoModule | null;
}

/** A language's import scanner: the repository files `file` imports (resolved; external packages dropped). */
type ImportScanner = (file: OrderableFile, context: ScanContext) => string[];

const JS_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
const C_EXTENSIONS = ['.c', '.h', '.cc', '.cpp', '.cxx', '.hpp', '.hh', '.hxx', '.inl', '.ipp', '.m', '.mm'];

/** The scanner for each file extension (lower case); a file of any other extension imports nothing. */
const SCANNERS: ReadonlyMap<string, ImportScanner> = new Map<string, ImportScanner>([
  ...[...JS_EXTENSIONS, '.vue', '.svelte'].map((ext): [string, ImportScanner] => [ext, (file, { paths }) => jsImports(file, paths)]),
  ...['.py', '.pyi'].map((ext): [string, ImportScanner] => [ext, (file, { paths }) => pythonImports(file, paths)]),
  ['.go', (file, { paths, goModule }) => (goModule ? goImports(file, paths, goModule) : [])],
  ['.rs', (file, { paths }) => rustImports(file, paths)],
  ...C_EXTENSIONS.map((ext): [string, ImportScanner] => [ext, (file, { paths }) => cIncludes(file, paths)]),
]);

/** file → the repository files it imports (resolved; external packages dropped). */
export function buildImportGraph(files: readonly OrderableFile[]): Map<string, string[]> {
  const context: ScanContext = { paths: new Set(files.map((f) => f.path)), goModule: readGoModule(files) };
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const scan = SCANNERS.get(path.posix.extname(f.path).toLowerCase());
    const targets = new Set<string>();
    for (const t of scan?.(f, context) ?? []) if (t !== f.path) targets.add(t);
    graph.set(f.path, [...targets].sort(compareStrings));
  }
  return graph;
}

const JS_IMPORT = /(?:\bimport\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?|\bexport\s+(?:type\s+)?[\w*{}\s,$]+\s+from\s+|\brequire\s*\(\s*|\bimport\s*\(\s*)['"]([^'"\n]+)['"]/g;

function jsImports(file: OrderableFile, paths: ReadonlySet<string>): string[] {
  const dir = path.posix.dirname(file.path);
  const out: string[] = [];
  for (const m of file.text.matchAll(JS_IMPORT)) {
    const spec = m[1]!;
    if (!spec.startsWith('.')) continue; // bare specifiers are packages (or aliases we cannot see)
    const resolved = resolveModuleFile(path.posix.join(dir, spec), paths);
    if (resolved) out.push(resolved);
  }
  return out;
}

/** Resolves a JS/TS module path: exact, "./x.js" written for "./x.ts", added extensions, then index files. */
export function resolveModuleFile(target: string, paths: ReadonlySet<string>): string | undefined {
  const t = path.posix.normalize(target).replace(/^\.\//, '');
  if (t.startsWith('../')) return undefined;
  if (paths.has(t)) return t;
  const stem = t.replace(/\.(?:js|jsx|mjs|cjs)$/, '');
  for (const ext of [...JS_EXTENSIONS, '.d.ts', '.json', '.vue', '.svelte']) {
    if (paths.has(stem + ext)) return stem + ext;
  }
  for (const ext of JS_EXTENSIONS) if (paths.has(`${t}/index${ext}`)) return `${t}/index${ext}`;
  return undefined;
}

const PY_IMPORT = /^[ \t]*import[ \t]+([\w.]+(?:[ \t]+as[ \t]+\w+)?(?:[ \t]*,[ \t]*[\w.]+(?:[ \t]+as[ \t]+\w+)?)*)/gm;
const PY_FROM = /^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w \t,]*)/gm;

function pythonImports(file: OrderableFile, paths: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const roots = ['', 'src/', 'lib/'];
  const resolveAbsolute = (dotted: string): string | undefined => {
    const rel = dotted.split('.').join('/');
    for (const root of roots) {
      for (const candidate of [`${root}${rel}.py`, `${root}${rel}/__init__.py`, `${root}${rel}.pyi`]) {
        if (paths.has(candidate)) return candidate;
      }
    }
    return undefined;
  };
  for (const m of file.text.matchAll(PY_IMPORT)) {
    for (const part of m[1]!.split(',')) {
      const resolved = resolveAbsolute(part.trim().split(/\s+/)[0]!);
      if (resolved) out.push(resolved);
    }
  }
  for (const m of file.text.matchAll(PY_FROM)) {
    const dots = m[1]!.length;
    const module = m[2]!;
    const names = m[3]!.split(',').map((n) => n.trim().split(/\s+/)[0]!).filter((n) => /^\w+$/.test(n));
    let base: string | undefined;
    if (dots === 0) {
      const resolved = resolveAbsolute(module);
      if (resolved) out.push(resolved);
      base = resolved?.endsWith('/__init__.py') ? path.posix.dirname(resolved) : undefined;
    } else {
      let dir = path.posix.dirname(file.path);
      for (let i = 1; i < dots; i++) dir = path.posix.dirname(dir);
      const moduleRel = module ? path.posix.join(dir, module.split('.').join('/')) : dir;
      const clean = moduleRel === '.' ? '' : moduleRel;
      for (const candidate of [`${clean}.py`, `${clean}/__init__.py`].map((c) => c.replace(/^\//, ''))) {
        if (paths.has(candidate)) out.push(candidate);
      }
      base = clean;
    }
    // "from pkg import submodule" names files too.
    if (base !== undefined) {
      for (const name of names) {
        const candidate = base === '' ? `${name}.py` : `${base}/${name}.py`;
        if (paths.has(candidate)) out.push(candidate);
      }
    }
  }
  return out;
}

interface GoModule {
  /** Module path from go.mod, e.g. "example.com/app". */
  name: string;
  /** Directory of go.mod relative to the root ('' at the root). */
  dir: string;
}

function readGoModule(files: readonly OrderableFile[]): GoModule | null {
  const goMod = files.find((f) => f.path === 'go.mod') ?? files.find((f) => f.path.endsWith('/go.mod'));
  const name = goMod?.text.match(/^module\s+(\S+)/m)?.[1];
  if (!goMod || !name) return null;
  const dir = path.posix.dirname(goMod.path);
  return { name, dir: dir === '.' ? '' : dir };
}

function goImports(file: OrderableFile, paths: ReadonlySet<string>, mod: GoModule): string[] {
  const specs: string[] = [];
  for (const m of file.text.matchAll(/^import\s+(?:[\w.]+\s+)?"([^"]+)"/gm)) specs.push(m[1]!);
  for (const block of file.text.matchAll(/^import\s*\(([^)]*)\)/gm)) {
    for (const m of block[1]!.matchAll(/"([^"]+)"/g)) specs.push(m[1]!);
  }
  const out: string[] = [];
  for (const spec of specs) {
    if (spec !== mod.name && !spec.startsWith(`${mod.name}/`)) continue;
    const pkgDir = path.posix.join(mod.dir, spec.slice(mod.name.length).replace(/^\//, ''));
    const prefix = pkgDir === '.' || pkgDir === '' ? '' : `${pkgDir}/`;
    // A Go import names a package (a folder): depend on its non-test files.
    for (const p of paths) {
      if (p.startsWith(prefix) && !p.slice(prefix.length).includes('/') && p.endsWith('.go') && !p.endsWith('_test.go')) {
        out.push(p);
      }
    }
  }
  return out;
}

function rustImports(file: OrderableFile, paths: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const name = path.posix.basename(file.path);
  const dir = path.posix.dirname(file.path);
  // Children of src/lib.rs, main.rs and x/mod.rs live beside them; children of src/x.rs live in src/x/.
  const moduleDir = ['lib.rs', 'main.rs', 'mod.rs'].includes(name) ? dir : path.posix.join(dir, name.slice(0, -3));
  const find = (base: string, segments: readonly string[]): string | undefined => {
    // Longest prefix of the path that is a module file: "crate::a::b::Item" → a/b.rs, else a.rs.
    for (let n = segments.length; n > 0; n--) {
      const rel = path.posix.join(base, ...segments.slice(0, n)).replace(/^\.\//, '');
      if (paths.has(`${rel}.rs`)) return `${rel}.rs`;
      if (paths.has(`${rel}/mod.rs`)) return `${rel}/mod.rs`;
    }
    return undefined;
  };
  for (const m of file.text.matchAll(/^\s*(?:pub(?:\([\w:\s]+\))?\s+)?mod\s+(\w+)\s*;/gm)) {
    const found = find(moduleDir, [m[1]!]);
    if (found) out.push(found);
  }
  const crateRoot = cargoSourceRoot(file.path);
  for (const m of file.text.matchAll(/^\s*(?:pub(?:\([\w:\s]+\))?\s+)?use\s+((?:crate|super|self)(?:::\w+)+)/gm)) {
    const segments = m[1]!.split('::');
    const head = segments.shift()!;
    let base = head === 'crate' ? crateRoot : moduleDir;
    if (head === 'super') {
      base = path.posix.dirname(moduleDir);
      while (segments[0] === 'super') {
        segments.shift();
        base = path.posix.dirname(base);
      }
    }
    const found = find(base, segments);
    if (found) out.push(found);
  }
  return out;
}

/** The nearest enclosing "src" folder: where lib.rs/main.rs and the crate's module tree live. */
function cargoSourceRoot(filePath: string): string {
  const parts = filePath.split('/');
  const i = parts.lastIndexOf('src', parts.length - 2);
  return i >= 0 ? parts.slice(0, i + 1).join('/') : path.posix.dirname(filePath);
}

function cIncludes(file: OrderableFile, paths: ReadonlySet<string>): string[] {
  const dir = path.posix.dirname(file.path);
  const out: string[] = [];
  for (const m of file.text.matchAll(/^\s*#\s*(?:include|import)\s*[<"]([^>"\n]+)[>"]/gm)) {
    const spec = m[1]!;
    for (const base of [dir, '', 'include', 'src']) {
      const candidate = path.posix.normalize(path.posix.join(base, spec)).replace(/^\.\//, '');
      if (paths.has(candidate)) {
        out.push(candidate);
        break;
      }
    }
  }
  return out;
}
