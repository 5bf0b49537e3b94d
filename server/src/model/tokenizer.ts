// Tokenizer interface shared by Hugging Face tokenizers and llama2.c's tokenizer.bin.
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenIds: readonly number[];
  /** Encodes text; `addSpecial` adds BOS etc. as the tokenizer's post-processor defines (default false). */
  encode(text: string, options?: { addSpecial?: boolean }): number[];
  /** Decodes ids; `skipSpecial` drops special tokens (default true). */
  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string;
  tokenToId(token: string): number | undefined;
}
