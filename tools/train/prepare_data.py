#!/usr/bin/env python3
"""Tokenize question-generator output into fixed-length training rows.

Each row = <|endoftext|> + repository (`<|file|> path\\n text\\n` per file)
+ questions (`<|question|> q\\n<|answer|>` + [`<|trace|> t<|final|>`] + ` a<|end|>\\n`)
; samples are packed (first fit) into rows and padded with <|pad|> (loss-masked) to --seq.  Questions that do
not fit are dropped; rows whose repository alone does not fit are dropped.
Optionally mixes plain Python-stdlib repositories (no questions) from the corpus.
Pot-shaped samples (issue 15: the model read a full repository but misread the same repository once a pot had
dropped part of it, or once other packages' files stood around it):
  --thin-share P   a share of samples lose lines of their files (each line at a rate drawn from 0.2-0.7), except
                   headers and the lines that hold a question's name or answer, so every answer stays true;
  --distract-share P  a share of samples get 1-3 files of another sample inserted among theirs.
Output: <out>.npy uint16 [N, seq] and <out>.json stats.
"""
import argparse, json, os, random, re, sys
import numpy as np
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer


def encode_sample(tok, files, questions, S):
    ids = [S['<|endoftext|>']]
    for f in files:
        ids += [S['<|file|>']] + tok.encode_ordinary(f' {f["path"]}\n{f["text"]}\n')
    for q in questions:
        ids += [S['<|question|>']] + tok.encode_ordinary(f' {q["question"]}\n') + [S['<|answer|>']]
        if q.get('form') == 'trace' and q.get('trace'):
            ids += [S['<|trace|>']] + tok.encode_ordinary(f' {q["trace"]}') + [S['<|final|>']]
        ids += tok.encode_ordinary(f' {q["answer"]}') + [S['<|end|>']] + tok.encode_ordinary('\n')
    return ids


def protected_strings(questions):
    """Names a question asks about (in backticks) and its answers' parts: the lines holding them are the evidence."""
    out = set()
    for q in questions:
        for m in re.findall(r'`([^`]+)`', q['question']):
            out.add(m)
        for part in re.split(r'[,\s]+', q['answer']):
            if len(part) >= 2:
                out.add(part.split('/')[-1] if '/' in part else part)
    return [x for x in out if x]


def thin_files(rnd, files, questions):
    """Drops lines of each file at a random rate, keeping every line that holds a protected string."""
    keep_if = protected_strings(questions)
    rate = rnd.uniform(0.2, 0.7)
    out = []
    for f in files:
        lines = f['text'].split('\n')
        kept = [l for l in lines if any(k in l for k in keep_if) or rnd.random() >= rate]
        out.append({**f, 'text': '\n'.join(kept)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qa', nargs='+', required=True)
    ap.add_argument('--tokenizer', default='.train/tok/tokenizer.json')
    ap.add_argument('--seq', type=int, default=512)
    ap.add_argument('--out', required=True)
    ap.add_argument('--py-corpus', default='.train/corpus/files.jsonl')
    ap.add_argument('--py-frac', type=float, default=0.0, help='extra plain python repos, fraction of rows')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--pack', type=int, default=1, help='pack several samples per row')
    ap.add_argument('--thin-share', type=float, default=0.0, help='share of samples whose files lose lines (pot-shaped)')
    ap.add_argument('--distract-share', type=float, default=0.0, help='share of samples given files of another sample')
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    tok = Tokenizer(a.tokenizer)
    S = tok.special
    rows, nq, dropped, real = [], 0, 0, 0
    records = []
    for p in a.qa:
        records += [json.loads(l) for l in open(p, encoding='utf-8') if l.strip()]
    thinned = distracted = 0
    for r in records:
        qs = r.get('questions', [])
        # other files could import the same module: no distractors where a question lists importers
        listing = any(q.get('type') in ('imports', 'multihop-def', 'multihop-params', 'multihop-value') for q in qs)
        thin = a.thin_share > 0 and rnd.random() < a.thin_share
        files = r['files']
        if a.distract_share > 0 and not listing and rnd.random() < a.distract_share and len(records) > 1:
            other = records[rnd.randrange(len(records))]
            if other is not r and other.get('files'):
                mixed = list(files)
                for f in rnd.sample(other['files'], min(len(other['files']), rnd.randint(1, 3))):
                    if all(f['path'] != g['path'] for g in mixed):
                        mixed.insert(rnd.randint(0, len(mixed)), f)
                # a thinned sample has room for more; a sample that no longer fits keeps its own files
                if len(encode_sample(tok, thin_files(random.Random(0), mixed, qs) if thin else mixed, qs[:1], S)) <= a.seq:
                    files = mixed
                    distracted += 1
        if thin:
            files = thin_files(rnd, files, qs)
            thinned += 1
        while True:
            ids = encode_sample(tok, files, qs, S)
            if len(ids) <= a.seq or not qs:
                break
            qs = qs[:-1]
        if len(ids) > a.seq:
            dropped += 1
            continue
        nq += len(qs)
        rows.append(ids)
    if a.py_frac > 0:
        by = {}
        for l in open(a.py_corpus, encoding='utf-8'):
            f = json.loads(l)
            if f['split'] == 'train' and f['lang'] == 'py':
                by.setdefault(f['pkg'], []).append(f)
        pk = sorted(by)
        want = int(len(rows) * a.py_frac)
        tries = 0
        while want > 0 and tries < want * 20:
            tries += 1
            fs = by[rnd.choice(pk)]
            i = rnd.randrange(len(fs))
            chosen, n = [], 1
            for f in fs[i:] + fs[:i]:
                ids = encode_sample(tok, [f], [], S)
                if n + len(ids) <= a.seq:
                    chosen.append(f); n += len(ids)
                if n > a.seq * 0.8 or len(chosen) > 8:
                    break
            if not chosen:
                continue
            chosen.sort(key=lambda f: f['path'])
            ids = encode_sample(tok, chosen, [], S)
            if len(ids) <= a.seq:
                rows.append(ids); want -= 1
    rnd.shuffle(rows)
    n_samples = len(rows)
    if a.pack:
        # first-fit packing of whole samples (each starts with <|endoftext|>) into rows of --seq
        bins, free = [], []
        for ids in rows:
            for j in range(max(0, len(bins) - 64), len(bins)):
                if free[j] >= len(ids):
                    bins[j] += ids; free[j] -= len(ids); break
            else:
                bins.append(list(ids)); free.append(a.seq - len(ids))
        rows = bins
    arr = np.full((len(rows), a.seq), S['<|pad|>'], dtype=np.uint16)
    for i, ids in enumerate(rows):
        arr[i, :len(ids)] = ids
        real += len(ids)
    os.makedirs(os.path.dirname(a.out) or '.', exist_ok=True)
    np.save(a.out + '.npy', arr)
    st = {'samples': n_samples, 'rows': len(rows), 'seq': a.seq, 'real_tokens': real, 'fill': real / max(1, arr.size),
          'questions': nq, 'dropped_too_long': dropped, 'thinned': thinned, 'distracted': distracted}
    json.dump(st, open(a.out + '.json', 'w'))
    print(st)


if __name__ == '__main__':
    main()
