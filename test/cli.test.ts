// The bundled `repopot` CLI as a user runs it: selftest, generate, ingest and ask (with reuse of
// the saved pot), and bad repositories that must be skipped with reasons, never crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_POLICY } from '../server/src/vocab';

const root = path.resolve(__dirname, '..');
const shared = path.resolve(root, '..', 'shared');
const stories = path.join(shared, 'models', 'stories260K');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-cli-'));

function repopot(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'repopot.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, REPOPOT_CACHE_DIR: cacheDir },
    timeout: 240_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

test('selftest --json: one object per check, all (a)–(d) pass', (t) => {
  const r = repopot(['selftest', '--json']);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { check: string; pass: boolean; maxAbsDiff: number; skipped?: string });
  const names = lines.map((l) => l.check);
  for (const name of ['reference-llama', 'reference-qwen2', 'reference-qwen3', 'cache-edit', 'parity-ortgenai', 'stories260k']) assert.ok(names.includes(name), name);
  const skipped = lines.filter((l) => l.skipped);
  if (skipped.length) t.diagnostic(`skipped (../shared absent): ${skipped.map((l) => l.check).join(', ')}`);
  for (const l of lines.filter((x) => !x.skipped)) assert.ok(l.pass, `${l.check}: ${JSON.stringify(l)}`);
  assert.equal(r.code, 0, r.stderr);
});

test('generate: stories260K greedy from BOS', (t) => {
  if (!fs.existsSync(stories)) return t.skip(`../shared absent: ${stories} not found`);
  const r = repopot(['generate', '--model', stories, '--max-tokens', '40', '--greedy']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Once upon a time, there was a little girl named Lily'), r.stdout);
});

function fixtureRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-fixture-'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'README.md'), '# Fixture\nA small service.\n');
  fs.writeFileSync(path.join(dir, 'src', 'config.ts'), 'export const PORT = 8080;\nexport function loadConfig() {\n  return { port: PORT };\n}\n');
  fs.writeFileSync(path.join(dir, 'src', 'main.ts'), 'import { loadConfig } from "./config";\nconst c = loadConfig();\nconsole.log(c.port);\n');
  // Bad inputs: each must be skipped with a counted reason.
  fs.writeFileSync(path.join(dir, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2, 3]));
  fs.writeFileSync(path.join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe]));
  fs.writeFileSync(path.join(dir, 'huge.log'), Buffer.alloc(20 * 1024 * 1024, 0x61));
  fs.symlinkSync('.', path.join(dir, 'loop'));
  return dir;
}

test('ingest --json: summary with skip reasons; ask --json answers with sources and reuses the saved pot', (t) => {
  if (!fs.existsSync(stories)) return t.skip(`../shared absent: ${stories} not found`);
  const repo = fixtureRepo();
  const ingest = repopot(['ingest', '--repo', repo, '--model', stories, '--budget', '64', '--chunk', '32', '--json']);
  assert.equal(ingest.code, 0, ingest.stderr);
  const summary = lastJson(ingest.stdout);
  for (const key of ['files', 'skipped', 'tokensSeen', 'tokensKept', 'budget', 'cacheBytes', 'tokensPerSecond', 'peakRssBytes']) assert.ok(key in summary, key);
  assert.equal(summary.files, 3);
  const skipped = summary.skipped as Record<string, number>;
  assert.ok(skipped['binary'] >= 1 && skipped['invalid-utf8'] >= 1 && skipped['too-large'] >= 1 && skipped['symlink-loop'] >= 1, JSON.stringify(skipped));
  assert.ok((summary.tokensKept as number) <= 64);
  assert.ok((summary.tokensSeen as number) > 64);

  const ask = repopot(['ask', 'What is PORT?', '--repo', repo, '--model', stories, '--budget', '64', '--chunk', '32', '--max-tokens', '12', '--json']);
  assert.equal(ask.code, 0, ask.stderr);
  const answer = lastJson(ask.stdout);
  assert.equal(typeof answer.answer, 'string');
  assert.equal(answer.policy, DEFAULT_POLICY);
  assert.equal(answer.budget, 64);
  const sources = answer.sources as { file: string; startLine: number; endLine: number; weight: number }[];
  assert.ok(sources.length > 0 && sources.every((s) => ['README.md', 'src/config.ts', 'src/main.ts'].includes(s.file) && s.startLine <= s.endLine));
  // ingest saved the pot; ask found the folder unchanged and reused it.
  assert.equal(answer.pot, 'reused');
  // "What is PORT?" asks for a value: the answer is checked against the assignments of PORT.
  const check = answer.check as { status: string; file?: string; line?: number; detail: string };
  assert.ok(check.status === 'checked' || check.status === 'not-found', JSON.stringify(check));
  assert.ok(check.detail.length > 0, 'the verdict says why');
  if (check.status === 'checked') assert.deepEqual([check.file, sources[0].file, sources[0].startLine], ['src/config.ts', 'src/config.ts', check.line]);
  else assert.equal(check.file, undefined);
});

test('bad input: an empty repository and a missing model fail clearly or succeed, never crash', (t) => {
  if (!fs.existsSync(stories)) return t.skip(`../shared absent: ${stories} not found`);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-empty-'));
  // issue 12: an empty folder is an error with the skip counts, not a pot of nothing
  const r = repopot(['ingest', '--repo', empty, '--model', stories, '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no file to read: the folder is empty/);
  assert.equal(r.stdout.trim(), '');
  const missing = repopot(['ask', 'x', '--repo', empty, '--model', path.join(empty, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope/);
  const noRepo = repopot(['ingest', '--repo', path.join(empty, 'absent'), '--model', stories]);
  assert.notEqual(noRepo.code, 0);
  assert.match(noRepo.stderr, /absent/);
});

test.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

const defaultModel = path.join(root, 'models', 'repopot-tiny-code');

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('bench distill: niah, lookup and cost run end to end with policy variants and write their lines', (t) => {
  if (!fs.existsSync(path.join(defaultModel, 'model.safetensors'))) return t.skip(`${defaultModel} has no weights`);
  const plots = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-niah-'));
  const niah = repopot(['bench', 'distill', '--suite', 'niah', '--policies', 'infinipot,infinipot:frame=plain,infinipot+refine=0.5,full', '--budgets', '64', '--lengths', '4', '--depths', '0.5', '--trials', '1', '--plot-dir', plots, '--json']);
  assert.equal(niah.code, 0, niah.stderr);
  const niahLines = jsonLines(niah.stdout);
  assert.deepEqual(niahLines.filter((l) => !l.summary).map((l) => l.policy), ['infinipot', 'infinipot:frame=plain', 'infinipot+refine=0.5', 'full']);
  assert.ok(niahLines.every((l) => l.bench === 'distill' && l.suite === 'niah'));
  assert.ok('infinipotVsFull' in niahLines[niahLines.length - 1]);
  // the full cache keeps the planted line, so its evidence is always kept; every row reports it
  assert.equal(niahLines.find((l) => l.policy === 'full')!.evidenceKept, 1);
  assert.ok(niahLines.filter((l) => !l.summary).every((l) => typeof l.evidenceKept === 'number'));
  assert.ok(fs.readdirSync(plots).includes('niah-infinipot-refine-0.5-64.png'), fs.readdirSync(plots).join(' '));

  const lookup = repopot(['bench', 'distill', '--suite', 'lookup', '--policies', 'infinipot,full', '--streams', '1500', '--budgets', '192', '--limit', '2', '--json']);
  assert.equal(lookup.code, 0, lookup.stderr);
  const lookupLines = jsonLines(lookup.stdout);
  assert.deepEqual(lookupLines.filter((l) => !l.summary).map((l) => [l.policy, l.n]), [['infinipot', 2], ['full', 2]]);
  // The full cache keeps every token, so it holds every question's evidence; a pot's share is a fraction.
  const fullRow = lookupLines.find((l) => l.policy === 'full' && !l.summary);
  assert.equal(fullRow?.evidenceKept, 1, JSON.stringify(fullRow));
  assert.ok(lookupLines.every((l) => l.summary || (Number(l.evidenceKept) >= 0 && Number(l.evidenceKept) <= 1)));
  // Bare (each repository alone), the requested length only caps which repositories are asked about: the lines
  // report the largest repository asked, so a bare run never reads as a longer stream than it streamed.
  const bare = repopot(['bench', 'distill', '--suite', 'lookup', '--policies', 'streaming', '--streams', '4096', '--budgets', '192', '--limit', '2', '--bare', '--json']);
  assert.equal(bare.code, 0, bare.stderr);
  const bareRow = jsonLines(bare.stdout).find((l) => !l.summary)!;
  assert.equal(bareRow.bare, true);
  assert.equal(bareRow.streamLimit, 4096);
  assert.ok(Number(bareRow.streamTokens) > 0 && Number(bareRow.streamTokens) < 4096, JSON.stringify(bareRow));

  // Each cost measurement runs in a fresh process, so peak RSS is that run's alone.
  const cost = repopot(['bench', 'distill', '--suite', 'cost', '--policies', 'infinipot,streaming', '--streams', '700,1400', '--budgets', '128', '--json']);
  assert.equal(cost.code, 0, cost.stderr);
  const costLines = jsonLines(cost.stdout);
  assert.equal(costLines.filter((l) => !l.summary).length, 4);
  assert.equal((cost.stderr.match(/fresh process/g) ?? []).length, 4);
  const summary = costLines[costLines.length - 1];
  assert.equal(summary.summary, true);
  assert.ok(Number.isFinite(summary.rssGrowth10kTo1M) && Number.isFinite(summary.compressionShare), JSON.stringify(summary));

  const bad = repopot(['bench', 'distill', '--suite', 'niah', '--policies', 'infinipot:unit=word', '--json']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unit=token\|line/);
});

test('eval lookup: exact match per type, language and context, pooled in the summary', (t) => {
  if (!fs.existsSync(path.join(defaultModel, 'model.safetensors'))) return t.skip(`${defaultModel} has no weights`);
  const r = repopot(['eval', 'lookup', '--limit', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = jsonLines(r.stdout);
  const rows = lines.filter((l) => !l.summary && l.eval === 'lookup');
  assert.ok(rows.some((l) => l.language === 'py') && rows.some((l) => l.language === 'js'));
  assert.ok(rows.some((l) => l.wording === 'paraphrase' && l.type === 'paraphrase:where'), 'the paraphrase sets are judged too');
  // the copy score: an exact repeat of held-out code, the skill behind every lookup answer
  const copy = lines.find((l) => l.eval === 'copy');
  assert.ok(copy && copy.spans === 48, JSON.stringify(copy));
  for (const k of ['firstLoss', 'repeatLoss', 'repeatTop1'] as const) assert.ok(Number.isFinite(copy[k]), k);
  assert.ok((copy.repeatTop1 as number) >= 0 && (copy.repeatTop1 as number) <= 1);
  assert.ok(rows.every((l) => l.eval === 'lookup' && typeof l.type === 'string' && (l.context === 1024 || l.context === 2048)));
  assert.ok(rows.some((l) => l.type === 'multihop-def+trace'));
  // Every answer carries a verdict: the three counts add up to the questions answered.
  for (const l of rows) {
    const v = l.verdicts as Record<string, number>;
    assert.equal(v.checked + v['not-found'] + v.unverifiable, l.n, JSON.stringify(l));
  }
  const summary = lines[lines.length - 1];
  assert.ok(summary.summary && typeof summary.pooledEm === 'object' && Number.isFinite(summary.heldOutLoss));

  // --answers: one line per question, and their verdicts add up to the set's row
  const one = repopot(['eval', 'lookup', '--limit', '2', '--types', 'const', '--contexts', '1024', '--answers', '--json']);
  assert.equal(one.code, 0, one.stderr);
  const all = jsonLines(one.stdout);
  const answers = all.filter((l) => l.answer === true);
  const sets = all.filter((l) => l.eval === 'lookup' && !l.summary && l.answer !== true);
  assert.equal(answers.length, sets.reduce((n, l) => n + (l.n as number), 0));
  for (const a of answers) assert.ok(a.type === 'const' && typeof a.got === 'string' && typeof a.expected === 'string' && typeof a.correct === 'boolean', JSON.stringify(a));
  for (const s of sets) assert.equal(answers.filter((a) => a.language === s.language && a.wording === s.wording && a.correct).length, Math.round((s.em as number) * (s.n as number)), JSON.stringify(s));

  // Multi-hop records come in trace/bare pairs of one question: each question is asked once per mode, not twice.
  const hops = repopot(['eval', 'lookup', '--limit', '3', '--types', 'multihop-def', '--contexts', '1024', '--answers', '--json']);
  assert.equal(hops.code, 0, hops.stderr);
  const hopAnswers = jsonLines(hops.stdout).filter((l) => l.answer === true && l.language === 'js' && l.wording === 'canonical');
  for (const mode of ['multihop-def', 'multihop-def+trace']) {
    const asked = hopAnswers.filter((a) => a.type === mode).map((a) => a.question);
    assert.equal(asked.length, 3, mode);
    assert.equal(new Set(asked).size, 3, `${mode} asks distinct questions: ${asked.join(' | ')}`);
  }
});

test('fourier calibrate writes the choice with its evidence; bench distill --suite fourier prints the summary line', () => {
  const out = path.join(cacheDir, 'fourier-stories.json');
  const cal = repopot(['fourier', 'calibrate', '--model', stories, '--out', out, '--tokens', '160', '--sequences', '1', '--window', '16', '--json']);
  assert.equal(cal.code, 0, cal.stderr);
  const layout = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(layout.format, 'repopot-fourier');
  assert.equal(layout.keyPairs.length, 5);
  assert.ok(layout.evidence.unitErrors[0][0].valueDims.length === 8);
  assert.ok(lastJson(cal.stdout).meanChosenError as number <= (lastJson(cal.stdout).meanByIndexError as number));
  const bench = repopot(['bench', 'distill', '--suite', 'fourier', '--model', stories, '--fourier', out, '--budgets', '64', '--sequences', '1', '--continuation', '16', '--no-retrieval']);
  assert.equal(bench.code, 0, bench.stderr);
  const summary = lastJson(bench.stdout);
  assert.equal(summary.suite, 'fourier');
  for (const k of ['tokensPerByteVsPlain', 'lossIncrease', 'reconstructShare', 'snapshotShrink']) assert.equal(typeof summary[k], 'number', k);
  assert.ok((summary.tokensPerByteVsPlain as number) > 1);
  assert.ok((summary.snapshotShrink as number) > 0);
});

test('fourier calibrate --objective lookup scores the question and answer rows; a wrong objective is refused', () => {
  const out = path.join(cacheDir, 'fourier-lookup.json');
  const cal = repopot(['fourier', 'calibrate', '--model', defaultModel, '--objective', 'lookup', '--out', out, '--tokens', '300', '--sequences', '2', '--share', '0.5', '--json']);
  assert.equal(cal.code, 0, cal.stderr);
  const layout = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(layout.evidence.objective, 'lookup');
  assert.equal(layout.evidence.sequences.length, 2);
  for (const s of layout.evidence.sequences) assert.match(s.source, /\?$/);
  const bad = repopot(['fourier', 'calibrate', '--model', defaultModel, '--objective', 'answers', '--out', out]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--objective must be one of code, lookup/);
});
