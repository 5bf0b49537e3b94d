// Counterfactual renaming of a TypeScript/JavaScript repository sample (issue 11).
//
// Training samples that reuse real packages under their real names let the model memorise
// "name -> path" and "name -> value" instead of reading its context. Each training sample is
// renamed afresh: the identifiers the sample declares, its path components (directories and
// file stems; extensions and `index` kept) and the literal values of its top-level constants,
// consistently across files, with relative import specifiers rewritten to match. New names are
// real identifiers and path components of *other* packages, in the same style, so the code still
// reads like real code. The question generator then runs on the renamed text, so every answer is
// true of what the model sees. Knowledge comes from the TypeScript parser, not text replacement.
import ts from 'typescript';
import { isConstantArithmetic } from './questions-ts';

export interface RepoFile { path: string; text: string }
type Style = 'upper' | 'pascal' | 'camel' | 'snake';

const STYLES: [Style, RegExp][] = [
  ['upper', /^[A-Z][A-Z0-9_]*[A-Z0-9]$/],
  ['pascal', /^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$/],
  ['camel', /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$/],
  ['snake', /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/],
];
// globals and words whose meaning is fixed by the platform: never renamed
const KEEP = new Set<string>([
  ...Object.getOwnPropertyNames(globalThis),
  'require', 'module', 'exports', 'arguments', 'undefined', 'this', 'default', 'constructor', 'prototype', 'length',
  'window', 'document', 'process', 'Buffer', '__dirname', '__filename', 'global', 'console', 'then', 'catch', 'name',
  'toString', 'valueOf', 'call', 'apply', 'bind', 'push', 'index', 'get', 'set', 'has', 'delete', 'keys', 'values', 'from',
  // reserved words (never usable as new names)
  'break', 'case', 'class', 'const', 'continue', 'debugger', 'do', 'else', 'enum', 'export', 'extends', 'false', 'finally',
  'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super', 'switch', 'throw', 'true', 'try',
  'typeof', 'var', 'void', 'while', 'with', 'yield', 'let', 'static', 'implements', 'interface', 'package', 'private',
  'protected', 'public', 'await', 'async', 'of', 'as', 'type', 'readonly', 'declare', 'abstract', 'namespace', 'module',
  'keyof', 'infer', 'is', 'unique', 'never', 'unknown', 'any', 'string', 'number', 'boolean', 'symbol', 'object', 'bigint',
]);

function styleOf(name: string): { prefix: string; style: Style } | undefined {
  const core = name.replace(/^[_$]+/, '');
  if (!core) return undefined;
  for (const [style, re] of STYLES) if (re.test(core)) return { prefix: name.slice(0, name.length - core.length), style };
  return undefined;
}

export class NamePool {
  readonly byStyle: Record<Style, string[]> = { upper: [], pascal: [], camel: [], snake: [] };
  readonly paths: string[] = [];
  readonly kebab: string[] = [];

  static fromSources(files: RepoFile[]): NamePool {
    const pool = new NamePool();
    const seen = new Set<string>();
    const pathSeen = new Set<string>();
    for (const f of files) {
      for (const m of f.text.matchAll(/[A-Za-z_$][A-Za-z0-9_$]{2,24}/g)) {
        const n = m[0];
        if (seen.has(n) || KEEP.has(n)) continue;
        seen.add(n);
        const s = styleOf(n);
        if (s && !s.prefix) pool.byStyle[s.style].push(n);
      }
      for (const comp of f.path.split('/')) {
        const stem = comp.split('.')[0];
        if (pathSeen.has(stem) || stem === 'index' || stem.length < 2 || stem.length > 24) continue;
        pathSeen.add(stem);
        if (/^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$/.test(stem)) pool.kebab.push(stem);
        else if (/^[A-Za-z][A-Za-z0-9_]*$/.test(stem)) pool.paths.push(stem);
      }
    }
    for (const a of [...Object.values(pool.byStyle), pool.paths, pool.kebab]) a.sort();
    return pool;
  }
}

function kindOf(p: string): ts.ScriptKind {
  if (p.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (p.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.(js|mjs|cjs)$/.test(p)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

interface Edit { start: number; end: number; text: string }
function splice(text: string, edits: Edit[]): string {
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  let last = Infinity;
  for (const e of edits) {
    if (e.end > last) continue; // overlapping: keep the later edit
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
    last = e.start;
  }
  return out;
}

/** Names a source file declares (functions, classes, types, variables, parameters, `exports.X`). */
function declaredNames(sf: ts.SourceFile): Set<string> {
  const out = new Set<string>();
  const bind = (n: ts.BindingName): void => {
    if (ts.isIdentifier(n)) out.add(n.text);
    else for (const el of n.elements) if (!ts.isOmittedExpression(el)) bind(el.name);
  };
  const visit = (n: ts.Node): void => {
    if ((ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n) || ts.isFunctionExpression(n) || ts.isClassExpression(n)) && n.name) out.add(n.name.text);
    else if (ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n) || ts.isEnumDeclaration(n)) out.add(n.name.text);
    else if (ts.isVariableDeclaration(n) || ts.isParameter(n)) bind(n.name);
    else if (ts.isMethodDeclaration(n) && ts.isIdentifier(n.name)) out.add(n.name.text);
    else if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(n.left)) {
      const obj = n.left.expression.getText(sf);
      if (obj === 'exports' || obj === 'module.exports') out.add(n.left.name.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function moduleSpecifiers(sf: ts.SourceFile): ts.StringLiteral[] {
  const out: ts.StringLiteral[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) out.push(n.moduleSpecifier);
    else if (ts.isCallExpression(n) && n.arguments.length === 1 && ts.isStringLiteral(n.arguments[0]) &&
             ((ts.isIdentifier(n.expression) && n.expression.text === 'require') || n.expression.kind === ts.SyntaxKind.ImportKeyword)) out.push(n.arguments[0]);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

export class Renamer {
  constructor(private readonly pool: NamePool, private readonly rand: () => number, private readonly constShare = 0.9) {}

  private pick<T>(a: T[]): T { return a[Math.floor(this.rand() * a.length)]; }

  private draw(list: string[], taken: Set<string>): string {
    for (let i = 0; i < 200; i++) {
      const n = this.pick(list);
      if (!taken.has(n)) { taken.add(n); return n; }
    }
    throw new Error('name pool exhausted');
  }

  /** Renamed copies of `files` and the mapping used (old -> new, identifiers and path components). */
  rename(files: RepoFile[]): { files: RepoFile[]; mapping: Map<string, string> } {
    const taken = new Set<string>();
    for (const f of files) {
      for (const m of f.text.matchAll(/[A-Za-z_$][A-Za-z0-9_$]*/g)) taken.add(m[0]);
      for (const c of f.path.split(/[/.]/)) taken.add(c);
    }
    const mapping = new Map<string, string>();
    const mapComp = (comp: string): void => {
      if (comp === 'index' || comp === '.' || comp === '..' || comp === '' || mapping.has(comp) || KEEP.has(comp)) return;
      if (/^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$/.test(comp) && this.pool.kebab.length) mapping.set(comp, this.draw(this.pool.kebab, taken));
      else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(comp)) {
        const s = styleOf(comp);
        mapping.set(comp, s && s.style !== 'snake' && !/^[a-z]+$/.test(comp) ? s.prefix + this.draw(this.pool.byStyle[s.style], taken) : this.draw(this.pool.paths, taken));
      }
    };
    for (const f of files) {
      const parts = f.path.split('/');
      parts.forEach((c, i) => mapComp(i === parts.length - 1 ? c.split('.')[0] : c));
    }
    const sfs = files.map((f) => ts.createSourceFile(f.path, f.text, ts.ScriptTarget.Latest, true, kindOf(f.path)));
    for (const sf of sfs) {
      for (const n of [...declaredNames(sf)].sort()) {
        if (mapping.has(n) || KEEP.has(n)) continue;
        const s = styleOf(n);
        if (s) mapping.set(n, s.prefix + this.draw(this.pool.byStyle[s.style], taken));
      }
    }
    const out = files.map((f, i) => ({ path: renamePath(f.path, mapping), text: this.renameText(sfs[i], mapping, taken) }));
    return { files: out, mapping };
  }

  private renameText(sf: ts.SourceFile, mapping: Map<string, string>, taken: Set<string>): string {
    const edits: Edit[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n)) {
        const to = mapping.get(n.text);
        if (to !== undefined) edits.push({ start: n.getStart(sf), end: n.getEnd(), text: to });
        return;
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    for (const spec of moduleSpecifiers(sf)) {
      if (!spec.text.startsWith('.')) continue;
      const q = sf.text[spec.getStart(sf)];
      edits.push({ start: spec.getStart(sf), end: spec.getEnd(), text: q + renameSpecifier(spec.text, mapping) + q });
    }
    for (const lit of this.constantLiterals(sf)) {
      if (this.rand() > this.constShare) continue;
      const text = this.freshLiteral(lit, sf, taken);
      if (text !== undefined) edits.push({ start: lit.getStart(sf), end: lit.getEnd(), text });
    }
    return splice(sf.text, edits);
  }

  /** Literal initialisers of top-level constants (`const X = 3`, `exports.X = 'a'`): what `const` questions ask. */
  private constantLiterals(sf: ts.SourceFile): ts.Expression[] {
    const out: ts.Expression[] = [];
    for (const st of sf.statements) {
      if (ts.isVariableStatement(st) && (st.declarationList.flags & ts.NodeFlags.Const) !== 0) {
        for (const d of st.declarationList.declarations) if (d.initializer) out.push(d.initializer);
      } else if (ts.isExpressionStatement(st) && ts.isBinaryExpression(st.expression) && st.expression.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        out.push(st.expression.right);
      }
    }
    const isLiteral = (e: ts.Expression): boolean => ts.isNumericLiteral(e) || ts.isStringLiteral(e) ||
      (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(e.operand));
    // an arithmetic value (`1 << 16`) gets fresh numbers in place; its names are renamed with the others
    const numbersIn = (e: ts.Expression): ts.Expression[] => {
      if (ts.isNumericLiteral(e)) return [e];
      if (ts.isParenthesizedExpression(e)) return numbersIn(e.expression);
      if (ts.isPrefixUnaryExpression(e)) return numbersIn(e.operand);
      return ts.isBinaryExpression(e) ? [...numbersIn(e.left), ...numbersIn(e.right)] : [];
    };
    return out.map((e) => (ts.isAsExpression(e) || ts.isParenthesizedExpression(e) ? e.expression : e))
      .flatMap((e) => (isLiteral(e) ? [e] : ts.isBinaryExpression(e) && isConstantArithmetic(e) ? numbersIn(e) : []));
  }

  private freshLiteral(e: ts.Expression, sf: ts.SourceFile, taken: Set<string>): string | undefined {
    if (ts.isPrefixUnaryExpression(e)) {
      const inner = this.freshLiteral(e.operand, sf, taken);
      return inner === undefined ? undefined : '-' + inner;
    }
    const text = e.getText(sf);
    if (ts.isNumericLiteral(e)) {
      if (/^0x[0-9a-f]+$/i.test(text)) return '0x' + Math.floor(this.rand() * 16 ** Math.min(8, text.length - 2)).toString(16);
      const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
      if (!m) return undefined;
      const digits = (n: number, lead: boolean): string => {
        let s = '';
        for (let i = 0; i < n; i++) s += String(Math.floor(this.rand() * (lead && i === 0 && n > 1 ? 9 : 10)) + (lead && i === 0 && n > 1 ? 1 : 0));
        return s;
      };
      return digits(m[1].length, true) + (m[2] !== undefined ? '.' + digits(m[2].length, false) : '');
    }
    if (text.length > 40 || text.includes('\\') || text.includes('\n')) return undefined;
    const words = [this.draw(this.pool.paths, taken)];
    if (this.rand() < 0.4) words.push(this.draw(this.pool.paths, taken));
    return text[0] + words.join(this.pick(['-', '_', ' ', '.', '/'])).slice(0, 30) + text[0];
  }
}

function renameComp(comp: string, mapping: Map<string, string>, last: boolean): string {
  if (!last) return mapping.get(comp) ?? comp;
  const dot = comp.indexOf('.');
  const stem = dot < 0 ? comp : comp.slice(0, dot);
  return (mapping.get(stem) ?? stem) + (dot < 0 ? '' : comp.slice(dot));
}

export function renamePath(path: string, mapping: Map<string, string>): string {
  const parts = path.split('/');
  return parts.map((c, i) => renameComp(c, mapping, i === parts.length - 1)).join('/');
}

export function renameSpecifier(spec: string, mapping: Map<string, string>): string {
  const parts = spec.split('/');
  return parts.map((c, i) => renameComp(c, mapping, i === parts.length - 1)).join('/');
}
