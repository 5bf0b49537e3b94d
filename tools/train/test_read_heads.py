#!/usr/bin/env python3
"""Checks read_heads.read_targets on a hand-built packed row: the file head's targets are the row's own header path,
and the answer head points the first answer token at the defining file's header and the rest along the copy."""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_heads import read_targets, FILE, QUESTION, ANSWER, END

# toy vocabulary: 10 = newline, 11 = comma; path tokens 20.. ; code tokens 40..
NL, COMMA = 10, 11
newline = np.zeros(128, bool); newline[NL] = True
comma = np.zeros(128, bool); comma[COMMA] = True
row = [0,
       FILE, 20, 21, NL, 40, 41, 42,          # file a: path 20 21 (positions 2-3), body 4-7
       FILE, 22, 21, NL, 43, 44,              # file b: path 22 21 (positions 9-10), body 11-13
       QUESTION, 44, 45, NL,                  # "where is 44 defined?"
       ANSWER, 22, 21, END,                   # answer: file b's path
       QUESTION, 46, NL, ANSWER, 30, 31, END, # an answer that is nowhere in the context: no target
       0, FILE, 20, NL, 47,                   # the next packed sample: its own header
       QUESTION, 47, NL, ANSWER, 20, COMMA, 99, END]
x = np.array(row)
file_t, ans_t, _ = read_targets(x, newline, comma)
files = dict(file_t)
assert files[5] == [2, 3] and files[7] == [2, 3], files
assert files[12] == [9, 10] and files[13] == [9, 10], files
assert 15 not in files and 19 not in files, 'questions and answers are not file bodies'
s2 = row.index(FILE, 30)
assert files[s2 + 3] == [s2 + 1], 'a new sample has its own header'
answers = dict(ans_t)
p = row.index(ANSWER)
assert answers[p] == [9] and answers[p + 1] == [10], answers  # header of file b, then the copy continues
p2 = row.index(ANSWER, p + 1)
assert p2 not in answers, 'no target when the answer is not in the context'
p3 = row.index(ANSWER, s2)
assert answers[p3] == [s2 + 1], 'only the first item (up to a comma) is located, and only in its own sample'
assert p3 + 1 not in answers

# With token texts: the answer head narrows to the definition site (`MAX = 12`, not the other ` 12`), and the name
# head points the answer at the question's name and the definition's value at the defined name, though the name is
# split differently after a space (` M`+`AX`) than after a backtick (`MA`+`X`).
texts = [''] * 128
for tid, text in {NL: '\n', 50: 'const', 51: ' M', 52: 'AX', 53: ' =', 54: ' 12', 55: ';', 56: ' N', 57: 'MA', 58: 'X',
                  59: '`', 60: 'Value of', 61: '?', 62: ' return', 63: 'Where is', 64: ' defined', 20: ' a', 21: '.js'}.items():
    texts[tid] = text
row2 = [0, FILE, 20, 21, NL,
        50, 56, 53, 54, 55, NL,               # const N = 12;  (another name with the same value)
        50, 51, 52, 53, 54, 55, NL,           # const MAX = 12;
        62, 54, NL,                           # return 12
        QUESTION, 60, 59, 57, 58, 59, 61, NL, ANSWER, 54, END,
        QUESTION, 63, 59, 57, 58, 59, 64, NL, ANSWER, 20, 21, END]
x2 = np.array(row2)
_, ans_plain, name_none = read_targets(x2, newline, comma)
assert name_none == [], 'no name targets without token texts'
a1 = row2.index(ANSWER)
assert a1 not in dict(ans_plain), 'without texts, a one-token value found three times has no target'
_, ans2, name2 = read_targets(x2, newline, comma, texts)
answers2 = dict(ans2)
assert answers2[a1] == [15], answers2                     # only `MAX = 12`'s value
q_name = [row2.index(57), row2.index(58)]
names = {}
for q, keys in name2:
    names.setdefault(q, []).append(keys)
assert names[a1] == [q_name], names                       # the answer -> `MA`+`X` in the question
assert names[15] == [[12, 13]], names                     # the value -> ` M`+`AX` before it
a2 = row2.index(ANSWER, a1 + 1)
assert answers2[a2] == [2] and names[a2] == [[row2.index(57, a1), row2.index(58, a1)]], (answers2, names)  # a path: query side only
print('read_heads ok')
