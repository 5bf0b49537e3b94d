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
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { NamePool, Renamer } from './rename-ts';
import { code, JS_RE, questionsFor, resolveSpec, type Question, type RepoFile } from './questions-ts';

interface CorpusFile { pkg: string; split: string; lang: string; path: string; text: string }

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
// train: share of repositories renamed counterfactually (fresh identifiers, paths, constant values), and share of
// questions asked in a training paraphrase; eval: --phrasing heldout asks in wordings never trained on
const RENAME_SHARE = Number(args.get('rename-share') ?? 0);
const PARAPHRASE_SHARE = Number(args.get('paraphrase-share') ?? 0);
const PHRASING = (args.get('phrasing') ?? 'canonical') as 'canonical' | 'heldout';
// train: at most ROUNDS questions of one type per repository; --dense 1 starts each repository at a file that alone
// holds many questions of --types (weighted by their count), so constants and parameters come many to a sample
const ROUNDS = Number(args.get('rounds') ?? 4);
const DENSE = args.get('dense') === '1';
// train: --confusable 1 keeps only the `where` questions whose answer has a look-alike in the window: the same stem
// with another extension (index.js / index.d.ts) or the same file name in another folder (dist/esm/index.js /
// dist/commonjs/index.js), where the held-out misses are (a .js answered for what only its .d.ts declares, and back)
const CONFUSABLE = args.get('confusable') === '1';
const STEM_RE = /(\.d)?\.[cm]?[jt]sx?$/;
/** Another file of the window that a reader could take for `answer`: same stem, or same file name elsewhere. */
function hasLookAlike(answer: string, paths: string[]): boolean {
  const stem = answer.replace(STEM_RE, '');
  const name = stem.slice(stem.lastIndexOf('/') + 1);
  return paths.some((p) => {
    if (p === answer) return false;
    const other = p.replace(STEM_RE, '');
    return other === stem || other.slice(other.lastIndexOf('/') + 1) === name;
  });
}

// ---------- rng ----------
let rs = SEED >>> 0 || 1;
function rand(): number { rs ^= rs << 13; rs >>>= 0; rs ^= rs >>> 17; rs ^= rs << 5; rs >>>= 0; return rs / 4294967296; }
function pick<T>(a: T[]): T { return a[Math.floor(rand() * a.length)]; }
function shuffle<T>(a: T[]): T[] { for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; }

// ---------- tokenizer ----------
const tok = new Tokenizer(JSON.parse(readFileSync(`${TOKDIR}/tokenizer.json`, 'utf8')), JSON.parse(readFileSync(`${TOKDIR}/tokenizer_config.json`, 'utf8')));
const ntok = (s: string): number => (s ? tok.encode(s).ids.length : 0);
export const fileBlock = (f: RepoFile): string => `<|file|> ${f.path}\n${f.text}\n`;

// ---------- wordings ----------
interface Wordings { canonical: string; train: string[]; heldout: string[] }
const TEMPLATES = JSON.parse(readFileSync(new URL('./question_templates.json', import.meta.url), 'utf8')) as
  Record<string, Wordings> & { formats: Record<string, string[]> };
/** The question in one of the wordings of question_templates.json. */
function phrase(q: Question, which: 'canonical' | 'train' | 'heldout'): string {
  const t = TEMPLATES[q.type] as Wordings | undefined;
  if (!t || which === 'canonical' || q.name === undefined) return q.question;
  const name = rand() < 0.7 ? code(q.name) : q.name;
  let text = pick(t[which]).replaceAll('{n}', name).replaceAll('{k}', q.kind ?? 'symbol');
  if (which === 'train' && rand() < 0.15) text += pick(TEMPLATES.formats[q.type]);
  return text;
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
function makeRepo(files: CorpusFile[], budget: number, start = Math.floor(rand() * files.length)): CorpusFile[] {
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
  let renamer: Renamer | undefined;
  if (RENAME_SHARE > 0) {
    // new names come from the training split's packages (never from held-out ones)
    const poolFiles: RepoFile[] = [];
    for (const line of readFileSync(CORPUS, 'utf8').split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as CorpusFile;
      if (r.split === 'train' && r.lang === 'js') poolFiles.push({ path: r.path, text: r.text });
    }
    renamer = new Renamer(NamePool.fromSources(poolFiles), rand);
  }
  if (MODE === 'train') {
    // weight packages by size (sqrt) so big packages don't dominate; dense: by the square root of how many asked-for
    // questions their files hold one by one (a few constant-table packages would dominate otherwise), the start file by its count
    const fileScores = DENSE ? pkgs.map((p) => byPkg.get(p)!.map((f) => {
      try { return questionsFor([{ path: f.path, text: f.text }], () => '').filter((q) => !TYPES || TYPES.has(q.type)).length; } catch { return 0; }
    })) : undefined;
    const fileTotals = fileScores?.map((sc) => sc.reduce((a, b) => a + b, 0));
    const w = fileTotals ? fileTotals.map(Math.sqrt) : pkgs.map((p) => Math.sqrt(byPkg.get(p)!.reduce((s, f) => s + f.text.length, 0)));
    const tot = w.reduce((a, b) => a + b, 0);
    const drawIndex = (weights: number[], total: number): number => {
      let x = rand() * total;
      let i = 0;
      while (x > weights[i] && i < weights.length - 1) { x -= weights[i]; i++; }
      return i;
    };
    for (let r = 0; r < NREPOS; r++) {
      const i = drawIndex(w, tot);
      const pkg = pkgs[i];
      const sc = fileScores?.[i];
      const repo = sc ? makeRepo(byPkg.get(pkg)!, BUDGET, drawIndex(sc, fileTotals![i])) : makeRepo(byPkg.get(pkg)!, BUDGET);
      if (!repo.length) continue;
      let files = repo.map((f) => ({ path: f.path, text: f.text }));
      const renamed = renamer !== undefined && rand() < RENAME_SHARE;
      if (renamed) files = renamer!.rename(files).files;
      let qs: Question[] = [];
      try { qs = questionsFor(files, renamed ? () => '' : keyOf(pkg)); } catch { qs = []; }
      if (CONFUSABLE) {
        const paths = files.map((f) => f.path);
        qs = qs.filter((q) => q.type !== 'where' || hasLookAlike(q.answer, paths));
      }
      if (TYPES) {
        qs = qs.filter((q) => TYPES.has(q.type));
        if (qs.length === 0) continue;
      }
      // balance types: one per type first, then random
      const byType = new Map<string, Question[]>();
      for (const q of shuffle(qs)) { const a = byType.get(q.type) ?? []; a.push(q); byType.set(q.type, a); }
      const chosen: Question[] = [];
      const nq = !TYPES && rand() < 0.1 ? 0 : MAXQ;
      for (let round = 0; chosen.length < nq && round < ROUNDS; round++) {
        for (const a of shuffle([...byType.values()])) if (a[round] && chosen.length < nq) chosen.push(a[round]);
      }
      const out = chosen.map((q) => {
        const o: Record<string, unknown> = { question: phrase(q, rand() < PARAPHRASE_SHARE ? 'train' : 'canonical'), answer: q.answer, type: q.type };
        if (q.trace) { o.form = rand() < 0.5 ? 'trace' : 'bare'; if (o.form === 'trace') o.trace = q.trace; }
        counts[q.type] = (counts[q.type] ?? 0) + 1;
        return o;
      });
      lines.push(JSON.stringify({ pkg, files, questions: out, renamed }));
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
        const base = { id: `${SPLIT}-${BUDGET}-${lines.length}`, pkg, files, question: phrase(q, PHRASING), answer: q.answer, type: q.type, depth, tokens: total };
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
