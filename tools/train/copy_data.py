#!/usr/bin/env python3
"""Copy tasks: repeated spans of real code (issue 11).

Every lookup answer is a copy from the context, and the model could not copy: on an exact
repeat of a span of held-out code its loss barely dropped. These rows teach it: a span A of
real code, optionally some other code, then A again; the repeat's tokens are marked (class 3)
so the trainer can weight them (--copy-weight). Mixed into the same stream as the questions.

  # training rows (train-split code)
  /usr/bin/python3 tools/train/copy_data.py rows --out .train/data/copy --rows 20000 --seq 512
  # the held-out copy probe shared by the trainer's judge and `repopot eval lookup --json`
  /usr/bin/python3 tools/train/copy_data.py probe --out data/eval/copy-spans.jsonl --spans 48 --tokens 80
"""
import argparse, json, os, random, sys
import numpy as np
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer

PAD_CLS, CODE_CLS, ANSWER_CLS, COPY_CLS = 0, 1, 2, 3


def load_files(corpus, split):
    return [f for f in (json.loads(l) for l in open(corpus, encoding='utf-8')) if f['split'] == split and len(f['text']) > 400]


def span_at_line(rnd, text, chars):
    """A slice of about `chars` characters starting at a line start."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == '\n' and i + 1 < len(text)]
    s = rnd.choice(starts[: max(1, len(starts) - 3)])
    return text[s:s + chars]


def ambiguous_share(ids):
    """Share of positions (the first excluded) whose previous token is followed by more than one token in ids:
    there, copying from one token of context is not enough."""
    followers = {}
    for t, u in zip(ids, ids[1:]):
        followers.setdefault(t, set()).add(u)
    return sum(len(followers[t]) > 1 for t in ids[:-1]) / max(1, len(ids) - 1)


def rows(a):
    rnd = random.Random(a.seed)
    tok = Tokenizer(a.tokenizer)
    S = tok.special
    files = load_files(a.corpus, 'train')
    units = []
    while len(units) < a.rows * 3:
        f = rnd.choice(files)
        n = rnd.randint(a.min_span, a.max_span)
        near = a.near_filler > 0 and rnd.random() < a.near_filler
        # near filler: the code right after the span in the same file, which repeats the span's n-grams with other
        # continuations (a table of similar constants, similar calls), so the repeat needs a longer match
        m = rnd.randint(8, a.max_filler) if near else 0
        ids = tok.encode_ordinary(span_at_line(rnd, f['text'], (n + m) * 4))
        span, filler = ids[:n], ids[n:n + m]
        if len(span) < a.min_span or (near and len(filler) < 8):
            continue
        if a.min_ambiguous > 0 and ambiguous_share(span + filler) < a.min_ambiguous:
            continue
        ids = span
        if not near and rnd.random() < 0.6:
            g = rnd.choice(files)
            filler = tok.encode_ordinary(span_at_line(rnd, g['text'], 400))[:rnd.randint(8, a.max_filler)]
        seq = [S['<|endoftext|>']] + ids + filler + ids
        cls = [CODE_CLS] * (1 + len(ids) + len(filler)) + [CODE_CLS] + [COPY_CLS] * (len(ids) - 1)
        if len(seq) <= a.seq:
            units.append((seq, cls))
    rnd.shuffle(units)
    X = np.full((a.rows, a.seq), S['<|pad|>'], dtype=np.uint16)
    C = np.zeros((a.rows, a.seq), dtype=np.uint8)
    r, used, real = 0, 0, 0
    for seq, cls in units:
        if used + len(seq) > a.seq:
            r, used = r + 1, 0
            if r >= a.rows:
                break
        X[r, used:used + len(seq)] = seq
        C[r, used:used + len(seq)] = cls
        used += len(seq)
        real += len(seq)
    n = min(r + 1, a.rows)
    os.makedirs(os.path.dirname(a.out) or '.', exist_ok=True)
    np.save(a.out + '.npy', X[:n])
    np.save(a.out + '.cls.npy', C[:n])
    print(json.dumps({'rows': int(n), 'seq': a.seq, 'real_tokens': int(real), 'copy_tokens': int((C[:n] == COPY_CLS).sum())}))


def probe(a):
    """Held-out spans of exactly --tokens tokens (by the model's tokenizer), one per file, stored as text."""
    rnd = random.Random(a.seed)
    tok = Tokenizer(a.tokenizer)
    files = load_files(a.corpus, 'heldout')
    rnd.shuffle(files)
    out, pkgs = [], set()
    for f in files:
        if len(out) >= a.spans:
            break
        if f['pkg'] in pkgs and len(pkgs) < a.spans // 2:
            continue
        ids = tok.encode_ordinary(span_at_line(rnd, f['text'], a.tokens * 6))
        if len(ids) < a.tokens:
            continue
        text = tok.decode(ids[:a.tokens])
        if len(tok.encode_ordinary(text)) != a.tokens:
            continue
        pkgs.add(f['pkg'])
        out.append({'pkg': f['pkg'], 'path': f['path'], 'lang': f['lang'], 'text': text})
    with open(a.out, 'w', encoding='utf-8') as fo:
        fo.write(''.join(json.dumps(o) + '\n' for o in out))
    print(json.dumps({'out': a.out, 'spans': len(out), 'tokens': a.tokens}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('what', choices=['rows', 'probe'])
    ap.add_argument('--out', required=True)
    ap.add_argument('--corpus', default='.train/corpus/files.jsonl')
    ap.add_argument('--tokenizer', default='.train/tok/tokenizer.json')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--rows', type=int, default=20000)
    ap.add_argument('--seq', type=int, default=512)
    ap.add_argument('--min-span', type=int, default=24)
    ap.add_argument('--max-span', type=int, default=160)
    ap.add_argument('--max-filler', type=int, default=96)
    ap.add_argument('--near-filler', type=float, default=0.0,
                    help='rows: share of rows whose filler is the code right after the span in the same file')
    ap.add_argument('--min-ambiguous', type=float, default=0.0,
                    help='rows: keep only spans (with their filler) where at least this share of positions has a '
                         'previous token followed by more than one token (ambiguous_share)')
    ap.add_argument('--spans', type=int, default=48)
    ap.add_argument('--tokens', type=int, default=80)
    a = ap.parse_args()
    rows(a) if a.what == 'rows' else probe(a)


if __name__ == '__main__':
    main()
