// RepoPot repository-question generator (issue 7).
//
// Builds small "repositories" (windows of files from one corpus package, each
// file preceded by a `<|file|> path` header) and asks questions whose ground
// truth comes from the TypeScript compiler API (parser only, no type checker):
//
//   where           Where is `X` defined?                     -> path
//   params          What parameters does function `X` take?   -> "a, b, ...rest" | "none"
//   const           What does constant `Y` equal?             -> literal source text
//   imports         Which files import `Z`?                   -> "p1, p2" (sorted)
//   multihop-def    Where is `N`, as imported by `F`, defined?            (import -> file)
//   multihop-params What parameters does `N`, as imported by `F`, take?   (import -> file -> decl)
//   multihop-value  What value does `A` in `F` resolve to?                (A = B, B literal elsewhere)
//
// Multi-hop questions come in two forms: "trace" (short reasoning then the
// answer) and "bare" (answer only).
//
// Usage (run from the repo root):
//   node --import tsx tools/train/gen-questions.ts --mode train --split train \
//        --budget 400 --repos 12000 --out .train/qa/stage1.jsonl
//   node --import tsx tools/train/gen-questions.ts --mode eval --split heldout \
//        --budget 1024 --out data/eval/lookup-1k.jsonl
//
// Inputs: .train/corpus/files.jsonl (tools/train/build_corpus.py), tokenizer
// dir (default .train/tok, or models/repopot-tiny-code) for exact token counts.
// Train records: {pkg, files, questions: [{question, answer, type, form, trace?}]}
// Eval records:  {id, pkg, files, question, answer, type, depth, form?, trace?, tokens}
//   depth = tokens between the start of the (farthest) evidence line and the
//   end of the repository text, i.e. how far back the model has to look.
import ts from 'typescript';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

interface CorpusFile { pkg: string; split: string; lang: string; path: string; text: string }
interface RepoFile { path: string; text: string }
interface Question {
  question: string; answer: string; type: string; form?: 'trace' | 'bare'; trace?: string;
  evidence: { path: string; pos: number }[];
}
interface Def { name: string; path: string; kind: string; pos: number; params?: string[]; value?: string; valueRef?: string; exported: boolean }
interface Imp { path: string; spec: string; resolved?: string; names: { local: string; imported: string }[]; pos: number }

// ---------- args ----------
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const MODE = args.get('mode') ?? 'train';
const SPLIT = args.get('split') ?? (MODE === 'eval' ? 'heldout' : 'train');
const BUDGET = Number(args.get('budget') ?? 400);
const NREPOS = Number(args.get('repos') ?? 1000);
const OUT = args.get('out') ?? '.train/qa/out.jsonl';
const CORPUS = args.get('corpus') ?? '.train/corpus/files.jsonl';
const TOKDIR = args.get('tokenizer') ?? '.train/tok';
const SEED = Number(args.get('seed') ?? 1);
const MAXQ = Number(args.get('max-questions') ?? 6);
const PER_TYPE = Number(args.get('per-type') ?? 150); // eval: max questions per type(/form)
// keep only these question types (train: a supplement that oversamples rare types, repos without one are skipped;
// eval: e.g. multi-hop pairs for steering vectors)
const TYPES = args.get('types') ? new Set(args.get('types')!.split(',')) : undefined;

// ---------- rng ----------
let rs = SEED >>> 0 || 1;
function rand(): number { rs ^= rs << 13; rs >>>= 0; rs ^= rs >>> 17; rs ^= rs << 5; rs >>>= 0; return rs / 4294967296; }
function pick<T>(a: T[]): T { return a[Math.floor(rand() * a.length)]; }
function shuffle<T>(a: T[]): T[] { for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; }

// ---------- tokenizer ----------
const tok = new Tokenizer(JSON.parse(readFileSync(`${TOKDIR}/tokenizer.json`, 'utf8')), JSON.parse(readFileSync(`${TOKDIR}/tokenizer_config.json`, 'utf8')));
const ntok = (s: string): number => (s ? tok.encode(s).ids.length : 0);
export const fileBlock = (f: RepoFile): string => `<|file|> ${f.path}\n${f.text}\n`;

// ---------- parsing ----------
const JS_RE = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$/;
function kindOf(p: string): ts.ScriptKind {
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
  return undefined;
}

interface FileFacts { defs: Def[]; imps: Imp[] }
const factCache = new Map<string, FileFacts>();
function facts(f: RepoFile, key: string): FileFacts {
  const c = factCache.get(key);
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
  factCache.set(key, out);
  return out;
}

function resolveSpec(from: string, spec: string, paths: Set<string>): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  const stem = base.replace(/\.(js|mjs|cjs|jsx)$/, '');
  const cands = [base, ...['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx', '.d.ts'].flatMap((e) => [stem + e, base + e]),
    ...['/index.ts', '/index.js', '/index.mjs', '/index.d.ts'].map((e) => base + e)];
  return cands.find((c) => paths.has(c));
}

// ---------- questions ----------
const code = (s: string): string => '`' + s + '`';
function questionsFor(files: RepoFile[], keyOf: (f: RepoFile) => string): Question[] {
  const all = files.map((f) => facts(f, keyOf(f)));
  const paths = new Set(files.map((f) => f.path));
  const defsByName = new Map<string, Def[]>();
  for (const fa of all) for (const d of fa.defs) { const a = defsByName.get(d.name) ?? []; a.push(d); defsByName.set(d.name, a); }
  const unique = (name: string): Def | undefined => {
    const ds = defsByName.get(name);
    return ds && ds.length === 1 ? ds[0] : undefined;
  };
  const qs: Question[] = [];
  const valid = (n: string): boolean => n.length >= 2 && n.length <= 40;
  for (const [name, ds] of defsByName) {
    if (ds.length !== 1 || !valid(name)) continue;
    const d = ds[0];
    qs.push({ question: `Where is ${code(name)} defined?`, answer: d.path, type: 'where', evidence: [d] });
    if (d.kind === 'function' && d.params) qs.push({ question: `What parameters does function ${code(name)} take?`, answer: d.params.length ? d.params.join(', ') : 'none', type: 'params', evidence: [d] });
    if (d.value !== undefined) qs.push({ question: `What does constant ${code(name)} equal?`, answer: d.value, type: 'const', evidence: [d] });
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
    qs.push({ question: `Which files import ${code(z)}?`, answer: ps.join(', '), type: 'imports', evidence: ps.map((p) => ({ path: p, pos: m.get(p) ?? 0 })) });
  }
  // multi-hop via imports
  for (const fa of all) for (const im of fa.imps) {
    if (!im.resolved) continue;
    for (const nm of im.names) {
      if (nm.imported === '*' || nm.imported === 'default' || !valid(nm.local)) continue;
      const target = all[files.findIndex((f) => f.path === im.resolved)]?.defs.filter((d) => d.name === nm.imported);
      if (!target || target.length !== 1) continue;
      const d = target[0];
      const hop1 = `${im.path} imports ${code(nm.local)} from '${im.spec}', which is ${d.path}.`;
      const ev = [{ path: im.path, pos: im.pos }, d];
      qs.push({ question: `Where is ${code(nm.local)}, as imported by ${im.path}, defined?`, answer: d.path, type: 'multihop-def',
        trace: `${hop1} ${d.path} defines ${code(d.name)}.`, evidence: ev });
      if (d.kind === 'function' && d.params) {
        const ans = d.params.length ? d.params.join(', ') : 'none';
        qs.push({ question: `What parameters does ${code(nm.local)}, as imported by ${im.path}, take?`, answer: ans, type: 'multihop-params',
          trace: `${hop1} There ${code(d.name)} takes (${d.params.join(', ')}).`, evidence: ev });
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

// ---------- repositories ----------
function loadCorpus(): Map<string, CorpusFile[]> {
  const byPkg = new Map<string, CorpusFile[]>();
  for (const line of readFileSync(CORPUS, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as CorpusFile;
    if (r.split !== SPLIT || r.lang !== 'js' || !JS_RE.test(r.path)) continue;
    const a = byPkg.get(r.pkg) ?? [];
    a.push(r);
    byPkg.set(r.pkg, a);
  }
  for (const a of byPkg.values()) a.sort((x, y) => (x.path < y.path ? -1 : 1));
  return byPkg;
}

const tokCache = new Map<string, number>();
function blockTokens(f: CorpusFile): number {
  const k = f.pkg + '\0' + f.path;
  let n = tokCache.get(k);
  if (n === undefined) { n = 1 + ntok(` ${f.path}\n${f.text}\n`); tokCache.set(k, n); }
  return n;
}

const SPEC_RE = /(?:from\s+|require\(\s*|import\s*\(\s*)['"](\.[^'"]+)['"]/g;
const depCache = new Map<string, number[]>();
/** indices (in the package's sorted file list) of relative imports of file i */
function depsOf(files: CorpusFile[], i: number): number[] {
  const k = files[i].pkg + '\0' + files[i].path;
  let d = depCache.get(k);
  if (!d) {
    const paths = new Set(files.map((f) => f.path));
    const idx = new Map(files.map((f, j) => [f.path, j] as [string, number]));
    d = [];
    for (const m of files[i].text.matchAll(SPEC_RE)) {
      const r = resolveSpec(files[i].path, m[1], paths);
      if (r !== undefined && r !== files[i].path) d.push(idx.get(r)!);
    }
    depCache.set(k, d);
  }
  return d;
}

/** Prefix of `text` cut before a top-level line (no indentation) so it parses, fitting maxTokens. */
function truncateText(path: string, text: string, maxTokens: number): string | undefined {
  let limit = Math.floor(maxTokens * 2.4);
  for (let tries = 0; tries < 8 && limit > 80; tries++) {
    let cut = limit;
    while (cut > 0 && !(text[cut - 1] === '\n' && /\S/.test(text[cut] ?? ''))) cut--;
    if (cut < 80) return undefined;
    const t = text.slice(0, cut);
    if (1 + ntok(` ${path}\n${t}\n`) <= maxTokens) return t;
    limit = Math.floor(limit * 0.8);
  }
  return undefined;
}

/** Files of one package fitting `budget` tokens: a random start file, (often) the files it
 * imports (so multi-hop questions exist), then its path-sorted neighbours; files that do not fit
 * may be included as a prefix (cut before a top-level line), at most one per repository. Path-sorted. */
function makeRepo(files: CorpusFile[], budget: number): CorpusFile[] {
  const start = Math.floor(rand() * files.length);
  const chosen = new Map<number, CorpusFile>();
  let used = 0;
  let truncated = false;
  const tryAdd = (j: number): boolean => {
    if (chosen.has(j)) return true;
    const n = blockTokens(files[j]);
    if (used + n <= budget) { chosen.set(j, files[j]); used += n; return true; }
    if (!truncated && budget - used >= 120 && (chosen.size === 0 || rand() < 0.5)) {
      const t = truncateText(files[j].path, files[j].text, budget - used);
      if (t) { truncated = true; chosen.set(j, { ...files[j], text: t }); used += 1 + ntok(` ${files[j].path}\n${t}\n`); return true; }
    }
    return false;
  };
  const order: number[] = [start];
  if (rand() < 0.7) order.push(...shuffle([...depsOf(files, start)]));
  for (let k = 1; k < files.length; k++) order.push((start + k) % files.length);
  let misses = 0;
  for (const j of order) {
    if (used >= budget - 20 || misses > 6) break;
    if (!tryAdd(j) && chosen.size > 0) misses++;
  }
  return [...chosen.keys()].sort((a, b) => a - b).map((j) => chosen.get(j)!);
}

function depthOf(files: RepoFile[], ev: { path: string; pos: number }[], total: number): number {
  let maxd = 0;
  for (const e of ev) {
    let prefix = '';
    for (const f of files) {
      if (f.path === e.path) { prefix += `<|file|> ${f.path}\n` + f.text.slice(0, e.pos); break; }
      prefix += fileBlock(f);
    }
    maxd = Math.max(maxd, total - ntok(prefix));
  }
  return maxd;
}

function main(): void {
  const byPkg = loadCorpus();
  const pkgs = [...byPkg.keys()].filter((p) => (byPkg.get(p)?.length ?? 0) > 0);
  mkdirSync(dirname(OUT), { recursive: true });
  const lines: string[] = [];
  const counts: Record<string, number> = {};
  const keyOf = (pkg: string) => (f: RepoFile): string => pkg + '\0' + f.path + '\0' + f.text.length;
  if (MODE === 'train') {
    // weight packages by size (sqrt) so big packages don't dominate
    const w = pkgs.map((p) => Math.sqrt(byPkg.get(p)!.reduce((s, f) => s + f.text.length, 0)));
    const tot = w.reduce((a, b) => a + b, 0);
    for (let r = 0; r < NREPOS; r++) {
      let x = rand() * tot;
      let i = 0;
      while (x > w[i] && i < w.length - 1) { x -= w[i]; i++; }
      const pkg = pkgs[i];
      const repo = makeRepo(byPkg.get(pkg)!, BUDGET);
      if (!repo.length) continue;
      const files = repo.map((f) => ({ path: f.path, text: f.text }));
      let qs: Question[] = [];
      try { qs = questionsFor(files, keyOf(pkg)); } catch { qs = []; }
      if (TYPES) {
        qs = qs.filter((q) => TYPES.has(q.type));
        if (qs.length === 0) continue;
      }
      // balance types: one per type first, then random
      const byType = new Map<string, Question[]>();
      for (const q of shuffle(qs)) { const a = byType.get(q.type) ?? []; a.push(q); byType.set(q.type, a); }
      const chosen: Question[] = [];
      const nq = !TYPES && rand() < 0.1 ? 0 : MAXQ;
      for (let round = 0; chosen.length < nq && round < 4; round++) {
        for (const a of shuffle([...byType.values()])) if (a[round] && chosen.length < nq) chosen.push(a[round]);
      }
      const out = chosen.map((q) => {
        const o: Record<string, unknown> = { question: q.question, answer: q.answer, type: q.type };
        if (q.trace) { o.form = rand() < 0.5 ? 'trace' : 'bare'; if (o.form === 'trace') o.trace = q.trace; }
        counts[q.type] = (counts[q.type] ?? 0) + 1;
        return o;
      });
      lines.push(JSON.stringify({ pkg, files, questions: out }));
    }
  } else {
    // eval: many repositories per held-out package; cap per type; both forms for multi-hop
    const seen = new Set<string>();
    const perType: Record<string, number> = {};
    const attempts = Number(args.get('attempts') ?? 4000);
    for (let t = 0; t < attempts; t++) {
      const pkg = pick(pkgs);
      const repo = makeRepo(byPkg.get(pkg)!, BUDGET - 40);
      if (repo.length < 2) continue;
      const files = repo.map((f) => ({ path: f.path, text: f.text }));
      const repoText = files.map(fileBlock).join('');
      const total = ntok(repoText);
      let qs: Question[] = [];
      try { qs = questionsFor(files, keyOf(pkg)); } catch { continue; }
      if (TYPES) qs = qs.filter((q) => TYPES.has(q.type));
      for (const q of shuffle(qs).slice(0, 3)) {
        if ((perType[q.type] ?? 0) >= PER_TYPE) continue;
        const key = pkg + '|' + q.question + '|' + q.answer;
        if (seen.has(key)) continue;
        const qtoks = ntok(`<|question|> ${q.question}\n<|answer|>`) + ntok(` ${q.answer}<|end|>`) + (q.trace ? ntok(`<|trace|> ${q.trace}<|final|>`) : 0);
        if (total + qtoks > BUDGET) continue;
        seen.add(key);
        perType[q.type] = (perType[q.type] ?? 0) + 1;
        const depth = depthOf(files, q.evidence, total);
        const base = { id: `${SPLIT}-${BUDGET}-${lines.length}`, pkg, files, question: q.question, answer: q.answer, type: q.type, depth, tokens: total };
        if (q.trace) {
          lines.push(JSON.stringify({ ...base, form: 'trace', trace: q.trace }));
          lines.push(JSON.stringify({ ...base, id: base.id + 'b', form: 'bare' }));
          counts[q.type + '/trace'] = (counts[q.type + '/trace'] ?? 0) + 1;
          counts[q.type + '/bare'] = (counts[q.type + '/bare'] ?? 0) + 1;
        } else {
          lines.push(JSON.stringify(base));
          counts[q.type] = (counts[q.type] ?? 0) + 1;
        }
      }
    }
  }
  writeFileSync(OUT, lines.join('\n') + '\n');
  console.log(JSON.stringify({ out: OUT, mode: MODE, split: SPLIT, budget: BUDGET, records: lines.length, packages: pkgs.length, counts }));
}

if (existsSync(CORPUS)) main();
else { console.error(`corpus not found: ${CORPUS} (run tools/train/build_corpus.py)`); process.exit(1); }
