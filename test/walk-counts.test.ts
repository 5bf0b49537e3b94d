// Ingest accounts for every file it saw: read, or counted under a skip reason (a pruned folder counts the files
// under it); data tables and dumps are skipped as 'data', small JSON (package.json, tsconfig.json) is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { walkRepository } from '../server/src/distill/repoWalker';
import { skippedFileCounts } from '../server/src/distill/distiller';
import { classifyData } from '../server/src/distill/fileFilters';

/** A fresh temp folder and a writer of files into it (parents created). */
function tempRepo(): { dir: string; write: (rel: string, text: string) => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-walk-'));
  const write = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  return { dir, write };
}

test('pruned folders count their files; data files are skipped as data; every file is accounted for', async () => {
  const { dir, write } = tempRepo();
  write('package.json', '{ "name": "x" }\n');
  write('src/index.js', 'module.exports = 1;\n');
  for (let i = 0; i < 17; i++) write(`dist/sub${i % 3}/f${i}.js`, `var a${i} = ${i};\n`);
  write('node_modules/dep/index.js', 'module.exports = 2;\n');
  write('tables/codes.json', JSON.stringify(Array.from({ length: 6000 }, (_, i) => i), null, 1));
  write('tables/rows.csv', 'a,b,c\n'.repeat(3000));
  write('package-lock.json', '{}\n');
  const total = 2 + 17 + 1 + 2 + 1;

  const walk = await walkRepository(dir);
  assert.deepEqual(walk.files.map((f) => f.path), ['package.json', 'src/index.js']);
  const dist = walk.skipped.find((s) => s.path === 'dist');
  assert.equal(dist?.reason, 'generated');
  assert.equal(dist?.files, 17, 'the pruned folder counts the files under it');
  assert.equal(walk.skipCounts.generated, 2, 'entries: dist/ and package-lock.json');
  const counts = skippedFileCounts(walk.skipped);
  assert.deepEqual(counts, { generated: 18, vendored: 1, data: 2 });
  assert.equal(walk.files.length + Object.values(counts).reduce((a, b) => a + b, 0), total, 'every file read or skipped');
  assert.match(walk.skipped.find((s) => s.path === 'tables/codes.json')!.detail!, /bytes of JSON > 16 KiB/);

  // Without the built-in filters nothing is data.
  const raw = await walkRepository(dir, { defaultFilters: false });
  assert.ok(raw.files.some((f) => f.path === 'tables/codes.json'));
});

test('a package that ships only its build: its dist/ is read; beside source code it stays skipped', async () => {
  const { dir, write } = tempRepo();
  write('README.md', '# chownr\n');
  write('package.json', '{ "main": "./dist/commonjs/index.js" }\n');
  write('dist/commonjs/index.js', 'exports.chownr = function () {};\n');
  write('dist/esm/index.js', 'export const chownr = () => {};\n');
  write('dist/esm/index.js.map', '{}\n');
  write('coverage/lcov.info', 'TN:\n');
  const built = await walkRepository(dir);
  assert.deepEqual(built.files.map((f) => f.path), ['README.md', 'dist/commonjs/index.js', 'dist/esm/index.js', 'package.json']);
  assert.ok(!built.skipped.some((s) => s.path === 'dist'), 'dist/ is no longer counted as skipped');
  assert.ok(built.skipped.some((s) => s.path === 'dist/esm/index.js.map' && s.reason === 'generated'), 'the filters still apply inside it');
  assert.ok(built.skipped.some((s) => s.path === 'coverage'), 'only build output folders, not caches or coverage');

  write('src/index.ts', 'export function chownr() {}\n');
  const withSource = await walkRepository(dir);
  assert.deepEqual(withSource.files.map((f) => f.path), ['README.md', 'package.json', 'src/index.ts']);
  assert.equal(withSource.skipped.find((s) => s.path === 'dist')?.reason, 'generated');
});

test('classifyData: by extension and size only', () => {
  assert.equal(classifyData('package.json', 2000), null);
  assert.match(classifyData('data/big.json', 20_000)!, /JSON > 16 KiB/);
  assert.match(classifyData('x.CSV', 9000)!, /CSV > 8 KiB/);
  assert.equal(classifyData('x.csv', 8 * 1024), null, 'at the limit is kept');
  assert.equal(classifyData('src/big.ts', 900_000), null, 'source is never data');
});
