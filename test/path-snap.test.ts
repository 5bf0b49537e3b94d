// Path snapping (server/src/engine/pathSnap.ts): once an answer item is a prefix of a workspace path that contains
// `/` or `.`, only tokens that keep it one are allowed, and an end only on a whole path; the engine applies it. For a
// where-question (answerSnap) the first item is held from its first token, over the source files only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathSnap } from '../server/src/engine/pathSnap';
import { answerSnap } from '../server/src/distill/distiller';
import { Engine } from '../server/src/engine/engine';
import { pieceTokenizer as makePieceTokenizer } from './pieceTokenizer';
import { randomModel, scratchCacheDir } from '../server/src/selftest/checks';
import { byteTokenizer } from './byteTokenizer';

// A word-piece vocabulary in which `src/c` + `ookie` and `src/c` + `art` are both two-token continuations.
const PIECES = ['src', '/', 'c', 'art', 'ookie', '.ts', '.py', ' ', ',', '<|end|>', 'index', '.js', 'on', 'x', 'name', ' src'];
const pieceTokenizer = makePieceTokenizer(PIECES);
const id = (piece: string): number => PIECES.indexOf(piece);
const allowed = (allow: ((token: number) => boolean) | undefined): string[] => (allow ? PIECES.filter((_, i) => allow(i)) : []);

test('pathSnap: leaves an answer alone until it writes a path prefix with / or .', () => {
  const snap = pathSnap(['src/cart.ts', 'src/pricing.py', 'index.js', 'index.json'], pieceTokenizer);
  assert.equal(snap(''), undefined, 'nothing written');
  assert.equal(snap(' src'), undefined, 'no / or . yet (a name such as a parameter is never forced into a path)');
  assert.equal(snap('name, x'), undefined);
  assert.equal(snap('x/c'), undefined, 'a path the workspace does not have is left alone');
  assert.equal(snap('src/cart.ts, x/'), undefined, 'each item of a list on its own');
});

test('pathSnap: inside a path prefix only continuations of a workspace path; an end only on a whole path', () => {
  const snap = pathSnap(['src/cart.ts', 'src/pricing.py', 'index.js', 'index.json'], pieceTokenizer);
  assert.deepEqual(allowed(snap(' src/c')), ['art'], '`src/c` goes on as `art`, never `ookie`');
  assert.deepEqual(allowed(snap(' src/')), ['c'], 'the pieces that start a remaining path');
  assert.deepEqual(allowed(snap(' src/cart.ts')), [' ', ',', '<|end|>', ' src'], 'a whole path: separators and end tokens');
  assert.deepEqual(allowed(snap('index.js')), [' ', ',', '<|end|>', 'on', ' src'], 'a whole path that also starts a longer one');
  assert.deepEqual(allowed(snap('src/cart.ts, src/c')), ['art'], 'the item after a comma');
  assert.ok(!snap(' src/c')!(id('ookie')));
});

test('pathSnap fromStart: the first token must begin a path, then the path is held to its end; later items are free', () => {
  const snap = pathSnap(['src/cart.ts', 'index.js'], pieceTokenizer, { fromStart: true });
  assert.deepEqual(allowed(snap('')), ['src', ' ', 'index', ' src'], 'a path start, or whitespace before one; never an end token');
  assert.deepEqual(allowed(snap(' ')), ['src', 'index'], 'after whitespace: a path start, no more whitespace');
  assert.deepEqual(allowed(snap(' src')), ['/'], 'a first item without / or . is held too');
  assert.deepEqual(allowed(snap('index')), ['.js'], 'only what keeps it a path');
  assert.deepEqual(allowed(snap(' src/cart.ts')), [' ', ',', '<|end|>', ' src'], 'a whole path may end the answer');
  assert.equal(snap('src/cart.ts name'), undefined, 'a second item is the ordinary snap: left alone without / or .');
  assert.equal(pathSnap([], pieceTokenizer, { fromStart: true })(''), undefined, 'no paths: nothing to hold');
});

test('answerSnap: a where-question holds its answer from the start among source files; other questions snap as before', () => {
  const paths = ['src/cart.ts', 'README.md', 'package.json'];
  const where = answerSnap('Where is `Cart` defined?', paths, pieceTokenizer)!;
  assert.deepEqual(allowed(where('')), ['src', ' ', ' src'], 'README.md and package.json cannot define a symbol');
  const value = answerSnap('What does constant `MAX` equal?', paths, pieceTokenizer)!;
  assert.equal(value(''), undefined, 'a value question is not forced into a path');
  assert.equal(value(' src'), undefined);
  assert.deepEqual(allowed(value(' src/c')), ['art'], 'but a path it starts is still snapped');
  const onlyDocs = answerSnap('Where is `Cart` defined?', ['README.md'], pieceTokenizer)!;
  assert.equal(onlyDocs(''), undefined, 'no source file: the ordinary snap');
});

test('Engine.generate applies a constraint to every step, and one that does not apply changes nothing', async () => {
  const base = randomModel('llama', { vocabSize: 259, maxPositions: 256 }, 3);
  const engine = await Engine.fromModel({ ...base, tokenizer: byteTokenizer }, { cacheDir: scratchCacheDir() });
  const only = byteTokenizer.encode('q')[0];
  const cache = engine.newCache(64);
  const r = await engine.generate(cache, byteTokenizer.encode('hello'), { maxTokens: 5, constrain: () => (t) => t === only });
  assert.deepEqual(r.tokens, [only, only, only, only, only]);
  const free = await engine.generate(engine.newCache(64), byteTokenizer.encode('hello'), { maxTokens: 5, constrain: () => undefined });
  const plain = await engine.generate(engine.newCache(64), byteTokenizer.encode('hello'), { maxTokens: 5 });
  assert.deepEqual(free.tokens, plain.tokens, 'a constraint that does not apply changes nothing');

  await engine.dispose();
});
