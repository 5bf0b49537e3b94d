"""Rotary positions with gaps for training rows (train.py --gap-share), numpy only so its test runs without torch.

Why: the pot keeps each kept slot at the position it was streamed at (issue 15), so after compression the model reads
a few hundred kept lines spread over thousands of positions, with gaps where lines were dropped. A model trained only
on contiguous 1k rows never saw such distances and misread them. Training rows get the same shape: the row's tokens
keep their order and the causal mask, but the positions jump at line ends so the row spans up to max_positions
(like PoSE's skipped positions, placed at line boundaries because the pot drops whole lines)."""
import numpy as np


def gapped_positions(row, newline, max_positions, rng, pad=7):
    """Positions [T] for one row: 0.. with extra positions inserted after some newline tokens so that the last real
    row spans a uniformly drawn length in [T, max_positions]. Gap sizes are lumpy (Dirichlet 0.5), as a pot's are:
    long runs of dropped lines next to kept neighbours."""
    T = len(row)
    real = int((row != pad).sum())
    extra = int(rng.integers(0, max_positions - T + 1))  # the row (padding included) ends by max_positions - 1
    cuts = np.flatnonzero(newline[row[:max(real - 1, 0)]]) + 1  # a gap may open before the token after a line end
    if extra <= 0 or len(cuts) == 0:
        return np.arange(T, dtype=np.int64)
    k = int(rng.integers(1, len(cuts) + 1))
    where = np.sort(rng.choice(cuts, size=k, replace=False))
    sizes = np.floor(rng.dirichlet(np.full(k, 0.5)) * extra).astype(np.int64)
    step = np.ones(T, dtype=np.int64)
    step[0] = 0
    step[where] += sizes
    return np.cumsum(step)
