// The command line refuses nonsense early: every --help exits 0, every bad option exits 2 with a message naming it
// before anything is read or loaded, a folder with nothing to read is an error with its skip counts, and a budget
// above the model's context is capped with a notice. Runs the bundled CLI (npm run build first, as npm test does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const stories = path.resolve(root, '..', 'shared', 'models', 'stories260K');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-cli-options-'));

function repopot(args: string[]): { code: number | null; stdout: string; stderr: string; ms: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'repopot.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, REPOPOT_CACHE_DIR: cacheDir },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - started };
}

test('every command and subcommand answers --help with exit 0 and its options', () => {
  const cases: [string[], RegExp][] = [
    [['--help'], /bench engine\|distill\|hover\|steer\|decode/],
    [['ask', '--help'], /--decoder D .*block-diffusion/],
    [['ask', '--help'], /--reread N\s+query-aware re-read/],
    [['ask', '--help'], /--snap-paths on\|off\s+path snapping.*\(default on/],
    [['ask', '--help'], /--snap-values on\|off\s+value snapping.*\(default on/],
    [['bench', 'distill', '--help'], /--types T,T\s+lookup: question types.*\(default where,const/],
    [['ingest', '--help'], /--chunk N\s+tokens fed at a time \(default 256/],
    [['generate', '--help'], /--top-p P/],
    [['selftest', '--help'], /--json/],
    [['bench', '--help'], /hover/],
    [['bench', 'distill', '--help'], /--in-process/],
    [['bench', 'engine', '--help'], /--no-bandwidth/],
    [['bench', 'decode', '--help'], /--exact-only/],
    [['bench', 'hover', '--help'], /--deadline MS/],
    [['bench', 'steer', '--help'], /--update-vectors/],
    [['eval', '--help'], /--contexts/],
    [['eval', 'lookup', '--help'], /--types/],
    [['model', '--help'], /--dir DIR/],
    [['model', 'pull', '--help'], /--dir DIR/],
    [['steer', '--help'], /--extraction MODE/],
    [['steer', 'build', '--help'], /--demos N/],
  ];
  for (const [args, expected] of cases) {
    const r = repopot(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, expected, args.join(' '));
    assert.equal(r.stderr, '', `${args.join(' ')} writes nothing to stderr`);
  }
});

test('bad options exit 2 with a message naming the option, before the repository is read or a model loaded', () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-ok-'));
  fs.writeFileSync(path.join(repo, 'a.ts'), 'export const PORT = 8080;\n');
  const cases: [string[], RegExp][] = [
    [['--max-tokens', 'abc'], /--max-tokens must be an integer ≥ 1 \(got "abc"\)/],
    [['--decoder', 'fast'], /--decoder must be one of sequential, parallel, confidence, auto, block-diffusion/],
    [['--refine', '2'], /--refine must be a share in \(0, 1\]/],
    [['--reread=-1'], /--reread must be an integer ≥ 0 \(got "-1"\)/],
    [['--reread', 'many'], /--reread must be an integer ≥ 0 \(got "many"\)/],
    [['--snap-paths', 'maybe'], /--snap-paths must be one of on, off/],
    [['--snap-values', 'yes'], /--snap-values must be one of on, off/],
    [['--budget', '8'], /--budget must be an integer ≥ 16/],
    [['--chunk', 'x'], /--chunk must be an integer/],
    [['--chunk', '8'], /--chunk must be an integer ≥ 16 \(got "8"\)/],
    [['--policy', 'lru'], /--policy must be one of infinipot/],
    [['--device', 'tpu'], /--device must be one of auto, cpu, webgpu, cuda/],
    [['--quant', 'int3'], /--quant must be one of fp32, fp16, int8, int4/],
    [['--bogus'], /ask: Unknown option '--bogus'/],
  ];
  for (const [extra, expected] of cases) {
    // --model names a folder that does not exist: reaching the model would exit 1, not 2.
    const r = repopot(['ask', 'q', '--repo', repo, '--model', path.join(repo, 'no-model'), ...extra]);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stderr, /built|graph|files ·/, 'no model loaded, nothing streamed');
  }
  const badType = repopot(['bench', 'distill', '--suite', 'lookup', '--types', 'where,names', '--model', path.join(repo, 'no-model')]);
  assert.equal(badType.code, 2, badType.stderr);
  assert.match(badType.stderr, /--types: "names" is not a lookup type \(where, const, params, imports\)/);
  const noRepo = repopot(['ask', 'q', '--repo', path.join(repo, 'absent')]);
  assert.equal(noRepo.code, 2);
  assert.match(noRepo.stderr, /--repo: .*absent does not exist/);
  assert.deepEqual(fs.readdirSync(cacheDir), [], 'no pot was saved, no graph built');
});

test('a folder with nothing to read: ask fails with the skip counts before the model loads', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-empty-'));
  const r = repopot(['ask', 'q', '--repo', empty, '--model', root]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no file to read: the folder is empty/);

  const skipped = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-skipped-'));
  // coverage/, not dist/: a folder with no source outside dist/ reads dist/ (a package that ships only its build).
  fs.mkdirSync(path.join(skipped, 'coverage'));
  for (let i = 0; i < 17; i++) fs.writeFileSync(path.join(skipped, 'coverage', `f${i}.js`), `var a${i} = 1;\n`);
  fs.writeFileSync(path.join(skipped, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  fs.writeFileSync(path.join(skipped, 'table.csv'), 'a,b\n'.repeat(4000));
  fs.writeFileSync(path.join(skipped, 'codes.json'), JSON.stringify(Array.from({ length: 5000 }, (_, i) => i), null, 1));
  fs.writeFileSync(path.join(skipped, 'package-lock.json'), '{}\n');
  const s = repopot(['ask', 'q', '--repo', skipped, '--model', root]);
  assert.equal(s.code, 1);
  // The pruned coverage/ folder counts its 17 files; the table is data, the lock file generated.
  assert.match(s.stderr, /every file was skipped \(18 generated, 1 binary, 2 data\)/);
  assert.doesNotMatch(s.stderr, /built|graph/);
});

test('--budget above the model\'s context is capped with a notice; ask --json reports tokensKept', (t) => {
  if (!fs.existsSync(stories)) return t.skip(`../shared absent: ${stories} not found`);
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-cap-'));
  fs.writeFileSync(path.join(repo, 'a.ts'), 'export const PORT = 8080;\n'.repeat(30));
  const r = repopot(['ask', 'What is PORT?', '--repo', repo, '--model', stories, '--budget', '100000', '--max-tokens', '4', '--no-cache', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /--budget 100000 is above what the model's 512-token context allows with 128-token chunks: capped to 256/);
  const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(line.budget, 256);
  assert.equal(typeof line.tokensKept, 'number');
  assert.ok((line.tokensKept as number) > 0 && (line.tokensKept as number) <= 256);
});

test('--memory sizes the pot in MiB: with --budget, or not a size, exit 2 naming the flags; above the context, capped with a notice', (t) => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-memory-'));
  fs.writeFileSync(path.join(repo, 'a.ts'), 'export const PORT = 8080;\n'.repeat(30));
  for (const command of [['ask', 'q'], ['ingest']]) {
    const both = repopot([...command, '--repo', repo, '--model', path.join(repo, 'no-model'), '--budget', '512', '--memory', '4']);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /--budget and --memory both size the pot: give one of them/);
    assert.doesNotMatch(both.stderr, /built|graph|files ·/, 'no model loaded, nothing streamed');
  }
  const zero = repopot(['ask', 'q', '--repo', repo, '--model', path.join(repo, 'no-model'), '--memory', '0']);
  assert.equal(zero.code, 2, zero.stderr);
  assert.match(zero.stderr, /--memory must be a size in MiB above 0 \(got "0"\)/);
  if (!fs.existsSync(stories)) return t.skip(`../shared absent: ${stories} not found`);
  // stories260K: 1280 bytes a slot; 100 MiB would be 81920 slots.
  const r = repopot(['ask', 'What is PORT?', '--repo', repo, '--model', stories, '--memory', '100', '--max-tokens', '4', '--no-cache', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /--memory 100 MiB \(81920 slots\) is above what the model's 512-token context allows with 128-token chunks: capped to 256 slots \(0\.31 MiB\)/);
  assert.equal((JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>).budget, 256);
});

test.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
