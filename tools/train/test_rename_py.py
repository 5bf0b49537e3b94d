#!/usr/bin/env python3
"""Checks of the Python counterfactual renaming (run by test/train-rename.test.ts, or directly).

On the fixture repository test/fixtures/rename/py, for several seeds: every renamed file parses; the
generator's questions on the renamed text are the original questions with names, paths and constant
values mapped (so every answer is true of the renamed repository); no defined name of the original
survives; constant answers get new values. Exit 0 when all hold, else 1 with the reason."""
import ast, glob, os, random, sys
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rename_py import Renamer, build_pool, defined_names
from gen_questions_py import questions

ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, 'test/fixtures/rename/py')


def load():
    files = []
    for p in sorted(glob.glob(os.path.join(FIX, 'shapes/*.py'))):
        files.append({'path': os.path.relpath(p, FIX), 'text': open(p).read()})
    return files


def main():
    files = load()
    pool_src = [{'path': os.path.relpath(p, ROOT), 'text': open(p).read()} for p in sorted(glob.glob(os.path.join(HERE, '*.py')))]
    pool_src.append({'path': 'other_source.py', 'text': open(os.path.join(FIX, 'other_source.py')).read()})
    pool = build_pool(pool_src)
    q0 = questions('fixture', files)
    assert len(q0) >= 8, f'fixture too small: {len(q0)} questions'
    # an arithmetic value is asked as written, whole
    assert ('MAX_AREA', 'MAX_RADIUS * MAX_RADIUS * 4') in {(q['name'], q['answer']) for q in q0 if q['type'] == 'const'}
    for seed in range(5):
        new, mapping = Renamer(pool, random.Random(seed), const_share=1.0).rename(files)
        for f in new:
            ast.parse(f['text'])  # raises on a syntax error
        orig_defs = set()
        for f in files:
            orig_defs |= {n for n in defined_names(ast.parse(f['text'])) if not (n.startswith('__') and n.endswith('__')) and n not in ('self', 'cls')}
        for f in new:
            left = orig_defs & defined_names(ast.parse(f['text']))
            assert not left, f'seed {seed}: {f["path"]} still defines {sorted(left)}'
        q1 = questions('fixture', new)
        assert len(q1) == len(q0), f'seed {seed}: {len(q0)} questions before, {len(q1)} after'

        def mp(path):
            parts = path.split('/')
            out = [mapping.get(c, c) for c in parts[:-1]]
            stem, ext = parts[-1].rsplit('.', 1)
            return '/'.join(out + [mapping.get(stem, stem) + '.' + ext])

        def key(q, rename):
            ans = q['answer']
            if q['type'] in ('where', 'multihop-def'):
                ans = mp(ans) if rename else ans
            elif q['type'] == 'imports':
                ans = ', '.join(sorted(mp(p) if rename and '/' in p else p for p in ans.split(', ')))
            elif q['type'] in ('params', 'multihop-params'):
                ans = ', '.join(('*' * (len(p) - len(p.lstrip('*')))) + mapping.get(p.lstrip('*'), p.lstrip('*')) if rename else p for p in ans.split(', '))
            elif q['type'] in ('const', 'multihop-value'):
                ans = '<value>'
            return (q['type'], ans)
        want = sorted(key(q, True) for q in q0)
        got = sorted(key(q, False) for q in q1)
        assert want == got, f'seed {seed}: answers differ after renaming:\n{want}\n{got}'
        old_vals = {q['answer'] for q in q0 if q['type'] == 'const'}
        new_vals = [q['answer'] for q in q1 if q['type'] == 'const']
        assert new_vals and not (set(new_vals) & old_vals - {'True', 'False', 'None'}), f'seed {seed}: constants kept their values {new_vals}'
        for q in q1:
            if q['type'] == 'const':
                d = q['evidence'][0]
                text = next(f['text'] for f in new if f['path'] == d['path'])
                line = text[d['pos']:].split('\n', 1)[0]
                assert q['answer'] in line and q['name'] in line, f'seed {seed}: {q["answer"]!r} not on the line of {q["name"]}: {line!r}'
    print(f'ok: {len(q0)} questions checked under 5 renamings')


if __name__ == '__main__':
    try:
        main()
    except AssertionError as e:
        print('FAIL:', e)
        sys.exit(1)
