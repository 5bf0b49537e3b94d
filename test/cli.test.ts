// The bundled `repopot` CLI as a user runs it: selftest, generate, ingest and ask (with reuse of
// the saved pot), and bad repositories that must be skipped with reasons, never crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
  assert.equal(answer.policy, 'infinipot');
  assert.equal(answer.budget, 64);
  const sources = answer.sources as { file: string; startLine: number; endLine: number; weight: number }[];
  assert.ok(sources.length > 0 && sources.every((s) => ['README.md', 'src/config.ts', 'src/main.ts'].includes(s.file) && s.startLine <= s.endLine));
  // ingest saved the pot; ask found the folder unchanged and reused it.
  assert.equal(answer.pot, 'reused');
});

test('bad input: an empty repository and a missing model fail clearly or succeed, never crash', (t) => {
  if (!fs.existsSync(stories)) return t.skip(`../shared absent: ${stories} not found`);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-empty-'));
  const r = repopot(['ingest', '--repo', empty, '--model', stories, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson(r.stdout).files, 0);
  const missing = repopot(['ask', 'x', '--repo', empty, '--model', path.join(empty, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope/);
  const noRepo = repopot(['ingest', '--repo', path.join(empty, 'absent'), '--model', stories]);
  assert.notEqual(noRepo.code, 0);
  assert.match(noRepo.stderr, /absent/);
});

test.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
