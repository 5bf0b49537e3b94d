#!/usr/bin/env python3
"""Pot-shaped samples (prepare_data.py --thin-share): thinning drops lines but never a header or a line that
holds a question's name or answer, so every answer stays true of the thinned repository."""
import os, random, sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepare_data import protected_strings, thin_files

questions = [
    {'question': 'Where is `parseConfig` defined?', 'answer': 'src/config/load.ts', 'type': 'where'},
    {'question': 'What does constant `RETRY_LIMIT` equal?', 'answer': '17', 'type': 'const'},
]
assert set(protected_strings(questions)) >= {'parseConfig', 'RETRY_LIMIT', 'load.ts', '17'}, protected_strings(questions)
body = '\n'.join([f'const filler{i} = {i * 3 + 100};' for i in range(200)]
                 + ['export function parseConfig(text) {', 'export const RETRY_LIMIT = 17;'])
files = [{'path': 'src/config/load.ts', 'text': body}]
dropped_any = False
for seed in range(20):
    out = thin_files(random.Random(seed), files, questions)
    assert [f['path'] for f in out] == ['src/config/load.ts']
    lines = out[0]['text'].split('\n')
    assert 'export function parseConfig(text) {' in lines and 'export const RETRY_LIMIT = 17;' in lines, seed
    kept_filler = sum(l.startswith('const filler') for l in lines)
    assert 200 * 0.15 < kept_filler < 200 * 0.9, (seed, kept_filler)  # rate drawn from 0.2-0.7
    dropped_any |= kept_filler < 200
    # lines keep their order
    assert lines == [l for l in body.split('\n') if l in set(lines)], seed
assert dropped_any
print('pot_shaped ok')
