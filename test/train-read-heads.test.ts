// Training-data checks, in Python (skipped where python3 lacks what they import): the read heads' attention targets
// (issue 11, tools/train/read_heads.py): file bodies point at their own header's path, answers at the context span
// they copy; and pot-shaped samples (prepare_data.py --thin-share) keep every line a question needs.
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

test('pot-shaped training samples keep every header and every line a question needs (tools/train/test_pot_shaped.py)', (t) => {
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import numpy, regex'], { encoding: 'utf8' }).status === 0);
  if (!python) return t.skip('no python3 with numpy and regex on this machine');
  const r = spawnSync(python, [path.join(root, 'tools', 'train', 'test_pot_shaped.py')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^pot_shaped ok$/m);
});
