// A tokenizer over a fixed list of text pieces (id = index), for tests of token constraints (path and value
// snapping) that need chosen continuations to be one token each.
import type { Tokenizer } from '../server/src/model/tokenizer';

export function pieceTokenizer(pieces: readonly string[]): Tokenizer {
  return {
    vocabSize: pieces.length,
    eosTokenIds: [],
    encode: () => [],
    decode: (ids) => ids.map((i) => pieces[i]).join(''),
    tokenToId: (t) => (pieces.includes(t) ? pieces.indexOf(t) : undefined),
  };
}
