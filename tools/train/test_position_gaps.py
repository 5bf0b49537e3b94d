"""python3 tools/train/test_position_gaps.py: the gapped positions keep order, jump only at line ends, stay in range."""
import numpy as np
from position_gaps import gapped_positions

newline = np.zeros(20, bool)
newline[5] = True
rng = np.random.default_rng(1)
row = np.array([0, 9, 9, 5, 9, 9, 5, 9, 9, 5, 9, 7, 7], dtype=np.int64)  # three lines, then padding
spans = []
for _ in range(200):
    p = gapped_positions(row, newline, 64, rng)
    d = np.diff(p)
    assert p[0] == 0 and (d >= 1).all() and p.max() <= 63, p
    jumps = np.flatnonzero(d > 1) + 1
    assert all(row[j - 1] == 5 for j in jumps), (p, jumps)  # a gap opens only after a newline token
    spans.append(p[10])
assert min(spans) < 20 and max(spans) > 40, (min(spans), max(spans))  # spans spread over the allowed range
assert (gapped_positions(np.array([0, 9, 9]), newline, 64, rng) == [0, 1, 2]).all()  # no line end: contiguous
print('position gaps ok')
