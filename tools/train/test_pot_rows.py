"""python3 tools/train/test_pot_rows.py: datasets with positions beside them (X.pos.npy, pot-rows.ts) come back from
train.Sources row-aligned with their tokens; datasets without them get 0..seq-1 and are marked as such."""
import os, tempfile
import numpy as np
from train import Sources

seq = 12
with tempfile.TemporaryDirectory() as d:
    # pot rows: token k of row r is 100*r + k, at position 1000*r + 3*k (gaps), padded like pot-rows.ts writes them
    tok = np.array([[100 * r + k for k in range(16)] for r in range(5)], dtype=np.uint16)
    pos = np.array([[1000 * r + 3 * k for k in range(16)] for r in range(5)], dtype=np.int32)
    np.save(os.path.join(d, 'pot.npy'), tok)
    np.save(os.path.join(d, 'pot.pos.npy'), pos)
    np.save(os.path.join(d, 'plain.npy'), np.full((3, 16), 9000, dtype=np.uint16))
    src = Sources([os.path.join(d, 'pot.npy') + ':0.5', os.path.join(d, 'plain.npy') + ':0.5'], seq)
    assert src.rows() == 8 and src.max_position() == 4045, (src.rows(), src.max_position())
    seen = set()
    for step in range(20):
        x, c, p, has = src.batch(0, step, 4, seq)
        assert x.shape == c.shape == p.shape == (4, seq) and p.dtype == np.int64 and has.shape == (4,)
        for b in range(4):
            if has[b]:
                r = int(x[b, 0]) // 100
                assert (x[b] == tok[r, :seq]).all() and (p[b] == pos[r, :seq]).all(), (x[b], p[b])
                seen.add(r)
            else:
                assert (x[b] == 9000).all() and (p[b] == np.arange(seq)).all(), p[b]
    assert len(seen) >= 3, seen  # several pot rows drawn, each with its own positions
    # a positions file of another shape is refused
    np.save(os.path.join(d, 'bad.npy'), tok)
    np.save(os.path.join(d, 'bad.pos.npy'), pos[:, :8])
    try:
        Sources([os.path.join(d, 'bad.npy')], seq)
        raise SystemExit('a misshapen .pos.npy was accepted')
    except AssertionError:
        pass
    # without positions anywhere there is no max position to check
    assert Sources([os.path.join(d, 'plain.npy')], seq).max_position() is None
print('pot rows ok')
