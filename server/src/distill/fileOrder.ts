// The order files stream in. The distilled cache keeps what later tokens attend to, so order matters:
//  - README and entry points first: the overview that frames everything after it;
//  - then along the import graph, dependencies before dependents, so definitions tend to precede uses;
//  - the most recently modified files last, so the code being worked on is freshest in the cache.
// Import edges come from per-language regexes (no parsing): good enough to order, never used for correctness.
import * as path from 'node:path';
import { compareStrings } from './repoWalker';

/** 'imports': README/entry points, import-graph order, recent files last. 'path': by path. 'mtime': oldest first. */
export type FileOrder = 'imports' | 'path' | 'mtime';

/** What ordering needs from a file; RepoFile satisfies it. */
export interface OrderableFile {
  path: string;
  text: string;
  mtimeMs: number;
}

export interface OrderOptions {
  order?: FileOrder;
  /**
   * 'imports' order: at most this many of the most recently modified files move to the end (default 8). Only
   * files strictly newer than the median modification time qualify, so a fresh checkout, where every file has
   * about the same time, keeps its import order.
   */
  recentTail?: number;
}

const DEFAULT_RECENT_TAIL = 8;

export function orderFiles<T extends OrderableFile>(files: readonly T[], options: OrderOptions = {}): T[] {
  const order = options.order ?? 'imports';
  const byPath = [...files].sort((a, b) => compareStrings(a.path, b.path));
  switch (order) {
    case 'path':
      return byPath;
    case 'mtime':
      return byPath.sort((a, b) => a.mtimeMs - b.mtimeMs || compareStrings(a.path, b.path));
    case 'imports':
      return orderByImports(byPath, options.recentTail ?? DEFAULT_RECENT_TAIL);
    default:
      throw new RangeError(`unknown file order "${String(order)}" (expected imports, path or mtime)`);
  }
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
    .filter((f) => f.mtimeMs > median)
    .sort((a, b) => b.mtimeMs - a.mtimeMs || compareStrings(a.path, b.path))
    .slice(0, limit)
    .map((f) => f.path);
}

/**
 * Kahn's algorithm over strongly connected components, dependencies first. Ties (and members of one cycle)
 * go in path order, so the result is stable and a cycle is broken the same way every time.
 */
export function topologicalOrder(paths: readonly string[], graph: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(paths);
  const deps = new Map<string, string[]>();
  for (const p of paths) deps.set(p, (graph.get(p) ?? []).filter((d) => d !== p && members.has(d)));
  const components = stronglyConnectedComponents(paths, deps);
  const componentOf = new Map<string, number>();
  components.forEach((c, i) => c.forEach((p) => componentOf.set(p, i)));
  const rank = new Map(paths.map((p, i) => [p, i] as const));
  const compKey = components.map((c) => Math.min(...c.map((p) => rank.get(p)!)));

  // Edges component(dep) → component(dependent); a component is ready once all its dependencies are out.
  const remaining = components.map(() => 0);
  const dependents = components.map(() => new Set<number>());
  for (const [p, ds] of deps) {
    const cp = componentOf.get(p)!;
    for (const d of ds) {
      const cd = componentOf.get(d)!;
      if (cd !== cp && !dependents[cd]!.has(cp)) {
        dependents[cd]!.add(cp);
        remaining[cp]!++;
      }
    }
  }
  const ready = new MinHeap<number>((a, b) => compKey[a]! - compKey[b]!);
  remaining.forEach((n, i) => n === 0 && ready.push(i));
  const out: string[] = [];
  while (ready.size > 0) {
    const c = ready.pop()!;
    out.push(...[...components[c]!].sort((a, b) => rank.get(a)! - rank.get(b)!));
    for (const dependent of dependents[c]!) if (--remaining[dependent]! === 0) ready.push(dependent);
  }
  return out;
}

/** Tarjan's algorithm, iterative (import chains in big repositories are deep enough to overflow recursion). */
function stronglyConnectedComponents(nodes: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = deps.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const w = edges[frame.next++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(a[i]!, a[parent]!) >= 0) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

// ---- import graph ----------------------------------------------------------------------------------------

/** file → the repository files it imports (resolved; external packages dropped). */
export function buildImportGraph(files: readonly OrderableFile[]): Map<string, string[]> {
  const paths = new Set(files.map((f) => f.path));
  const goModule = readGoModule(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const targets = new Set<string>();
    for (const t of importsOf(f, paths, goModule)) if (t !== f.path) targets.add(t);
    graph.set(f.path, [...targets].sort(compareStrings));
  }
  return graph;
}

function importsOf(file: OrderableFile, paths: ReadonlySet<string>, goModule: GoModule | null): string[] {
  const ext = path.posix.extname(file.path).toLowerCase();
  if (JS_EXTENSIONS.includes(ext) || ext === '.vue' || ext === '.svelte') return jsImports(file, paths);
  if (ext === '.py' || ext === '.pyi') return pythonImports(file, paths);
  if (ext === '.go') return goModule ? goImports(file, paths, goModule) : [];
  if (ext === '.rs') return rustImports(file, paths);
  if (C_EXTENSIONS.includes(ext)) return cIncludes(file, paths);
  return [];
}

const JS_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
const C_EXTENSIONS = ['.c', '.h', '.cc', '.cpp', '.cxx', '.hpp', '.hh', '.hxx', '.inl', '.ipp', '.m', '.mm'];

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
function resolveModuleFile(target: string, paths: ReadonlySet<string>): string | undefined {
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
