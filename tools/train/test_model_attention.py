"""Blocked causal attention (model.causal_attention) equals the plain masked softmax: outputs, the watched heads'
probabilities and the gradients, with and without keys cached before the rows, for blocks that do and do not divide
the row count; and training under bf16 autocast matches fp32 where the CPU has native bf16. Prints "model attention ok"."""
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


def check_bf16():
    """Training under bf16 autocast (train.py --bf16, on by default where the CPU multiplies bf16 natively) gives the
    fp32 loss and gradients up to bf16 rounding, the supervised heads' probabilities included."""
    from model import Llama
    from train import cpu_has_bf16
    if not cpu_has_bf16():
        print('bf16 autocast not checked: this CPU has no native bf16')
        return
    torch.manual_seed(3)
    c = dict(vocab_size=256, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=256)
    m = Llama(c)
    m.model.layers[1].self_attn.watch = (0,)
    x = torch.randint(0, 256, (2, 129))
    results = []
    for bf16 in (False, True):
        m.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            logits = m(x[:, :-1])
        assert logits.dtype == (torch.bfloat16 if bf16 else torch.float32), logits.dtype  # autocast did run
        probs = m.model.layers[1].self_attn.watched.float()
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, 256), x[:, 1:].reshape(-1))
        loss = loss - torch.log(probs.clamp_min(1e-9)).mean() * 0.01
        loss.backward()
        results.append((loss.item(), torch.cat([p.grad.flatten() for p in m.parameters()])))
    (l32, g32), (l16, g16) = results
    assert abs(l16 - l32) / l32 < 0.01, f'bf16 loss {l16} vs fp32 {l32}'
    cos = torch.nn.functional.cosine_similarity(g32, g16, 0).item()
    assert cos > 0.99, f'bf16 gradients at cosine {cos} to fp32'


for T, before, block in [(37, 0, 8), (37, 0, 37), (37, 0, 64), (64, 0, 16), (5, 11, 2), (20, 7, 6), (1, 30, 4)]:
    check(T, before, block)
check_bf16()
print('model attention ok')
