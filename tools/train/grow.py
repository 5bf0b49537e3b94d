"""Depth growth that keeps what the model computes (issue 11: "a larger model is welcome if it still runs in the CPU
engine at hover speed"): K new layers after layer L, each a copy of layer L whose output projections (attention o_proj
and MLP down_proj) are zero, so each adds exactly nothing to the residual stream and the grown model's logits are the
old model's, bit for bit. Training then starts from everything the small model learned instead of from scratch: the
zeroed projections get gradients at once (their inputs are the copied layer's features), the rest once they move.

Layers after L move up by K: supervised heads named by layer (READ_HEADS, COPY_HEADS) must be renamed with the map
this prints.

  grow.py --init .train/ckpt/cf17/final.pt --after 2 --count 2 --out .train/ckpt/grown/init.pt
  counterfactual.sh stage with init grown/init (a stage/checkpoint name) then trains it.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import load_init  # noqa: E402

ZEROED = ('self_attn.o_proj.weight', 'mlp.down_proj.weight')


def grow(state, cfg, after, count):
    """New (state_dict, config, layer map old index -> new index) with `count` layers inserted after layer `after`."""
    n = cfg['num_hidden_layers']
    if not 0 <= after < n:
        raise ValueError(f'--after must name one of the model\'s layers 0..{n - 1} (got {after})')
    if count < 1:
        raise ValueError(f'--count must be at least 1 (got {count})')
    new_index = {i: (i if i <= after else i + count) for i in range(n)}
    out = {}
    for key, value in state.items():
        if not key.startswith('model.layers.'):
            out[key] = value.clone()
            continue
        i, rest = key[len('model.layers.'):].split('.', 1)
        out[f'model.layers.{new_index[int(i)]}.{rest}'] = value.clone()
        if int(i) == after:
            for k in range(count):
                copy = torch.zeros_like(value) if rest in ZEROED else value.clone()
                out[f'model.layers.{after + 1 + k}.{rest}'] = copy
    return out, dict(cfg, num_hidden_layers=n + count), new_index


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--init', required=True, help='checkpoint (.pt) or exported model folder')
    ap.add_argument('--after', type=int, required=True, help='insert after this layer (0-based)')
    ap.add_argument('--count', type=int, default=1, help='layers to insert')
    ap.add_argument('--out', required=True, help='checkpoint to write (.pt), for train.py --init-from')
    a = ap.parse_args()
    src = load_init(a.init)
    try:
        state, cfg, new_index = grow(src['model'], src['config'], a.after, a.count)
    except ValueError as e:
        sys.exit(f'grow.py: {a.init}: {e}')
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + '.tmp'
    torch.save({'model': state, 'config': cfg, 'step': src.get('step', 0), 'stage': src.get('stage'),
                'history': src.get('history', []), 'grown': {'from': a.init, 'after': a.after, 'count': a.count}}, tmp)
    os.replace(tmp, a.out)
    print(json.dumps({'out': a.out, 'layers': cfg['num_hidden_layers'], 'layerMap': new_index}))


if __name__ == '__main__':
    main()
