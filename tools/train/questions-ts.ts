// Ground truth for repository questions over TypeScript/JavaScript, from the TypeScript parser: what each
// file defines and imports (facts), and the questions those facts answer (questionsFor). Shared by the
// question generator (gen-questions.ts) and its tests.
import ts from 'typescript';
import { posix } from 'node:path';
import { isDeclarationFile } from '../../server/src/check/outline';

export interface RepoFile { path: string; text: string }
export interface Question {
  question: string; answer: string; type: string; form?: 'trace' | 'bare'; trace?: string;
  evidence: { path: string; pos: number }[];
  name?: string; kind?: string; // the symbol asked about, for re-wording (question_templates.json)
}
export interface Def { name: string; path: string; kind: string; pos: number; params?: string[]; value?: string; valueRef?: string; exported: boolean }
export interface Imp { path: string; spec: string; resolved?: string; names: { local: string; imported: string }[]; pos: number }

// ---------- parsing ----------
export const JS_RE = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$/;
export function kindOf(p: string): ts.ScriptKind {
  if (p.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (p.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.(js|mjs|cjs)$/.test(p)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}
function isExported(n: ts.Node): boolean {
  const mods = ts.canHaveModifiers(n) ? ts.getModifiers(n) : undefined;
  return !!mods?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}
function paramNames(ps: ts.NodeArray<ts.ParameterDeclaration>): string[] | undefined {
  const out: string[] = [];
  for (const p of ps) {
    if (!ts.isIdentifier(p.name)) return undefined; // destructuring: skip
    if (p.name.text === 'this') continue;
    out.push((p.dotDotDotToken ? '...' : '') + p.name.text);
  }
  return out;
}
function literalText(e: ts.Expression, sf: ts.SourceFile): string | undefined {
  if (ts.isNumericLiteral(e) || ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e) ||
      e.kind === ts.SyntaxKind.TrueKeyword || e.kind === ts.SyntaxKind.FalseKeyword || e.kind === ts.SyntaxKind.NullKeyword) {
    const t = e.getText(sf);
    return t.length <= 40 && !t.includes('\n') ? t : undefined;
  }
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(e.operand)) return e.getText(sf);
  if (ts.isAsExpression(e) || ts.isParenthesizedExpression(e)) return literalText(e.expression, sf);
  if (ts.isBinaryExpression(e) && isConstantArithmetic(e)) {
    const t = e.getText(sf);
    return t.length <= 40 && !t.includes('\n') ? t : undefined;
  }
  return undefined;
}

const ARITHMETIC = new Set([ts.SyntaxKind.PlusToken, ts.SyntaxKind.MinusToken, ts.SyntaxKind.AsteriskToken, ts.SyntaxKind.SlashToken,
  ts.SyntaxKind.PercentToken, ts.SyntaxKind.AsteriskAsteriskToken, ts.SyntaxKind.LessThanLessThanToken, ts.SyntaxKind.GreaterThanGreaterThanToken,
  ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken, ts.SyntaxKind.AmpersandToken, ts.SyntaxKind.BarToken, ts.SyntaxKind.CaretToken]);

/**
 * `1 << 16`, `24 * 60 * 60 * 1000`, `(RESOLUTION_MS >> 1) - 1`, `2 | USE_FAST_TIMER`: arithmetic over numbers and names.
 * A const question's answer is then the whole expression as written, so the model learns to copy a value to its end,
 * not only its first token (it answered `1` for `TWO_PWR_16_DBL = 1 << 16` when every trained value was one literal).
 */
export function isConstantArithmetic(e: ts.Expression): boolean {
  if (ts.isNumericLiteral(e) || ts.isIdentifier(e)) return true;
  if (ts.isParenthesizedExpression(e)) return isConstantArithmetic(e.expression);
  if (ts.isPrefixUnaryExpression(e)) return (e.operator === ts.SyntaxKind.MinusToken || e.operator === ts.SyntaxKind.TildeToken) && isConstantArithmetic(e.operand);
  return ts.isBinaryExpression(e) && ARITHMETIC.has(e.operatorToken.kind) && isConstantArithmetic(e.left) && isConstantArithmetic(e.right);
}

interface FileFacts { defs: Def[]; imps: Imp[] }
const factCache = new Map<string, FileFacts>();
export function facts(f: RepoFile, key: string): FileFacts {
  const c = key ? factCache.get(key) : undefined;
  if (c) return c;
  const sf = ts.createSourceFile(f.path, f.text, ts.ScriptTarget.Latest, true, kindOf(f.path));
  const defs: Def[] = [];
  const imps: Imp[] = [];
  const lineStart = (n: ts.Node): number => n.getStart(sf);
  const addImp = (spec: string, names: { local: string; imported: string }[], pos: number): void => { imps.push({ path: f.path, spec, names, pos }); };
  for (const st of sf.statements) {
    const exp = isExported(st);
    if (ts.isFunctionDeclaration(st) && st.name) {
      defs.push({ name: st.name.text, path: f.path, kind: 'function', pos: lineStart(st), params: st.body ? paramNames(st.parameters) : undefined, exported: exp });
    } else if (ts.isClassDeclaration(st) && st.name) {
      defs.push({ name: st.name.text, path: f.path, kind: 'class', pos: lineStart(st), exported: exp });
    } else if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st)) {
      defs.push({ name: st.name.text, path: f.path, kind: 'type', pos: lineStart(st), exported: exp });
    } else if (ts.isVariableStatement(st)) {
      const isConst = (st.declarationList.flags & ts.NodeFlags.Const) !== 0;
      for (const d of st.declarationList.declarations) {
        const init = d.initializer;
        if (ts.isIdentifier(d.name)) {
          const def: Def = { name: d.name.text, path: f.path, kind: 'variable', pos: lineStart(st), exported: exp };
          if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))) { def.kind = 'function'; def.params = paramNames(init.parameters); }
          else if (init && isConst) {
            def.value = literalText(init, sf);
            if (!def.value && ts.isIdentifier(init)) def.valueRef = init.text;
          }
          // const x = require('y')
          if (init && ts.isCallExpression(init) && ts.isIdentifier(init.expression) && init.expression.text === 'require' &&
              init.arguments.length === 1 && ts.isStringLiteral(init.arguments[0])) {
            addImp(init.arguments[0].text, [{ local: d.name.text, imported: '*' }], lineStart(st));
            continue;
          }
          defs.push(def);
        } else if (ts.isObjectBindingPattern(d.name) && init && ts.isCallExpression(init) && ts.isIdentifier(init.expression) &&
                   init.expression.text === 'require' && init.arguments.length === 1 && ts.isStringLiteral(init.arguments[0])) {
          const names: { local: string; imported: string }[] = [];
          for (const el of d.name.elements) {
            if (ts.isIdentifier(el.name)) names.push({ local: el.name.text, imported: el.propertyName && ts.isIdentifier(el.propertyName) ? el.propertyName.text : el.name.text });
          }
          addImp(init.arguments[0].text, names, lineStart(st));
        }
      }
    } else if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const names: { local: string; imported: string }[] = [];
      const cl = st.importClause;
      if (cl?.name) names.push({ local: cl.name.text, imported: 'default' });
      if (cl?.namedBindings && ts.isNamedImports(cl.namedBindings)) {
        for (const el of cl.namedBindings.elements) names.push({ local: el.name.text, imported: (el.propertyName ?? el.name).text });
      }
      addImp(st.moduleSpecifier.text, names, lineStart(st));
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      addImp(st.moduleSpecifier.text, [], lineStart(st));
    } else if (ts.isExpressionStatement(st) && ts.isBinaryExpression(st.expression) && st.expression.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
      // exports.foo = ... / module.exports.foo = ...
      const l = st.expression.left;
      const r = st.expression.right;
      if (ts.isPropertyAccessExpression(l) && (l.expression.getText(sf) === 'exports' || l.expression.getText(sf) === 'module.exports')) {
        const def: Def = { name: l.name.text, path: f.path, kind: 'variable', pos: lineStart(st), exported: true };
        if (ts.isFunctionExpression(r) || ts.isArrowFunction(r)) { def.kind = 'function'; def.params = paramNames(r.parameters); }
        else { def.value = literalText(r, sf); }
        if (!(ts.isIdentifier(r) && r.text === l.name.text)) defs.push(def); // skip `exports.x = x`
      }
    }
  }
  const out = { defs, imps };
  if (key) factCache.set(key, out); // renamed samples are unique: not cached
  return out;
}

export function resolveSpec(from: string, spec: string, paths: Set<string>): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  const stem = base.replace(/\.(js|mjs|cjs|jsx)$/, '');
  const cands = [base, ...['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx', '.d.ts'].flatMap((e) => [stem + e, base + e]),
    ...['/index.ts', '/index.js', '/index.mjs', '/index.d.ts'].map((e) => base + e)];
  return cands.find((c) => paths.has(c));
}

// ---------- questions ----------
export const code = (s: string): string => '`' + s + '`';
export function questionsFor(files: RepoFile[], keyOf: (f: RepoFile) => string): Question[] {
  const all = files.map((f) => facts(f, keyOf(f)));
  const paths = new Set(files.map((f) => f.path));
  const defsByName = new Map<string, Def[]>();
  for (const fa of all) for (const d of fa.defs) { const a = defsByName.get(d.name) ?? []; a.push(d); defsByName.set(d.name, a); }
  // A `.d.ts` only declares what a .js beside it implements: where both are in the window, the implementation is
  // the answer (issue 11: cf8 answered index.d.ts for base64-js's toByteArray). A name only a .d.ts has stays there.
  for (const [name, ds] of defsByName) {
    const implemented = ds.filter((d) => !isDeclarationFile(d.path));
    if (implemented.length > 0 && implemented.length < ds.length) defsByName.set(name, implemented);
  }
  const unique = (name: string): Def | undefined => {
    const ds = defsByName.get(name);
    return ds && ds.length === 1 ? ds[0] : undefined;
  };
  const qs: Question[] = [];
  const valid = (n: string): boolean => n.length >= 2 && n.length <= 40;
  for (const [name, ds] of defsByName) {
    if (ds.length !== 1 || !valid(name)) continue;
    const d = ds[0];
    const kind = d.value !== undefined ? 'constant' : d.kind;
    // A function or value only declared has no answer here when its .js is outside the window; with the .js in the
    // window and not defining it (it re-exports or uses a global: queue-microtask, wsl-utils), the declaration is
    // the answer. Types live in .d.ts.
    const implementationInWindow = paths.has(d.path.replace(/\.d\.([cm]?)ts$/, '.$1js'));
    if (!isDeclarationFile(d.path) || d.kind === 'type' || implementationInWindow) qs.push({ question: `Where is ${code(name)} defined?`, answer: d.path, type: 'where', evidence: [d], name, kind });
    if (d.kind === 'function' && d.params) qs.push({ question: `What parameters does function ${code(name)} take?`, answer: d.params.length ? d.params.join(', ') : 'none', type: 'params', evidence: [d], name, kind });
    if (d.value !== undefined) qs.push({ question: `What does constant ${code(name)} equal?`, answer: d.value, type: 'const', evidence: [d], name, kind });
  }
  // which files import Z
  const importers = new Map<string, Map<string, number>>();
  for (const fa of all) for (const im of fa.imps) {
    im.resolved = resolveSpec(im.path, im.spec, paths);
    const z = im.resolved ?? (im.spec.startsWith('.') ? undefined : im.spec);
    if (!z) continue;
    const m = importers.get(z) ?? new Map<string, number>();
    if (!m.has(im.path)) m.set(im.path, im.pos);
    importers.set(z, m);
  }
  for (const [z, m] of importers) {
    if (m.size > 4) continue;
    const ps = [...m.keys()].sort();
    qs.push({ question: `Which files import ${code(z)}?`, answer: ps.join(', '), type: 'imports', evidence: ps.map((p) => ({ path: p, pos: m.get(p) ?? 0 })), name: z, kind: 'module' });
  }
  // multi-hop via imports
  for (const fa of all) for (const im of fa.imps) {
    if (!im.resolved) continue;
    for (const nm of im.names) {
      if (nm.imported === '*' || nm.imported === 'default' || !valid(nm.local)) continue;
      const target = all[files.findIndex((f) => f.path === im.resolved)]?.defs.filter((d) => d.name === nm.imported);
      if (!target || target.length !== 1) continue;
      const d = target[0];
      // The trace names only the hop the question cannot see: where the import comes from. It stays short so
      // trace and answer fit the judge's 48 tokens (the longer "X imports Y from S, which is P. P defines Y."
      // overran it for 38 of 88 held-out multi-hop questions, and the model drifted inside it).
      const hop = `${code(nm.local)} comes from '${im.spec}'`;
      const ev = [{ path: im.path, pos: im.pos }, d];
      qs.push({ question: `Where is ${code(nm.local)}, as imported by ${im.path}, defined?`, answer: d.path, type: 'multihop-def',
        trace: `${hop}.`, evidence: ev });
      if (d.kind === 'function' && d.params) {
        const ans = d.params.length ? d.params.join(', ') : 'none';
        qs.push({ question: `What parameters does ${code(nm.local)}, as imported by ${im.path}, take?`, answer: ans, type: 'multihop-params',
          trace: `${hop}, which is ${d.path}.`, evidence: ev });
      }
    }
  }
  // multi-hop value: const A = B, B a literal constant (possibly imported from another file)
  for (const fa of all) for (const a of fa.defs) {
    if (!a.valueRef || !valid(a.name)) continue;
    let b: Def | undefined;
    let via = '';
    const im = fa.imps.find((i) => i.resolved && i.names.some((n) => n.local === a.valueRef));
    if (im) {
      const imported = im.names.find((n) => n.local === a.valueRef)?.imported;
      b = all[files.findIndex((f) => f.path === im.resolved)]?.defs.find((d) => d.name === imported && d.value !== undefined);
      via = `, imported from '${im.spec}' (${im.resolved})`;
    } else {
      const cand = unique(a.valueRef);
      if (cand && cand.value !== undefined && cand.path === a.path) b = cand;
    }
    if (!b || b.value === undefined) continue;
    qs.push({ question: `What value does ${code(a.name)} in ${a.path} resolve to?`, answer: b.value, type: 'multihop-value',
      trace: `In ${a.path}, ${code(a.name)} = ${code(a.valueRef)}${via}. In ${b.path}, ${code(b.name)} = ${b.value}.`, evidence: [a, b] });
  }
  return qs;
}

