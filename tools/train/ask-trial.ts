// The end-to-end trial of issue 11: `repopot ask "Where is `X` defined?" --repo DIR --no-cache` on package folders
// the model never trained on, for names picked at random among the top-level definitions of their JS/TS files.
// An answer counts when it is a file of the folder that defines X (facts from the TypeScript parser).
//
//   node --import tsx tools/train/ask-trial.ts --repo node_modules/jws [--names 10] [--seed 1] [--model DIR]
//   node --import tsx tools/train/ask-trial.ts --packages tools/train/ask-trial-packages.txt --names 5
//
// ask-trial-packages.txt lists held-out packages: the corpus's held-out split and packages outside the corpus.
// Each ask streams a fresh pot (--no-cache), so the trial measures the current build, never a pot saved by an older one.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { facts, JS_RE } from './questions-ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const project = path.join(__dirname, '..', '..');
const repos = args.has('packages')
  ? fs.readFileSync(args.get('packages')!, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean).map((p) => path.join(project, p))
  : [args.get('repo') ?? ''];
const missing = repos.filter((r) => !fs.statSync(r, { throwIfNoEntry: false })?.isDirectory());
if (repos.length === 0 || missing.length > 0) {
  console.error(`usage: ask-trial.ts (--repo DIR | --packages FILE) [--names 10] [--seed 1] [--model DIR]${missing.length ? `\nnot a folder: ${missing.join(', ')}` : ''}`);
  process.exit(2);
}
const count = Number(args.get('names') ?? 10);
const model = args.get('model') ? ['--model', args.get('model')!] : [];

function walk(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = path.posix.join(rel, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name.startsWith('.') ? [] : walk(dir, p);
    return JS_RE.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function trial(repo: string): { names: number; right: number } {
  let seed = Number(args.get('seed') ?? 1) >>> 0 || 1;
  const rand = (): number => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 4294967296; };
  const definedIn = new Map<string, Set<string>>();
  for (const p of walk(repo)) {
    for (const d of facts({ path: p, text: fs.readFileSync(path.join(repo, p), 'utf8') }, '').defs) {
      if (d.name.length < 3) continue;
      const s = definedIn.get(d.name) ?? new Set<string>();
      s.add(p);
      definedIn.set(d.name, s);
    }
  }
  const names = [...definedIn.keys()].filter((n) => definedIn.get(n)!.size === 1).sort();
  const picked: string[] = [];
  while (picked.length < Math.min(count, names.length)) {
    const n = names[Math.floor(rand() * names.length)];
    if (!picked.includes(n)) picked.push(n);
  }
  let right = 0;
  for (const name of picked) {
    const r = spawnSync(process.execPath, [path.join(project, 'bin', 'repopot.js'), 'ask', `Where is \`${name}\` defined?`, '--repo', repo, '--json', '--no-cache', ...model], { encoding: 'utf8' });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    let answer = '';
    try { answer = String((JSON.parse(last) as { answer?: unknown }).answer ?? '').trim(); } catch { answer = `(no answer: ${r.stderr.trim().split('\n').pop()})`; }
    const ok = definedIn.get(name)!.has(answer);
    right += ok ? 1 : 0;
    console.log(`${ok ? 'right' : 'wrong'}  ${name}  ->  ${answer}${ok ? '' : `   (defined in ${[...definedIn.get(name)!].join(', ')})`}`);
  }
  console.log(JSON.stringify({ repo: path.relative(project, repo), names: picked.length, right }));
  return { names: picked.length, right };
}

const total = { names: 0, right: 0 };
for (const repo of repos) {
  const t = trial(repo);
  total.names += t.names;
  total.right += t.right;
}
if (repos.length > 1) console.log(JSON.stringify({ packages: repos.length, ...total }));
