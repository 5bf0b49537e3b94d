#!/usr/bin/env python3
"""Held-out EM per type and the copy score against training tokens, from the judge's results
(a stage's judge log, or the entries export.py finds in a checkpoint's history).

  /usr/bin/python3 tools/train/plot_judge.py .train/logs/cf1.eval.jsonl docs/images/training-cf1.png
"""
import json, sys


def plot(rows, out_png):
    """rows: judge.py results with `tokens_seen` (and `stage`), in training order."""
    if not rows:
        return
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except Exception as e:
        print('no matplotlib:', e)
        return
    xs = [r['tokens_seen'] / 1e6 for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in sorted(rows[-1]['em']):
        ax.plot(xs, [r['em'].get(k, float('nan')) for r in rows], marker='o', ms=3, label=f'held-out EM: {k} (1k, pooled)')
    ax.plot(xs, [r.get('copy', {}).get('repeatTop1', float('nan')) for r in rows], 'k--', marker='s', ms=3, label='copy score: repeat top-1')
    ax.set_xlabel('training tokens seen by the model, all stages (millions)')
    ax.set_ylabel('exact match / top-1')
    ax.set_ylim(0, 1)
    ax.set_title(f'{rows[-1].get("stage", "")}: held-out retrieval during training (judge.py)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    print('wrote', out_png)


if __name__ == '__main__':
    plot([json.loads(l) for l in open(sys.argv[1]) if l.strip()], sys.argv[2])
