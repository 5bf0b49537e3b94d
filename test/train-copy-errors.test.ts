// The copy probe's breakdown (tools/train/copy_errors.py): a position's ambiguity is how many tokens before it still
// leave more than one follower in the span, the split that says whether misses need a longer match or a surer copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

test('copy_errors.ambiguity: 0 when the previous token fixes the next, k when k tokens still leave a choice', (t) => {
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'pass'], { encoding: 'utf8' }).status === 0);
  if (!python) return t.skip('no python3 on this machine');
  // "1 2" is followed by 3 and by 4, so the token after it is ambiguous up to 2; "3 1 2" and "9 1 2" occur once
  const script = [
    'import sys; sys.path.insert(0, "tools/train")',
    'from copy_errors import ambiguity',
    'ids = [1, 2, 3, 1, 2, 4, 9, 1, 2, 3]',
    'print([ambiguity(ids, j) for j in range(1, len(ids))])',
  ].join('\n');
  const r = spawnSync(python, ['-c', script], { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [0, 2, 0, 0, 2, 0, 0, 0, 2]);
});
