#!/usr/bin/env python3
"""Checks recall_data.py: every answer is true of the generated files, read back with the parsers (Python `ast`; for
JS a declaration pattern), near-duplicate names (sharing all but a word or a tail) really occur, and a `.d.ts` beside a
`.js` declares exactly its functions, its own types being asked where the `.d.ts` defines them."""
import ast, json, os, re, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
tmp = tempfile.mkdtemp()
pool = os.path.join(tmp, 'pool.jsonl')
with open(pool, 'w') as f:
    names = ['maxDepth', 'MIN_DEPTH', 'parseHeader', 'ReadBuffer', 'open_file', 'ucs4le', 'CRLF', 'retryCount',
             'tokenize_line', 'HttpClient', 'DEFAULT_PORT', 'isWindows']
    qs = [dict(question=f'Where is `{n}` defined?', answer=f'src/util/{n}.js', type='where') for n in names]
    qs += [dict(question='What does constant `A` equal?', answer=v, type='const') for v in ['12', "'utf8'", '"x-y"', '0x1F', 'true']]
    qs += [dict(question='What parameters does function `f` take?', answer='target, options', type='params')]
    f.write(json.dumps(dict(pkg='pool', files=[], questions=qs)) + '\n')
out = os.path.join(tmp, 'out.jsonl')
r = subprocess.run([sys.executable, os.path.join(here, 'recall_data.py'), '--pool', pool, '--samples', '150',
                    '--seed', '5', '--dts-share', '0.5', '--out', out], capture_output=True, text=True)
assert r.returncode == 0, r.stdout + r.stderr


def facts(path, text):
    """name -> (kind, answer) read back from a generated file."""
    got = {}
    if path.endswith('.py'):
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign):
                got[node.targets[0].id] = ('const', ast.get_source_segment(text, node.value))
            elif isinstance(node, ast.FunctionDef):
                got[node.name] = ('params', ', '.join(a.arg for a in node.args.args) or 'none')
    elif path.endswith('.d.ts'):  # types only it defines; its `declare function`s are the .js's functions again
        for m in re.finditer(r'^export (?:interface ([\w$]+) \{|type ([\w$]+) = )', text, re.M):
            got[m.group(1) or m.group(2)] = ('where-only', None)
        declared = re.findall(r'^export declare function ([\w$]+)\(', text, re.M)
        assert declared, f'{path} declares no function'
        pairs.append((path, declared))
    else:
        for m in re.finditer(r'^(?:export )?const ([\w$]+) = (.*);$', text, re.M):
            got[m.group(1)] = ('const', m.group(2))
        for m in re.finditer(r'^(?:export )?function ([\w$]+)\(([^)]*)\) \{$', text, re.M):
            got[m.group(1)] = ('params', m.group(2) or 'none')
    return got


checked = near = dts_where = 0
for line in open(out):
    row = json.loads(line)
    defs, pairs = {}, []
    for fl in row['files']:
        for n, v in facts(fl['path'], fl['text']).items():
            assert n not in defs, f'{n} defined twice'
            defs[n] = v + (fl['path'],)
    for q in row['questions']:
        asked = [n for n in defs if re.search(r'(^|[\s`])' + re.escape(n) + r'($|[\s`?.,])', q['question'])]
        assert len(asked) == 1, (q, asked)
        kind, answer, path = defs[asked[0]]
        expect = path if q['type'] == 'where' else answer
        assert q['type'] in ('where', kind), (q, kind)
        assert q['answer'] == expect, (q, expect)
        checked += 1
        dts_where += expect.endswith('.d.ts')
    for path, declared in pairs:  # a .d.ts declares exactly the functions its .js of the same stem defines
        js = path[:-len('.d.ts')] + '.js'
        assert sorted(declared) == sorted(n for n, v in defs.items() if v[2] == js and v[0] == 'params'), (path, declared)
    names = sorted(defs)
    near += any(a != b and (a.startswith(b) or b.startswith(a) or a[:-2] == b[:-2]) for a in names for b in names)
assert checked > 1000, checked
assert dts_where > 25, f'only {dts_where} questions answer a .d.ts'
assert near > 20, f'only {near} of 150 samples hold near-duplicate names'
print('recall_data ok')
