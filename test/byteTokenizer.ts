// A tokenizer of bytes (id = byte + 3; 0-2 are pad, BOS and EOS) for tests that stream real text through a random
// model without a vocabulary file.
import type { Tokenizer } from '../server/src/model/tokenizer';

export const byteTokenizer: Tokenizer = {
  vocabSize: 259,
  eosTokenIds: [2],
  bosTokenId: 1,
  encode: (text) => [...Buffer.from(text, 'utf8')].map((b) => b + 3),
  decode: (ids) => Buffer.from(ids.filter((i) => i >= 3).map((i) => i - 3)).toString('utf8'),
  tokenToId: () => undefined,
};
