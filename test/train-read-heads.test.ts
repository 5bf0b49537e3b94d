// Training-data checks, in Python (skipped where python3 lacks what they import): the read heads' attention targets
// (issue 11, tools/train/read_heads.py): file bodies point at their own header's path, answers at the context span
// they copy (only its definition site with the name head, which points answers and definitions at the name);
// synthetic recall samples (recall_data.py) answer truly; pot-shaped samples (prepare_data.py --thin-share) keep every line a question needs; gapped positions
// (position_gaps.py) look like a pot's kept slots; rows read from a pot (pot-rows.ts) keep their positions in train.Sources;
// the trainer's blocked causal attention (model.py) equals the plain one, and bf16 autocast matches fp32 where the CPU has native bf16;
// depth growth (grow.py) keeps the model's logits.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

/** Runs tools/train/<script> with a python3 that imports `modules`, and expects its "<name> ok" line; skips without one. */
function pythonCheck(t: TestContext, script: string, modules: string[], okLine: RegExp): void {
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' }).status === 0);
  if (!python) return t.skip(`no python3 with ${modules.join(' and ')} on this machine`);
  const r = spawnSync(python, [path.join(root, 'tools', 'train', script)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, okLine);
}

test('read-head targets point at the header and the copied span (tools/train/test_read_heads.py)', (t) => {
  pythonCheck(t, 'test_read_heads.py', ['numpy'], /^read_heads ok$/m);
});

test('synthetic recall samples: every answer is true of the generated files, with near-duplicate names (tools/train/test_recall_data.py)', (t) => {
  pythonCheck(t, 'test_recall_data.py', ['ast'], /^recall_data ok$/m);
});

test('blocked causal attention in the trainer equals the plain masked softmax, gradients included (tools/train/test_model_attention.py)', (t) => {
  pythonCheck(t, 'test_model_attention.py', ['torch'], /^model attention ok$/m);
});

test('depth growth keeps the model\'s logits exactly and the new layers train (tools/train/test_grow.py)', (t) => {
  pythonCheck(t, 'test_grow.py', ['torch', 'numpy'], /^grow ok$/m);
});

test('pot-shaped training samples keep every header and every line a question needs (tools/train/test_pot_shaped.py)', (t) => {
  pythonCheck(t, 'test_pot_shaped.py', ['numpy', 'regex'], /^pot_shaped ok$/m);
});

test('gapped training positions keep order, jump only at line ends and stay within the context (tools/train/test_position_gaps.py)', (t) => {
  pythonCheck(t, 'test_position_gaps.py', ['numpy'], /^position gaps ok$/m);
});

test('rows read from a pot carry their positions into training, row-aligned with their tokens (tools/train/test_pot_rows.py)', (t) => {
  pythonCheck(t, 'test_pot_rows.py', ['numpy', 'torch'], /^pot rows ok$/m);
});
