// llama2.c's tokenizer.bin (a SentencePiece BPE flattened by llama2.c's tokenizer.py):
//   int32 max_token_length, then per token: float32 score, int32 length, `length` bytes.
// encode follows run.c: dummy-prefix space, per-codepoint lookup with byte fallback (<0xXX> = byte + 3), then
// repeatedly merge the adjacent pair whose concatenation is a token with the best score. decode follows run.c
// too, except that it also drops the dummy-prefix space at the very start (as HF's Llama decoder does).
import { promises as fsp } from 'node:fs';
import { ModelImportError, describeError } from './errors';
import type { Tokenizer } from './tokenizer';

const BOS_ID = 1;
const EOS_ID = 2;
/** Byte-fallback tokens <0x00>..<0xFF> start at id 3 (after <unk>, <s>, </s>). */
const BYTE_TOKEN_OFFSET = 3;

/** Pieces are byte strings; we key them as latin1 strings so every byte maps to one char, losslessly. */
function bytesToKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export class Llama2cTokenizer implements Tokenizer {
  readonly bosTokenId = BOS_ID;
  readonly eosTokenIds: readonly number[] = [EOS_ID];
  private readonly pieces: string[];
  private readonly scores: Float32Array;
  private readonly idByPiece = new Map<string, number>();

  constructor(pieces: string[], scores: Float32Array) {
    this.pieces = pieces;
    this.scores = scores;
    // run.c bsearches a sorted copy; with duplicate pieces the lowest id is as good a choice as any.
    pieces.forEach((piece, id) => {
      if (!this.idByPiece.has(piece)) this.idByPiece.set(piece, id);
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** Parses tokenizer.bin for a model with `vocabSize` tokens (the file does not record the count). */
  static parse(bytes: Uint8Array, vocabSize: number, file: string): Llama2cTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4) throw new ModelImportError(file, 'truncated: too short for a llama2.c tokenizer');
    const maxTokenLength = view.getInt32(0, true);
    if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
      throw new ModelImportError(file, `not a llama2.c tokenizer (max_token_length ${maxTokenLength})`);
    }
    const pieces: string[] = [];
    const scores = new Float32Array(vocabSize);
    let offset = 4;
    for (let id = 0; id < vocabSize; id++) {
      if (offset + 8 > bytes.length) {
        throw new ModelImportError(file, `truncated: holds ${id} tokens but the model needs ${vocabSize}`);
      }
      scores[id] = view.getFloat32(offset, true);
      const length = view.getInt32(offset + 4, true);
      offset += 8;
      if (length < 0 || length > maxTokenLength || offset + length > bytes.length) {
        throw new ModelImportError(file, `truncated or corrupt at token ${id} (length ${length})`);
      }
      pieces.push(bytesToKey(bytes.subarray(offset, offset + length)));
      offset += length;
    }
    if (offset !== bytes.length) {
      throw new ModelImportError(file, `has ${bytes.length - offset} bytes after ${vocabSize} tokens: it belongs to a model with a larger vocabulary`);
    }
    return new Llama2cTokenizer(pieces, scores);
  }

  static async load(file: string, vocabSize: number): Promise<Llama2cTokenizer> {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(file);
    } catch (err) {
      throw new ModelImportError(file, `cannot read tokenizer (${describeError(err)})`, { cause: err });
    }
    return Llama2cTokenizer.parse(bytes, vocabSize, file);
  }

  encode(text: string, options?: { addSpecial?: boolean }): number[] {
    const tokens: number[] = [];
    if (options?.addSpecial) tokens.push(BOS_ID);
    if (text.length === 0) return tokens;
    const dummyPrefix = this.idByPiece.get(' ');
    if (dummyPrefix !== undefined) tokens.push(dummyPrefix);

    // One token per code point when the vocabulary has it, else its UTF-8 bytes as byte tokens.
    for (const codePoint of text) {
      const utf8 = Buffer.from(codePoint, 'utf8');
      const id = this.idByPiece.get(bytesToKey(utf8));
      if (id !== undefined) tokens.push(id);
      else for (const byte of utf8) tokens.push(byte + BYTE_TOKEN_OFFSET);
    }

    // Greedy merges: quadratic like run.c, fine for prompts of a few thousand characters on tiny vocabularies.
    const start = options?.addSpecial ? 1 : 0;
    for (;;) {
      let bestScore = -Infinity;
      let bestId = -1;
      let bestIndex = -1;
      for (let i = start; i < tokens.length - 1; i++) {
        const merged = this.idByPiece.get(this.pieces[tokens[i]] + this.pieces[tokens[i + 1]]);
        if (merged !== undefined && this.scores[merged] > bestScore) {
          bestScore = this.scores[merged];
          bestId = merged;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;
      tokens.splice(bestIndex, 2, bestId);
    }
    return tokens;
  }

  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string {
    const skipSpecial = options?.skipSpecial ?? true;
    const chunks: Buffer[] = [];
    let previous = -1;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.pieces.length) {
        throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.pieces.length - 1})`);
      }
      const special = id === BOS_ID || id === EOS_ID || id === 0;
      if (!(special && skipSpecial)) {
        let piece = this.pieces[id];
        // The dummy-prefix space is not part of the text: run.c strips it after BOS; like HF's Llama decoder
        // (Strip start=1) we also strip it at the start of a sequence without BOS (e.g. generated ids only).
        if ((previous === BOS_ID || previous === -1) && piece.startsWith(' ')) piece = piece.slice(1);
        const byteMatch = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
        chunks.push(byteMatch ? Buffer.from([parseInt(byteMatch[1], 16)]) : Buffer.from(piece, 'latin1'));
      }
      previous = id;
    }
    // Bytes are joined before UTF-8 decoding so multi-byte characters split across byte tokens survive.
    return Buffer.concat(chunks).toString('utf8');
  }

  tokenToId(token: string): number | undefined {
    return this.idByPiece.get(Buffer.from(token, 'utf8').toString('latin1'));
  }
}
