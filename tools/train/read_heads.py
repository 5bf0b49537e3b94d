"""Targets of the read heads (train.py --read-heads): attention supervision of the lookup circuit (issue 11).
numpy only, so the unit test runs without torch (tools/train/test_read_heads.py)."""
import bisect, json, os, re
import numpy as np

PAD = 7
FILE, QUESTION, ANSWER, END, TRACE, FINAL = 1, 2, 3, 4, 5, 6  # <|file|>, <|question|>, <|answer|>, <|end|>, <|trace|>, <|final|>


def token_marks(tok_dir):
    """Per-token flags the read-head targets need: does the token contain a newline / a comma."""
    vocab = json.load(open(os.path.join(tok_dir, 'tokenizer.json')))['model']['vocab']
    n = max(vocab.values()) + 1
    newline, comma = np.zeros(n, bool), np.zeros(n, bool)
    for t, i in vocab.items():
        newline[i], comma[i] = '\u010a' in t, ',' in t
    return newline, comma


def token_texts(tok_dir):
    """Each token's text (byte-level symbols mapped back to bytes, decoded as latin-1 so every byte is one character):
    what the name head's targets are found in (a name is split differently after a space than after a backtick)."""
    from bpe import U2B
    vocab = json.load(open(os.path.join(tok_dir, 'tokenizer.json')))['model']['vocab']
    texts = [''] * (max(vocab.values()) + 1)
    for t, i in vocab.items():
        if not (t.startswith('<|') and t.endswith('|>')):
            texts[i] = bytes(U2B[c] for c in t if c in U2B).decode('latin-1')
    return texts


QUESTION_NAME = re.compile(r'`([A-Za-z_$][\w$.]*)`')


def definition_sites(ctext, name, item):
    """Where `name` is defined with `item` right after it: `name = item`, `name: T = item`, `name(item`,
    `name<T>(item`, `def name(self, item`. Yields (name start, item start) character offsets in ctext."""
    pat = (r'(?<![\w$])' + re.escape(name) + r'\s*(?:<[^<>\n]{0,60}>\s*)?'
           r'(?:\(\s*(?:(?:self|cls)\s*,\s*)?|(?::[^=\n]{0,40})?=\s*)(?=' + re.escape(item) + ')')
    for m in re.finditer(pat, ctext):
        yield m.start(), m.end()


# read_targets returns (file, answer, name): the name head's place in --read-heads
NAME_HEAD = 2


def read_targets(x, newline, comma, texts=None):
    """Targets of the two read heads for one packed row x (numpy, input positions).
    file: each token of a file body -> the path tokens of its own `<|file|>` header (which file am I in).
    answer: each answer position (from `<|answer|>` on) -> where the answer's next token stands in the context, i.e.
    the occurrence of the answer's first item (up to a comma) in the sample's files; the first token's target is the
    retrieval itself (e.g. the header of the file that defines X), the rest continue the copy.
    With texts (token_texts), answers whose first item stands right after a definition of the question's `name`
    (a constant's value, a function's first parameter) point only at those definition sites, not at every occurrence of
    the item; and a third list, name: each answer position -> the question's name tokens, and the definition's item
    -> the name tokens before it in the context. One head then carries the name on both sides of the lookup, so the
    answer head can match a key to a query (the model's answer head attended to every `= value` alike, whatever
    the name asked about).
    Returns (file, answer, name), each a list of (query position, [key positions])."""
    T = len(x)
    file_t, ans_t, name_t = [], [], []
    start, header, ctx_end, qpos, i = 0, None, None, None, 0
    while i < T:
        t = x[i]
        if t == 0 or t == PAD:  # a new packed sample
            start, header, ctx_end = i + 1, None, None
        elif t == FILE and ctx_end is None:
            j = i + 1
            while j < T and not newline[x[j]] and x[j] not in (0, FILE, QUESTION):
                j += 1
            header = (i + 1, j) if j > i + 1 else None
            i = j  # the newline token ends the header; the body starts after it
            continue
        elif t == QUESTION:
            header, qpos = None, i
            if ctx_end is None:
                ctx_end = i
        elif t == ANSWER and ctx_end is not None:
            e = i + 1
            while e < T and x[e] not in (END, 0, QUESTION):
                e += 1
            ans = x[i + 1:e]
            if len(ans) and ans[0] not in (TRACE, FINAL):
                cut = np.nonzero(comma[ans])[0]
                seg = ans[:cut[0]] if len(cut) else ans
                ctx = x[start:ctx_end]
                sites = named_sites(x, start, ctx_end, qpos, i, seg, texts) if texts is not None and qpos is not None else None
                if sites and sites[1]:
                    q_name, defs = sites
                    for k in range(len(seg)):
                        if i + k < T - 1:
                            ans_t.append((i + k, sorted({d[1][k] for d in defs})))
                            name_t.append((i + k, q_name))
                    for d_name, d_item in defs:
                        name_t.append((d_item[0], d_name))
                else:
                    if sites:  # a name but no definition site followed by the item (a path, say): the query side only
                        name_t.append((i, sites[0]))
                    if not (len(seg) and len(ctx) >= len(seg)):
                        i = e
                        continue
                    cand = np.nonzero(ctx == seg[0])[0]
                    occ = [s for s in cand if s + len(seg) <= len(ctx) and np.array_equal(ctx[s:s + len(seg)], seg)]
                    if occ and (len(seg) >= 2 or len(occ) <= 2):
                        for k in range(len(seg)):
                            if i + k < T - 1:
                                ans_t.append((i + k, [start + s + k for s in occ]))
            i = e
            continue
        elif header is not None and ctx_end is None:
            file_t.append((i, list(range(*header))))
        i += 1
    return file_t, ans_t, name_t


def named_sites(x, start, ctx_end, qpos, apos, seg, texts):
    """For the question at qpos (its answer at apos, first item seg): the question's name token positions and, per
    definition site in the context, (its name token positions, the context token of each of seg's tokens); None
    when the question has no backticked name."""
    q_toks = x[qpos + 1:apos]
    q_text = ''.join(texts[t] for t in q_toks)
    m = QUESTION_NAME.search(q_text)
    seg_texts = [texts[t] for t in seg]
    item = ''.join(seg_texts).lstrip()
    if not m:
        return None
    q_off = np.cumsum([0] + [len(texts[t]) for t in q_toks])
    q_name = [qpos + 1 + k for k in range(len(q_toks)) if q_off[k] < m.end(1) and q_off[k + 1] > m.start(1)]
    ctx = x[start:ctx_end]
    c_off = np.cumsum([0] + [len(texts[t]) for t in ctx]).tolist()
    ctext = ''.join(texts[t] for t in ctx)
    tok_at = lambda c: start + bisect.bisect_right(c_off, c) - 1
    lead = len(''.join(seg_texts)) - len(''.join(seg_texts).lstrip())
    defs = []
    for n0, i0 in definition_sites(ctext, m.group(1).split('.')[-1], item) if item else ():
        n1 = n0 + len(m.group(1).split('.')[-1])
        d_name = sorted({tok_at(c) for c in range(n0, n1)})
        before = np.cumsum([0] + [len(s) for s in seg_texts])[:-1]
        d_item = [tok_at(i0 + max(0, int(b) - lead)) for b in before]
        defs.append((d_name, d_item))
    return q_name, defs
