#!/usr/bin/env python3
"""Counterfactual renaming of a Python repository sample (issue 11).

A question generator that reuses real packages under their real names lets a model memorise
"name -> path" and "name -> value" instead of reading its context. Every training sample is
therefore renamed afresh: the identifiers the sample defines, its path components and the
literal values of its constants get new values, consistently across files (imports are NAME
tokens, so they follow). New names are real identifiers of *other* packages, in the same style,
so the renamed code still reads like real code. The question generator then runs on the renamed
text, so every answer is true of what the model sees.

Knowledge comes from Python's own `ast` (what is defined, where the constants are) and
`tokenize` (where each name occurs); no blind text replacement.
"""
import ast, builtins, io, keyword, posixpath, random, re, tokenize

KEEP = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins)) | {'self', 'cls', '_'}
KEEP_STEMS = {'__init__', '__main__'}

STYLE_RES = [
    ('upper', re.compile(r'^[A-Z][A-Z0-9_]*[A-Z0-9]$')),
    ('pascal', re.compile(r'^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$')),
    ('camel', re.compile(r'^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$')),
    ('snake', re.compile(r'^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$')),
]


def style_of(name):
    """(prefix underscores, style) or None for names we leave alone (dunders, odd shapes)."""
    if name.startswith('__') and name.endswith('__'):
        return None
    core = name.lstrip('_')
    if not core:
        return None
    for st, rx in STYLE_RES:
        if rx.match(core):
            return name[:len(name) - len(core)], st
    return None


class NamePool:
    """Real identifiers and path components, by style, from the packages of the training split."""

    def __init__(self):
        self.by_style = {'upper': set(), 'pascal': set(), 'camel': set(), 'snake': set()}
        self.paths = set()

    def add_source(self, text):
        for m in re.finditer(r'[A-Za-z_][A-Za-z0-9_]{2,24}', text):
            n = m.group(0)
            s = style_of(n)
            if s and not s[0] and n not in KEEP:
                self.by_style[s[1]].add(n)

    def add_path(self, path):
        for comp in path.split('/'):
            stem = comp.split('.', 1)[0]
            if 2 <= len(stem) <= 20 and re.match(r'^[a-z][a-z0-9_]*$', stem) and stem not in KEEP_STEMS:
                self.paths.add(stem)

    def freeze(self):
        self.lists = {k: sorted(v) for k, v in self.by_style.items()}
        self.path_list = sorted(self.paths | self.by_style['snake'])
        return self


def defined_names(tree):
    """Names the module defines: functions, classes, parameters, assigned names, loop/with targets."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.arg):
            out.add(n.arg)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
    return out


ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift,
              ast.BitAnd, ast.BitOr, ast.BitXor)


def constant_arithmetic(node):
    """`1 << 16`, `60 * 60 * 24`, `MAX_RADIUS * 4`: arithmetic over numbers and names. The answer is the whole
    expression as written, so the model learns to copy a value to its end, not only its first token."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.Invert)) and constant_arithmetic(node.operand)
    return isinstance(node, ast.BinOp) and isinstance(node.op, ARITHMETIC) \
        and constant_arithmetic(node.left) and constant_arithmetic(node.right)


def fresh_literal(node, src, rnd):
    """A new number of the same shape, or None to keep this literal (strings are drawn from the name pool by the caller)."""
    text = ast.get_source_segment(src, node)
    if text is None:
        return None
    neg = ''
    if isinstance(node, ast.UnaryOp):
        neg, node, text = '-', node.operand, text[1:].lstrip()
    v = node.value
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        if text.lower().startswith('0x'):
            return neg + hex(rnd.randrange(1, 16 ** max(1, len(text) - 2)))
        if not text.isdigit():
            return None
        d = len(text)
        n = rnd.randrange(10 ** (d - 1) if d > 1 else 0, 10 ** d)
        return neg + str(n)
    if isinstance(v, float):
        m = re.match(r'^(\d+)\.(\d+)$', text)
        if not m:
            return None
        a = rnd.randrange(0, 10 ** len(m.group(1)))
        return neg + f'{a}.{rnd.randrange(0, 10 ** len(m.group(2))):0{len(m.group(2))}d}'
    return None


def _splice(src, edits):
    """edits: (line, col, end_line, end_col, new) with 1-based lines, applied right to left."""
    lines = src.splitlines(keepends=True)
    offs = [0]
    for l in lines:
        offs.append(offs[-1] + len(l))
    flat = sorted(((offs[a - 1] + b, offs[c - 1] + d, new) for a, b, c, d, new in edits), reverse=True)
    out, last = src, None
    for s, e, new in flat:
        if last is not None and e > last:
            continue  # overlapping edit: keep the later one
        out = out[:s] + new + out[e:]
        last = s
    return out


class Renamer:
    def __init__(self, pool, rnd, const_share=0.9):
        self.pool, self.rnd, self.const_share = pool, rnd, const_share

    def _draw(self, style, taken, paths=False):
        lst = self.pool.path_list if paths else self.pool.lists[style]
        for _ in range(200):
            n = self.rnd.choice(lst)
            if n not in taken:
                taken.add(n)
                return n
        raise RuntimeError('name pool exhausted')

    def rename(self, files):
        """files: [{path, text}] -> (renamed files, mapping old -> new). Files that do not parse are
        renamed by the same token mapping (their facts were never extracted, so nothing is promised)."""
        trees = {}
        for f in files:
            try:
                trees[f['path']] = ast.parse(f['text'])
            except (SyntaxError, ValueError):
                pass
        taken = set()
        for f in files:
            taken |= set(re.findall(r'[A-Za-z_][A-Za-z0-9_]*', f['text']))
            taken |= set(re.split(r'[/.]', f['path']))
        mapping = {}
        # path components first, so a module name and an identifier of the same spelling share one new name
        for f in files:
            parts = f['path'].split('/')
            for i, comp in enumerate(parts):
                stem = comp.rsplit('.', 1)[0] if i == len(parts) - 1 else comp
                if stem in KEEP_STEMS or stem in mapping or stem in KEEP or not re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', stem):
                    continue
                mapping[stem] = self._draw('snake', taken, paths=True)
        for t in trees.values():
            for n in sorted(defined_names(t)):
                if n in mapping or n in KEEP:
                    continue
                s = style_of(n)
                if s:
                    mapping[n] = s[0] + self._draw(s[1], taken)
        out = []
        for f in files:
            src = f['text']
            t = trees.get(f['path'])
            if t is not None:
                src = self._new_constants(src, t, taken)
            out.append({'path': self._path(f['path'], mapping), 'text': self._tokens(src, mapping)})
        return out, mapping

    def _new_constants(self, src, tree, taken):
        edits = []
        for st in tree.body:
            if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)):
                continue
            v = st.value
            if self.rnd.random() > self.const_share:
                continue
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                text = ast.get_source_segment(src, v)
                if not text or text[0] not in '\'"' or text.startswith(text[0] * 3) or '\n' in text or '\\' in text or len(text) > 40:
                    continue
                words = [self._draw('snake', taken) for _ in range(1 + self.rnd.randrange(2))]
                sep = self.rnd.choice(['_', '-', ' ', '.'])
                new = text[0] + sep.join(words)[:30] + text[0]
            elif isinstance(v, (ast.Constant, ast.UnaryOp)):
                if isinstance(v, ast.UnaryOp) and not (isinstance(v.op, ast.USub) and isinstance(v.operand, ast.Constant)):
                    continue
                new = fresh_literal(v, src, self.rnd)
            elif isinstance(v, ast.BinOp) and constant_arithmetic(v):
                # an arithmetic value (`1 << 16`) gets fresh numbers in place; its names are renamed with the others
                for n in ast.walk(v):
                    if isinstance(n, ast.Constant):
                        new = fresh_literal(n, src, self.rnd)
                        if new is not None:
                            edits.append((n.lineno, n.col_offset, n.end_lineno, n.end_col_offset, new))
                continue
            else:
                continue
            if new is not None:
                edits.append((v.lineno, v.col_offset, v.end_lineno, v.end_col_offset, new))
        return _splice(src, edits) if edits else src

    @staticmethod
    def _path(path, mapping):
        parts = path.split('/')
        out = []
        for i, comp in enumerate(parts):
            if i == len(parts) - 1 and '.' in comp:
                stem, ext = comp.rsplit('.', 1)
                out.append(mapping.get(stem, stem) + '.' + ext)
            else:
                out.append(mapping.get(comp, comp))
        return '/'.join(out)

    @staticmethod
    def _tokens(src, mapping):
        edits = []
        try:
            for tk in tokenize.generate_tokens(io.StringIO(src).readline):
                if tk.type == tokenize.NAME and tk.string in mapping:
                    edits.append((tk.start[0], tk.start[1], tk.end[0], tk.end[1], mapping[tk.string]))
                elif tk.type == tokenize.STRING and tk.start[0] == tk.end[0]:
                    m = re.match(r'^([rbuRBU]?)([\'"])([A-Za-z_][A-Za-z0-9_]*)\2$', tk.string)
                    if m and m.group(3) in mapping:  # __all__ entries, getattr names
                        edits.append((tk.start[0], tk.start[1], tk.end[0], tk.end[1], m.group(1) + m.group(2) + mapping[m.group(3)] + m.group(2)))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            # unterminated construct (a prefix cut): rename what tokenized before it
            pass
        return _splice(src, edits) if edits else src


def build_pool(corpus_files):
    pool = NamePool()
    for f in corpus_files:
        pool.add_source(f['text'])
        pool.add_path(f['path'])
    return pool.freeze()
