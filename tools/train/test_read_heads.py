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
file_t, ans_t = read_targets(x, newline, comma)
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
print('read_heads ok')
