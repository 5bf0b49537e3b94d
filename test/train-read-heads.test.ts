// The read heads' attention targets (issue 11, tools/train/read_heads.py): file bodies point at their own header's
// path, answers at the context span they copy. The check itself is Python (numpy); it skips where numpy is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

test('read-head targets point at the header and the copied span (tools/train/test_read_heads.py)', (t) => {
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0);
  if (!python) return t.skip('no python3 with numpy on this machine');
  const r = spawnSync(python, [path.join(root, 'tools', 'train', 'test_read_heads.py')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^read_heads ok$/m);
});
