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

test('copy rows with a near filler: the filler is the code right after the span, and the repeat follows it', (t) => {
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import numpy, regex'], { encoding: 'utf8' }).status === 0);
  if (!python) return t.skip('no python3 with numpy and regex on this machine');
  const script = String.raw`
import json, os, subprocess, sys, tempfile
import numpy as np
sys.path.insert(0, 'tools/train')
from bpe import Tokenizer
from copy_data import ambiguous_share
text = ''.join(f'export const LEVEL_{i} = "level-{i}";\n' for i in range(60))
d = tempfile.mkdtemp()
open(os.path.join(d, 'files.jsonl'), 'w').write(json.dumps({'pkg': 'p', 'split': 'train', 'lang': 'js', 'path': 'a.js', 'text': text}) + '\n')
out = os.path.join(d, 'rows')
subprocess.run([sys.executable, 'tools/train/copy_data.py', 'rows', '--out', out, '--corpus', os.path.join(d, 'files.jsonl'),
                '--tokenizer', 'models/repopot-tiny-code/tokenizer.json', '--rows', '4', '--seq', '512', '--min-span', '24',
                '--max-span', '60', '--max-filler', '40', '--near-filler', '1', '--min-ambiguous', '0.3', '--seed', '2'], check=True, capture_output=True)
tok = Tokenizer('models/repopot-tiny-code/tokenizer.json')
X, C = np.load(out + '.npy'), np.load(out + '.cls.npy')
bos, pad = tok.special['<|endoftext|>'], tok.special['<|pad|>']
units = 0
for x, c in zip(X.tolist(), C.tolist()):
    starts = [i for i, v in enumerate(x) if v == bos] + [len([v for v in x if v != pad])]
    for s, e in zip(starts, starts[1:]):
        u, cls = x[s + 1:e], c[s + 1:e]
        copy = [i for i, k in enumerate(cls) if k == 3]
        L = len(copy) + 1                      # the repeat: its first token is not marked
        span, filler, rep = u[:L], u[L:len(u) - L], u[len(u) - L:]
        assert span == rep, 'the repeat is the span'
        assert 8 <= len(filler) <= 40, len(filler)
        assert tok.decode(span + filler) in text, 'the filler is what follows the span in the file'
        assert ambiguous_share(span + filler) >= 0.3
        units += 1
print(json.dumps({'units': units, 'share': round(ambiguous_share(tok.encode_ordinary(text[:400])), 2)}))
`;
  const r = spawnSync(python, ['-c', script], { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.ok(JSON.parse(r.stdout.trim().split('\n').pop()!).units >= 4, r.stdout);
});
