#!/usr/bin/env python3
"""PyTorch-side exact-match evaluation on data/eval/*.jsonl (NOT the TypeScript engine eval).

Greedy EM.  For bare questions (prompt ends with `<|answer|>`, `<|trace|>` banned) a
greedy decode reproduces ` answer<|end|>` iff at every gold position the argmax given
the gold prefix is the gold token, so EM is computed with one teacher-forced forward
pass.  Trace-form questions (prompt ends with `<|answer|><|trace|>`) are decoded
greedily (no KV cache; slow) and the text after `<|final|>` is compared.

  /usr/bin/python3 tools/train/eval_em.py --model models/repopot-tiny-code --eval data/eval/lookup-1k.jsonl --per-type 40
"""
import argparse, collections, json, os, random, sys
import torch
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Llama
from bpe import Tokenizer
from export import read_safetensors, prompt_ids
from position_gaps import gapped_positions


def load(model_dir):
    cfg = json.load(open(os.path.join(model_dir, 'config.json')))
    m = Llama(cfg)
    m.load_state_dict({k: v.float() for k, v in read_safetensors(os.path.join(model_dir, 'model.safetensors')).items()})
    m.eval()
    return m, Tokenizer(os.path.join(model_dir, 'tokenizer.json'))


@torch.no_grad()
def em_bare(m, tok, rec, gaps=None):
    """gaps: (newline flags, max positions, rng) to read the prompt at gapped positions (position_gaps.py), as a pot
    that kept the lines at their stream positions presents them."""
    S = tok.special
    p = prompt_ids(tok, rec)
    tgt = tok.encode_ordinary(' ' + rec['answer']) + [S['<|end|>']]
    x = torch.tensor([p + tgt[:-1]])
    positions = None
    if gaps:
        positions = torch.from_numpy(gapped_positions(x[0].numpy(), gaps[0], gaps[1], gaps[2]))[None]
    logits = m(x, positions=positions)[0, len(p) - 1:]
    logits[0, S['<|trace|>']] = -1e9
    pred = logits.argmax(-1).tolist()
    nll = torch.nn.functional.cross_entropy(logits, torch.tensor(tgt)).item()
    return pred == tgt, nll


@torch.no_grad()
def em_trace(m, tok, rec, max_new=96):
    S = tok.special
    p = prompt_ids(tok, rec) + [S['<|trace|>']]
    out = m.generate(p, max_new=max_new, stop=(S['<|end|>'], S['<|endoftext|>']))[len(p):]
    text = tok.decode([i for i in out if i not in (S['<|end|>'], S['<|endoftext|>'])])
    ans = text.split('<|final|>', 1)[1] if '<|final|>' in text else ''
    return ans.strip() == rec['answer'].strip(), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='models/repopot-tiny-code')
    ap.add_argument('--eval', nargs='+', default=['data/eval/lookup-1k.jsonl'])
    ap.add_argument('--per-type', type=int, default=40)
    ap.add_argument('--max-trace', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m, tok = load(a.model)
    res = {}
    for path in a.eval:
        recs = [json.loads(l) for l in open(path) if l.strip()]
        random.Random(0).shuffle(recs)
        by = collections.defaultdict(list)
        for r in recs:
            key = r['type'] + ('/' + r['form'] if r.get('form') else '')
            lim = a.max_trace if r.get('form') == 'trace' else a.per_type
            if len(by[key]) < lim:
                by[key].append(r)
        table = {}
        for key in sorted(by):
            hits, nlls = 0, []
            for r in by[key]:
                ok, nll = em_trace(m, tok, r) if r.get('form') == 'trace' else em_bare(m, tok, r)
                hits += ok
                if nll is not None:
                    nlls.append(nll)
            table[key] = {'n': len(by[key]), 'em': round(hits / len(by[key]), 3),
                          'answer_nll': round(sum(nlls) / len(nlls), 3) if nlls else None}
            print(os.path.basename(path), key, table[key], flush=True)
        res[os.path.basename(path)] = table
    if a.out:
        json.dump(res, open(a.out, 'w'), indent=1)


if __name__ == '__main__':
    main()
