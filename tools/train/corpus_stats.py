#!/usr/bin/env python3
"""Token counts of the corpus by split and language (for the model card)."""
import json, sys, os, collections
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer
tok = Tokenizer(sys.argv[2] if len(sys.argv) > 2 else '.train/tok/tokenizer.json')
c = collections.Counter(); ch = collections.Counter(); pk = collections.defaultdict(set)
for l in open(sys.argv[1] if len(sys.argv) > 1 else '.train/corpus/files.jsonl', encoding='utf-8'):
    r = json.loads(l)
    k = f"{r['split']}/{r['lang']}"
    c[k] += len(tok.encode_ordinary(r['text'])); ch[k] += len(r['text']); pk[k].add(r['pkg'])
out = {k: {'packages': len(pk[k]), 'chars': ch[k], 'tokens': c[k], 'chars_per_token': round(ch[k] / c[k], 2)} for k in sorted(c)}
print(json.dumps(out, indent=1))
