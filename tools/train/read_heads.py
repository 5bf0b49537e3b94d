"""Targets of the read heads (train.py --read-heads): attention supervision of the lookup circuit (issue 11).
numpy only, so the unit test runs without torch (tools/train/test_read_heads.py)."""
import json, os
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


def read_targets(x, newline, comma):
    """Targets of the two read heads for one packed row x (numpy, input positions).
    file: each token of a file body -> the path tokens of its own `<|file|>` header (which file am I in).
    answer: each answer position (from `<|answer|>` on) -> where the answer's next token stands in the context, i.e.
    the occurrence of the answer's first item (up to a comma) in the sample's files; the first token's target is the
    retrieval itself (e.g. the header of the file that defines X), the rest continue the copy.
    Returns two lists of (query position, [key positions])."""
    T = len(x)
    file_t, ans_t = [], []
    start, header, ctx_end, i = 0, None, None, 0
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
            header = None
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
                if len(seg) and len(ctx) >= len(seg):
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
    return file_t, ans_t
