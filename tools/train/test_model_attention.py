"""Blocked causal attention (model.causal_attention) equals the plain masked softmax: outputs, the watched heads'
probabilities and the gradients, with and without keys cached before the rows, for blocks that do and do not divide
the row count. Prints "model attention ok"."""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import causal_attention  # noqa: E402


def plain(q, k, v, mask, watch, scale):
    att = ((q @ k.transpose(-1, -2)) * scale).masked_fill(mask, float('-inf')).softmax(-1)
    return att @ v, att[:, list(watch)]


def check(T, before, block, watch=(0, 2)):
    g = torch.Generator().manual_seed(T * 100 + before + block)
    B, H, D = 2, 4, 16
    Tk = T + before
    q0, k0, v0 = (torch.randn(B, H, n, D, generator=g, dtype=torch.float64) for n in (T, Tk, Tk))
    mask = torch.triu(torch.ones(Tk, Tk, dtype=torch.bool), 1)[before:before + T, :Tk]
    scale = 1.0 / math.sqrt(D)
    outs = []
    for f in (lambda *a: plain(*a), lambda q, k, v, m, w, s: causal_attention(q, k, v, m, w, s, block)):
        q, k, v = (t.clone().requires_grad_(True) for t in (q0, k0, v0))
        y, probs = f(q, k, v, mask, watch, scale)
        ((y * y).sum() + (probs * probs).sum()).backward()
        outs.append((y.detach(), probs.detach(), q.grad, k.grad, v.grad))
    names = ('output', 'watched probabilities', 'dq', 'dk', 'dv')
    for name, a, b in zip(names, *outs):
        assert a.shape == b.shape, (name, a.shape, b.shape)
        err = (a - b).abs().max().item()
        assert err < 1e-10, f'T={T} cached={before} block={block}: {name} differs by {err}'
    y, none = causal_attention(q0, k0, v0, mask, (), scale, block)
    assert none is None and torch.allclose(y, outs[0][0])


for T, before, block in [(37, 0, 8), (37, 0, 37), (37, 0, 64), (64, 0, 16), (5, 11, 2), (20, 7, 6), (1, 30, 4)]:
    check(T, before, block)
print('model attention ok')
