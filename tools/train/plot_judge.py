#!/usr/bin/env python3
"""Held-out EM per type and the copy score against training tokens, from a stage's judge log.

  /usr/bin/python3 tools/train/plot_judge.py .train/logs/cf1.eval.jsonl docs/images/training-cf1.png
"""
import json, sys
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
t0 = rows[0]['tokens_seen'] - 0
xs = [(r['tokens_seen']) / 1e6 for r in rows]
fig, ax = plt.subplots(figsize=(7, 4))
for k in sorted(rows[0]['em']):
    ax.plot(xs, [r['em'].get(k, float('nan')) for r in rows], marker='o', ms=3, label=f'held-out EM: {k} (1k, pooled)')
ax.plot(xs, [r.get('copy', {}).get('repeatTop1', float('nan')) for r in rows], 'k--', marker='s', ms=3, label='copy score: repeat top-1')
ax.set_xlabel('training tokens seen by the model, all stages (millions)')
ax.set_ylabel('exact match / top-1')
ax.set_ylim(0, 1)
ax.set_title(f'{rows[0]["stage"]}: held-out retrieval during training (judge.py)')
ax.grid(alpha=0.3)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
print('wrote', sys.argv[2])
