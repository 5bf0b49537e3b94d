"""Synthetic recall samples in code shape (issue 11, deliver 3: "identifier -> value and identifier -> path recall in
code-shaped text"): small repositories whose definitions all look alike, so only the asked name tells them apart.

Why: the answer head of the committed model attends to the same `= value` positions whatever name is asked (session 15,
.train/dbg/attnprobe.py): real files hold few definitions of one kind, so "the first constant" or "the nearest value" is
often right and reading the name never paid. Here every file holds many definitions of the same shape, a third of the
names come in near-duplicate groups (MAX_DEPTH / MIN_DEPTH, ucs4le / ucs4be, CR / CRLF), and values, parameter lists and
paths are drawn at random, so the only way to lower the answer loss is to match the asked name against the defined one.

Names, values, parameter names and paths are drawn from real question files (--pool, the generators' .jsonl output), so
the text still reads like code; wordings come from question_templates.json through gen_questions_py.phrase.
Output: the generators' row format ({pkg, files, questions, renamed}), for prepare_data.py.
  python3 tools/train/recall_data.py --pool .train/qa/cf15-short-js.jsonl ... --samples 3000 --seed 1 --out OUT.jsonl
"""
import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_questions_py import C, phrase  # noqa: E402

IDENT = re.compile(r'^[A-Za-z_$][\w$]{1,28}$')
WORDS = re.compile(r'[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+')


class Pools:
    """Real identifiers, literal values, parameter names and path parts, read from question files."""

    def __init__(self, files):
        names, values, params, dirs, stems = set(), set(), set(), set(), set()
        for f in files:
            for line in open(f):
                row = json.loads(line)
                for q in row['questions']:
                    for n in re.findall(r'`([^`]+)`', q['question']):
                        if IDENT.match(n) and '$' not in n:
                            names.add(n)
                    a = q['answer']
                    if q['type'] == 'const' and 0 < len(a) <= 32 and '\n' not in a:
                        values.add(a)
                    elif q['type'] == 'params' and a != 'none':
                        params.update(p for p in a.split(', ') if IDENT.match(p))
                    elif q['type'] == 'where':
                        parts = a.split('/')
                        dirs.update(p for p in parts[:-1] if IDENT.match(p.replace('-', '_')))
                        stem = parts[-1].rsplit('.', 1)[0]
                        if IDENT.match(stem.replace('-', '_')) and stem not in ('index', '__init__'):
                            stems.add(stem)
        if not names or not values:
            sys.exit(f'recall_data: the pool files {files} hold no usable names or constant values')
        self.names, self.values, self.params = sorted(names), sorted(values), sorted(params) or sorted(names)
        self.dirs, self.stems = sorted(dirs) or ['src', 'lib'], sorted(stems) or sorted(names)
        self.words = sorted({w for n in self.names for w in WORDS.findall(n) if len(w) > 1})


def sibling(name, pools, rnd):
    """A near-duplicate of name: one word swapped, a suffix added, or the last characters changed."""
    words = WORDS.findall(name)
    r = rnd.random()
    if len(words) > 1 and r < 0.45:
        i = rnd.randrange(len(words))
        new = rnd.choice(pools.words)
        new = new.upper() if words[i].isupper() else new.capitalize() if words[i][0].isupper() else new.lower()
        start = name.find(words[i])
        return name[:start] + new + name[start + len(words[i]):]
    if r < 0.7:
        sep = '_' if '_' in name or name.isupper() else ''
        extra = rnd.choice(pools.words)
        extra = extra.upper() if name.isupper() else extra.capitalize() if sep == '' else extra.lower()
        return name + sep + extra
    k = rnd.randint(1, min(2, len(name) - 1))
    tail = ''.join(rnd.choice('0123456789' if name[-1].isdigit() else
                              ('ABCDEFGHIJKLMNOPQRSTUVWXYZ' if name[-1].isupper() else 'abcdefghijklmnopqrstuvwxyz'))
                   for _ in range(k))
    return name[:-k] + tail


def names_for(n, pools, rnd, style=None):
    """n distinct names, about a third of them in near-duplicate groups."""
    out = []
    while len(out) < n:
        base = rnd.choice(pools.names)
        if style == 'py' and not re.match(r'^[A-Za-z_]\w*$', base):
            continue
        group = [base]
        if rnd.random() < 0.35:
            group += [sibling(base, pools, rnd) for _ in range(rnd.randint(1, 2))]
        for g in group:
            if g not in out and IDENT.match(g) and len(out) < n and g not in PY_KEYWORDS | JS_KEYWORDS:
                out.append(g)
    rnd.shuffle(out)
    return out


PY_KEYWORDS = {'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def',
               'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda',
               'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield', 'self'}
JS_KEYWORDS = {'break', 'case', 'catch', 'class', 'const', 'continue', 'default', 'delete', 'do', 'else', 'export',
               'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'let', 'new', 'null',
               'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with',
               'yield', 'await', 'arguments', 'eval', 'undefined'}


def value_for(lang, pools, rnd):
    v = rnd.choice(pools.values)
    if lang == 'py':  # JS-only literals read as Python strings
        if v.startswith('"') or v.startswith('`') or v in ('true', 'false', 'null', 'undefined') or v.endswith('n'):
            v = repr(v.strip('"`'))
    elif v.startswith("'") and rnd.random() < 0.5:
        v = json.dumps(v[1:-1]) if "\\" not in v and '"' not in v else v
    return v


def const_file(lang, names, pools, rnd):
    lines, facts = [], []
    if rnd.random() < 0.5:
        lines.append('# Settings.' if lang == 'py' else '// Settings.')
    decl = rnd.choice(['export const', 'const']) if lang == 'js' else ''
    for n in names:
        v = value_for(lang, pools, rnd)
        lines.append(f'{n} = {v}' if lang == 'py' else f'{decl} {n} = {v};')
        facts.append(dict(name=n, kind='constant', type='const', answer=v))
    return '\n'.join(lines) + '\n', facts


def func_file(lang, names, pools, rnd):
    chunks, facts = [], []
    for n in names:
        ps = []
        while len(ps) < rnd.choice([0, 1, 1, 2, 2, 3, 4]):
            p = rnd.choice(pools.params)
            if p not in ps and p not in PY_KEYWORDS | JS_KEYWORDS and (lang == 'js' or '$' not in p):
                ps.append(p)
        body = ps[0] if ps else ('None' if lang == 'py' else 'null')
        if lang == 'py':
            chunks.append(f'def {n}({", ".join(ps)}):\n    return {body}\n')
        else:
            chunks.append(f'{rnd.choice(["export function", "function"])} {n}({", ".join(ps)}) {{\n  return {body};\n}}\n')
        facts.append(dict(name=n, kind='function', type='params', answer=', '.join(ps) or 'none'))
    return '\n'.join(chunks), facts


TS_TYPES = ['string', 'number', 'boolean', 'unknown', 'any', 'string[]', 'Buffer', 'Record<string, unknown>']


def declaration_file(functions, type_names, pools, rnd):
    """A `.d.ts` beside a `.js` of the same stem: the `.js`'s functions declared again, plus types only it defines.
    As in the generators, a function is asked where its `.js` defines it, a type where the `.d.ts` does, so the name
    (present in both files or in one) decides the answer, not the extension nor "the file that mentions it"."""
    chunks, facts = [], []
    for n in type_names:
        if rnd.random() < 0.5:
            fields = ''.join(f'  {rnd.choice(pools.params)}?: {rnd.choice(TS_TYPES)};\n' for _ in range(rnd.randint(1, 3)))
            chunks.append(f'export interface {n} {{\n{fields}}}\n')
        else:
            chunks.append(f'export type {n} = {rnd.choice(TS_TYPES)} | {rnd.choice(TS_TYPES)};\n')
        facts.append(dict(name=n, kind='type', type='where-only'))
    for f in functions:
        ps = [] if f['answer'] == 'none' else f['answer'].split(', ')
        chunks.append(f'export declare function {f["name"]}({", ".join(p + ": " + rnd.choice(TS_TYPES) for p in ps)}): '
                      f'{rnd.choice(TS_TYPES)};\n')
    rnd.shuffle(chunks)
    return ''.join(chunks), facts


def sample(lang, pools, rnd, budget_chars, dts_share=0.0):
    """One synthetic repository: one to four files of constants and functions, with questions on up to 10 names; for
    JS, with probability dts_share, the first file of functions gets a `.d.ts` of the same stem."""
    pair = lang == 'js' and rnd.random() < dts_share
    ext = '.py' if lang == 'py' else '.js' if pair else rnd.choice(['.js', '.ts', '.mjs'])
    d = '/'.join(rnd.sample(pools.dirs, rnd.randint(0, 2)))
    nfiles = rnd.choice([1, 1, 2, 3, 4])
    stems = names_for(nfiles, type('P', (), dict(names=pools.stems, words=pools.words))(), rnd)
    names = names_for(rnd.randint(6, 16), pools, rnd, lang)
    files, facts = [], []
    per = max(1, len(names) // nfiles)
    for i, stem in enumerate(stems):
        chunk = names[i * per:(i + 1) * per] if i < nfiles - 1 else names[i * per:]
        if not chunk:
            continue
        path = (d + '/' if d else '') + stem + ext
        kind = rnd.random()
        declaration = None
        if pair and i == 0:
            text, fs = func_file(lang, chunk, pools, rnd)
            extra = [n for n in names_for(rnd.randint(1, 4), pools, rnd) if n not in names]
            declaration = declaration_file(fs, extra, pools, rnd)
        elif kind < 0.45:
            text, fs = const_file(lang, chunk, pools, rnd)
        elif kind < 0.8:
            text, fs = func_file(lang, chunk, pools, rnd)
        else:
            half = max(1, len(chunk) // 2)
            t1, f1 = const_file(lang, chunk[:half], pools, rnd)
            t2, f2 = func_file(lang, chunk[half:], pools, rnd)
            text, fs = t1 + '\n' + t2, f1 + f2
        if len(text) > budget_chars:
            break
        files.append(dict(path=path, text=text))
        for f in fs:
            facts.append(dict(f, path=path))
        if declaration:
            dts_path = path[:-len(ext)] + '.d.ts'
            files.insert(rnd.randint(0, len(files)), dict(path=dts_path, text=declaration[0]))
            facts += [dict(f, path=dts_path) for f in declaration[1]]
    return files, facts


def questions(files, facts, rnd, max_questions, paraphrase_share):
    qs = []
    for f in rnd.sample(facts, min(max_questions, len(facts))):
        if f['type'] == 'where-only' or (len(files) > 1 and rnd.random() < 0.4):
            q = dict(name=f['name'], kind=f['kind'], type='where', answer=f['path'])
            base = f"Where is {C(f['name'])} defined?"
        elif f['type'] == 'const':
            q = dict(name=f['name'], kind='constant', type='const', answer=f['answer'])
            base = f"What does constant {C(f['name'])} equal?"
        else:
            q = dict(name=f['name'], kind='function', type='params', answer=f['answer'])
            base = f"What parameters does function {C(f['name'])} take?"
        q['question'] = base
        q['question'] = phrase(q, rnd, 'train' if rnd.random() < paraphrase_share else 'canonical')
        qs.append(dict(question=q['question'], answer=q['answer'], type=q['type']))
    return qs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--pool', nargs='+', required=True, help="question files (.jsonl) whose names, values and paths to draw")
    ap.add_argument('--samples', type=int, default=2000)
    ap.add_argument('--py-share', type=float, default=0.4)
    ap.add_argument('--max-questions', type=int, default=10)
    ap.add_argument('--paraphrase-share', type=float, default=0.5)
    ap.add_argument('--budget-chars', type=int, default=1600, help='stop adding files past this many characters a file')
    ap.add_argument('--dts-share', type=float, default=0.0,
                    help='JS samples whose first file of functions has a .d.ts of the same stem with types of its own')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    for f in a.pool:
        if not Path(f).is_file():
            sys.exit(f'recall_data: pool file {f} does not exist')
    rnd = random.Random(a.seed)
    pools = Pools(a.pool)
    n = nq = 0
    tmp = Path(a.out + '.tmp')
    with open(tmp, 'w') as out:
        while n < a.samples:
            lang = 'py' if rnd.random() < a.py_share else 'js'
            files, facts = sample(lang, pools, rnd, a.budget_chars, a.dts_share)
            if not facts:
                continue
            qs = questions(files, facts, rnd, a.max_questions, a.paraphrase_share)
            out.write(json.dumps(dict(pkg='synthetic-recall', files=files, questions=qs, renamed=True)) + '\n')
            n += 1
            nq += len(qs)
    tmp.replace(a.out)
    print(f'recall_data: {n} samples, {nq} questions -> {a.out}')


if __name__ == '__main__':
    main()
