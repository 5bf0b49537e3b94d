"""grow.py keeps the model's function: after inserting layers (copies of one with their output projections zeroed) the
logits are the old model's exactly, every later layer moved up, and the new layers' copied weights train (their
zeroed projections get gradients). Prints "grow ok"."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grow import grow  # noqa: E402
from model import Llama  # noqa: E402

torch.manual_seed(5)
cfg = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
           num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=64)
small = Llama(cfg)
for p in small.parameters():  # weights far from init, so a wrong copy or a missed zero would show
    p.data.add_(torch.randn_like(p) * 0.2)
x = torch.randint(0, 128, (2, 40))
state, grown_cfg, new_index = grow(small.state_dict(), cfg, after=1, count=2)
assert grown_cfg['num_hidden_layers'] == 5 and new_index == {0: 0, 1: 1, 2: 4}, (grown_cfg, new_index)
big = Llama(grown_cfg)
big.load_state_dict(state)
with torch.no_grad():
    assert torch.equal(small(x), big(x)), 'grown model computes different logits'
assert torch.equal(big.model.layers[4].mlp.up_proj.weight, small.model.layers[2].mlp.up_proj.weight)
assert torch.equal(big.model.layers[2].self_attn.q_proj.weight, small.model.layers[1].self_attn.q_proj.weight)
assert big.model.layers[3].self_attn.o_proj.weight.abs().sum() == 0
torch.nn.functional.cross_entropy(big(x)[:, :-1].reshape(-1, 128), x[:, 1:].reshape(-1)).backward()
assert big.model.layers[2].self_attn.o_proj.weight.grad.abs().sum() > 0
assert big.model.layers[3].mlp.down_proj.weight.grad.abs().sum() > 0
for bad in ((3, 1), (1, 0)):
    try:
        grow(small.state_dict(), cfg, *bad)
    except ValueError:
        continue
    raise AssertionError(f'grow accepted after={bad[0]} count={bad[1]}')
print('grow ok')
