#!/usr/bin/env python3
"""The trainer's held-out judge (issue 11): exact match on held-out lookup questions and the copy score.

Training stages are judged by held-out EM, not by loss. EM for bare questions is computed with one
teacher-forced forward pass (greedy decoding reproduces ` answer<|end|>` iff the argmax at every gold
position is the gold token; same rule as eval_em.py). The copy score feeds each held-out span of
data/eval/copy-spans.jsonl twice after BOS and reports the loss on the first copy, the loss on the
repeat and the top-1 accuracy on the repeat (its first token excluded: nothing announces a repeat);
`repopot eval lookup --json` prints the same three numbers from the engine.
"""
import collections, json, os, random, sys
import numpy as np
import torch
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer
from eval_em import em_bare  # the same EM rule as the PyTorch-side evaluation
from read_heads import token_marks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TYPES = ('where', 'const', 'imports', 'params')


@torch.no_grad()
def copy_score(model, tok, spans, tokens=80):
    S = tok.special
    first, rep, top1, n1, n2 = 0.0, 0.0, 0, 0, 0
    for sp in spans:
        ids = tok.encode_ordinary(sp['text'])[:tokens]
        x = torch.tensor([[S['<|endoftext|>']] + ids + ids])
        logp = torch.log_softmax(model(x)[0, :-1].float(), -1)
        tgt = x[0, 1:]
        nll = -logp.gather(1, tgt[:, None])[:, 0]
        L = len(ids)
        first += float(nll[1:L].sum()); n1 += L - 1           # first copy, its first token excluded
        rep += float(nll[L + 1:].sum()); n2 += L - 1           # the repeat, its first token excluded
        top1 += int((logp[L + 1:].argmax(-1) == tgt[L + 1:]).sum())
    return {'firstLoss': round(first / n1, 4), 'repeatLoss': round(rep / n2, 4), 'repeatTop1': round(top1 / n2, 4)}


class Judge:
    def __init__(self, sets, per_type=16, copy_probe=None, threads=1, tokenizer=None):
        tok_path = tokenizer or os.path.join(ROOT, 'models/repopot-tiny-code/tokenizer.json')
        self.tok = Tokenizer(tok_path)
        self.newline = token_marks(os.path.dirname(tok_path))[0]  # where gapped positions may jump
        self.recs = collections.defaultdict(list)
        for path in sets:
            recs = [json.loads(l) for l in open(path) if l.strip()]
            random.Random(0).shuffle(recs)
            name = os.path.basename(path).replace('.jsonl', '')
            for r in recs:
                key = r['type']
                if key in TYPES and len(self.recs[(name, key)]) < per_type:
                    self.recs[(name, key)].append(r)
        self.spans = [json.loads(l) for l in open(copy_probe)] if copy_probe and os.path.exists(copy_probe) else []

    def run(self, model):
        out, by_type = {}, collections.defaultdict(list)
        for (name, key), recs in sorted(self.recs.items()):
            res = [em_bare(model, self.tok, r) for r in recs]
            em = sum(ok for ok, _ in res) / len(res)
            out[f'{name}/{key}'] = {'em': round(em, 3), 'nll': round(sum(n for _, n in res) / len(res), 3)}
            by_type[key] += [ok for ok, _ in res]
        pooled = {k: round(sum(v) / len(v), 3) for k, v in by_type.items()}
        r = {'sets': out, 'em': pooled, 'score': round(sum(pooled.values()) / max(1, len(pooled)), 4)}
        # the same where/imports questions read at gapped positions spanning up to the model's max positions, as a pot
        # that keeps its slots' stream positions presents them (issue 15)
        rng = np.random.default_rng(0)
        gapped = collections.defaultdict(list)
        for (name, key), recs in sorted(self.recs.items()):
            if key in ('where', 'imports'):
                gapped[key] += [em_bare(model, self.tok, rec, (self.newline, model.config['max_position_embeddings'], rng))[0] for rec in recs]
        r['emGapped'] = {k: round(sum(v) / len(v), 3) for k, v in gapped.items()}
        if self.spans:
            r['copy'] = copy_score(model, self.tok, self.spans)
        return r


if __name__ == '__main__':
    import argparse
    from eval_em import load
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default=os.path.join(ROOT, 'models/repopot-tiny-code'))
    ap.add_argument('--sets', nargs='+', default=[os.path.join(ROOT, 'data/eval/lookup-1k.jsonl'), os.path.join(ROOT, 'data/eval/lookup-py-1k.jsonl')])
    ap.add_argument('--per-type', type=int, default=16)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--max-positions', type=int, default=0, help='read the gapped questions over this many positions')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m, _ = load(a.model)
    if a.max_positions:
        from model import Llama
        weights = m.state_dict()
        m = Llama(dict(m.config, max_position_embeddings=a.max_positions))
        m.load_state_dict(weights)
        m.eval()
    print(json.dumps(Judge(a.sets, a.per_type, os.path.join(ROOT, 'data/eval/copy-spans.jsonl')).run(m)))
