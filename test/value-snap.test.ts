// Value snapping (server/src/engine/valueSnap.ts): the answer to "what does X equal?" is held, from its first token,
// to the values assigned in the files that name X, and ends only on a whole value; the model still picks which one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { valueSnap } from '../server/src/engine/valueSnap';
import { answerSnap, snapChoices } from '../server/src/distill/distiller';
import { pieceTokenizer as makePieceTokenizer } from './pieceTokenizer';

// Pieces in which an unclosed string can go on forever and a number can run into a word.
const PIECES = ["'", 'Content', '-Length', ': ', "'Content", '1', ' <<', ' 16', 'mail', '<|end|>', ' ', '"', 'yes', 'no', 'cancel', 'src', '/a.ts', '13'];
const pieceTokenizer = makePieceTokenizer(PIECES);
const allowed = (allow: ((token: number) => boolean) | undefined): string[] => (allow ? PIECES.filter((_, i) => allow(i)) : []);

test('valueSnap: a value is begun among the values, written to its end, and ended only there', () => {
  const snap = valueSnap(["'Content-Length: '", '1 << 16', '1', '"yesno"', '"yesnocancel"'], pieceTokenizer)!;
  assert.deepEqual(allowed(snap('')), ["'", "'Content", '1', ' ', '"'], 'a token that begins a value, or whitespace first; never an end');
  assert.deepEqual(allowed(snap(' ')), ["'", "'Content", '1', '"'], 'after whitespace, no more of it');
  assert.deepEqual(allowed(snap("'Content-Length: ")), ["'"], 'an open string must close, not repeat');
  assert.deepEqual(allowed(snap("'Content-Length: '")), ['<|end|>'], 'a whole value ends');
  assert.deepEqual(allowed(snap('1')), [' <<', '<|end|>', ' '], '`1` is a whole value too, or the start of `1 << 16`; never `1mail`');
  assert.deepEqual(allowed(snap('1 <<')), [' 16', ' ']);
  assert.deepEqual(allowed(snap('"yesno')), ['"', 'cancel'], 'the model still chooses between neighbouring values');
  assert.equal(snap('src/a.ts'), undefined, 'an answer already off every value is left alone');
  assert.equal(valueSnap([], pieceTokenizer), undefined, 'no values: no snap');
});

test('answerSnap: a plain value question snaps to values; where-questions and multi-hop values do not', () => {
  const values = ['13', '1 << 16'];
  assert.deepEqual(allowed(answerSnap('What does constant `CR` equal?', ['src/a.ts'], pieceTokenizer, values)!('')), ['1', ' ', '13']);
  assert.deepEqual(allowed(answerSnap('Where is `CR` defined?', ['src/a.ts'], pieceTokenizer, values)!('')), [' ', 'src'], 'a where-question keeps its path snap');
  assert.equal(answerSnap('What value does `A` in src/a.ts resolve to?', [], pieceTokenizer, values), undefined, 'a multi-hop value may write a trace');
  assert.equal(answerSnap('What does constant `CR` equal?', [], pieceTokenizer, []), undefined, 'no values, no paths: nothing');
});

test('snapChoices: the top-level values, or the parameter lists, of the files that name the asked name, as written', async () => {
  const files = [
    { path: 'lib/codes.js', text: "export const CR = 13;\nexport const WINDOW = 1 << 16; // slots\nexport const LABEL = 'pot';\nexport function run(a, ...rest) { const inner = 5; return a; }\nexport function stop() {}\n" },
    { path: 'lib/other.py', text: 'CR_OTHER = 99\ndef far(x):\n    return x\n' },
    { path: 'lib/uses.ts', text: "import { CR } from './codes';\nconst LOCAL = CR + 1;\n" },
    { path: 'pkg/shape.py', text: 'class Shape:\n    def area(self, scale):\n        return CR * scale\n' },
    { path: 'lib/list.js', text: 'function insert (self, node, value) { return CR }\n' },
  ];
  const values = (await snapChoices('value', files, ['CR'])).sort();
  assert.deepEqual(values, ["'pot'", '1 << 16', '13', 'CR + 1'], 'codes.js and uses.ts name CR (whole word); other.py does not; no function bodies');
  const lists = (await snapChoices('params', files, ['CR'])).sort();
  assert.deepEqual(lists, ['a, ...rest', 'none', 'scale', 'self, node, value', 'self, scale'], 'each function of those files; a method also without self, a function never');
  assert.deepEqual(await snapChoices('value', files, []), []);
});

test('answerSnap: a parameter question snaps to the lists; the multi-hop form does not', () => {
  const PARAMS = ['a', ',', ' b', ' c', '<|end|>', 'x'];
  const tok = makePieceTokenizer(PARAMS);
  const snap = answerSnap('What parameters does function `f` take?', [], tok, ['a, b', 'x'])!;
  assert.deepEqual(PARAMS.filter((_, i) => snap('a, b')!(i)), ['<|end|>'], 'a whole list ends; no invented third parameter');
  assert.equal(answerSnap('What parameters does `f`, as imported by src/a.ts, take?', [], tok, ['a, b']), undefined);
});
