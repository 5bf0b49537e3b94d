#!/usr/bin/env python3
"""Where the copy probe's misses are (issue 11): the judge's repeat top-1, split by how ambiguous the repeat's
next token is given the tokens before it in the first copy.

A position is "ambiguous up to k" when the k tokens before it occur elsewhere in the first copy followed by another
token (k = 0: the previous token alone fixes the next). Exact copying from the previous token fixes every
k = 0 position; only a longer match (or the offset) resolves k >= 1. Same spans and scoring as judge.copy_score.

  /usr/bin/python3 tools/train/copy_errors.py --model models/repopot-tiny-code
"""
import argparse, collections, json, os, sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ambiguity(ids, j, max_k=3):
    """Largest k <= max_k such that the k tokens before ids[j] are followed by more than one token in ids."""
    amb = 0
    for k in range(1, max_k + 1):
        if j < k:
            break
        ctx = tuple(ids[j - k:j])
        followers = {ids[i + k] for i in range(len(ids) - k) if tuple(ids[i:i + k]) == ctx}
        if len(followers) <= 1:
            break
        amb = k
    return amb


def main():
    import torch
    from eval_em import load
    from bpe import Tokenizer
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default=os.path.join(ROOT, 'models/repopot-tiny-code'))
    ap.add_argument('--spans', default=os.path.join(ROOT, 'data/eval/copy-spans.jsonl'))
    ap.add_argument('--tokens', type=int, default=80)
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, _ = load(a.model)
    tok = Tokenizer(os.path.join(a.model, 'tokenizer.json'))
    bos = tok.special['<|endoftext|>']
    hits = collections.Counter()
    total = collections.Counter()
    with torch.no_grad():
        for line in open(a.spans, encoding='utf-8'):
            ids = tok.encode_ordinary(json.loads(line)['text'])[:a.tokens]
            L = len(ids)
            pred = model(torch.tensor([[bos] + ids + ids]))[0].argmax(-1)
            for j in range(1, L):  # the repeat's token j is predicted at position L + j (its first token excluded)
                k = ambiguity(ids, j)
                total[k] += 1
                hits[k] += int(int(pred[L + j]) == ids[j])
    n = sum(total.values())
    for k in sorted(total):
        print(json.dumps({'ambiguousUpTo': k, 'positions': total[k], 'share': round(total[k] / n, 3), 'top1': round(hits[k] / total[k], 3)}))
    print(json.dumps({'repeatTop1': round(sum(hits.values()) / n, 4), 'positions': n}))


if __name__ == '__main__':
    main()
