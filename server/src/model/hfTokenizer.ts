// Hugging Face tokenizers (tokenizer.json + tokenizer_config.json) behind our Tokenizer interface, via the pure-JS
// @huggingface/tokenizers. Folders that ship only GPT-2-style vocab.json + merges.txt (Qwen2's slow-tokenizer files)
// get an equivalent tokenizer.json assembled in memory.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { readJsonFile, fileExists } from './jsonFile';
import { ModelImportError, describeError } from './errors';
import type { Tokenizer } from './tokenizer';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}



/** tokenizer_config.json names special tokens either as strings or as {content: ...} objects. */
export function specialTokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/** Qwen2's pre-tokenizer split pattern (GPT-4 style: contractions, letters, single digits, punctuation, spaces). */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * Builds a tokenizer.json object equivalent to Qwen2TokenizerFast's from vocab.json, merges.txt and the
 * added_tokens_decoder of tokenizer_config.json: NFC normalizer, regex Split + ByteLevel(use_regex false)
 * pre-tokenizer, byte-level BPE, ByteLevel decoder.
 */
export function assembleByteLevelBpeTokenizerJson(vocab: Record<string, number>, mergesText: string, tokenizerConfig: Json): Json {
  const merges = mergesText
    .split(/\r?\n/)
    .filter((line) => line.length > 0 && !line.startsWith('#version'));
  const addedTokens: Json[] = [];
  const decoderTable = isRecord(tokenizerConfig.added_tokens_decoder) ? tokenizerConfig.added_tokens_decoder : {};
  for (const [id, token] of Object.entries(decoderTable)) {
    if (!isRecord(token) || typeof token.content !== 'string') continue;
    addedTokens.push({
      id: Number(id),
      content: token.content,
      single_word: token.single_word === true,
      lstrip: token.lstrip === true,
      rstrip: token.rstrip === true,
      normalized: token.normalized === true,
      special: token.special !== false,
    });
  }
  addedTokens.sort((a, b) => Number(a.id) - Number(b.id));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

export interface HfTokenizerFiles {
  /** The file(s) the tokenizer came from, for messages (tokenizer.json, or vocab.json). */
  source: string;
  tokenizerJson: Json;
  tokenizerConfig: Json;
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenIds: readonly number[];
  /** tokenizer_config.json's chat_template, when it has one. */
  readonly chatTemplate?: string;
  /** Special-token strings by role (bos_token, eos_token, ...), for chat templates. */
  readonly specialTokens: Readonly<Record<string, string>>;
  readonly source: string;
  private readonly impl: HfTokenizerImpl;
  private readonly addBos: boolean;
  private readonly cleanUpSpaces: boolean;

  constructor(files: HfTokenizerFiles) {
    const { tokenizerJson, tokenizerConfig, source } = files;
    this.source = source;
    try {
      this.impl = new HfTokenizerImpl(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new ModelImportError(source, `cannot build tokenizer (${describeError(err)})`, { cause: err });
    }
    let maxId = -1;
    for (const id of this.impl.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const specialTokens: Record<string, string> = {};
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
      const content = specialTokenContent(tokenizerConfig[key]);
      if (content !== undefined) specialTokens[key] = content;
    }
    this.specialTokens = specialTokens;
    this.bosTokenId = specialTokens.bos_token !== undefined ? this.impl.token_to_id(specialTokens.bos_token) : undefined;
    const eos = specialTokens.eos_token !== undefined ? this.impl.token_to_id(specialTokens.eos_token) : undefined;
    this.eosTokenIds = eos === undefined ? [] : [eos];
    this.addBos = tokenizerConfig.add_bos_token === true;
    // Clean-up rewrites " ." to "." etc., which corrupts code; only honour it when explicitly requested.
    this.cleanUpSpaces = tokenizerConfig.clean_up_tokenization_spaces === true;
    if (typeof tokenizerConfig.chat_template === 'string') this.chatTemplate = tokenizerConfig.chat_template;
  }

  encode(text: string, options?: { addSpecial?: boolean }): number[] {
    const addSpecial = options?.addSpecial ?? false;
    const ids = this.impl.encode(text, { add_special_tokens: addSpecial }).ids;
    // Some tokenizer.json files have no post-processor but tokenizer_config.json asks for BOS.
    if (addSpecial && this.addBos && this.bosTokenId !== undefined && ids[0] !== this.bosTokenId) ids.unshift(this.bosTokenId);
    return ids;
  }

  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.impl.id_to_token(id) === undefined) {
        throw new RangeError(`token id ${id} is not in the tokenizer's vocabulary (${this.source})`);
      }
    }
    return this.impl.decode([...ids], {
      skip_special_tokens: options?.skipSpecial ?? true,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.impl.token_to_id(token);
  }
}

/** Which tokenizer files a Hugging Face folder has; undefined when it has none we can use. */
export async function findHfTokenizerFiles(dir: string): Promise<'tokenizer.json' | 'vocab+merges' | undefined> {
  if (await fileExists(path.join(dir, 'tokenizer.json'))) return 'tokenizer.json';
  if ((await fileExists(path.join(dir, 'vocab.json'))) && (await fileExists(path.join(dir, 'merges.txt')))) return 'vocab+merges';
  return undefined;
}

/**
 * Loads the tokenizer of a Hugging Face folder: tokenizer.json when present, else vocab.json + merges.txt.
 * tokenizer_config.json is optional (special tokens, add_bos_token, chat template).
 */
export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const configPath = path.join(dir, 'tokenizer_config.json');
  const configJson = (await fileExists(configPath)) ? await readJsonFile(configPath) : {};
  if (!isRecord(configJson)) throw new ModelImportError(configPath, 'is not a JSON object');
  const kind = await findHfTokenizerFiles(dir);
  if (kind === 'tokenizer.json') {
    const file = path.join(dir, 'tokenizer.json');
    const json = await readJsonFile(file);
    if (!isRecord(json) || !isRecord(json.model)) throw new ModelImportError(file, 'has no "model" object');
    if (!Array.isArray(json.added_tokens)) json.added_tokens = [];
    return new HfTokenizer({ source: file, tokenizerJson: json, tokenizerConfig: configJson });
  }
  if (kind === 'vocab+merges') {
    const vocabPath = path.join(dir, 'vocab.json');
    const vocab = await readJsonFile(vocabPath);
    if (!isRecord(vocab) || !Object.values(vocab).every((v) => typeof v === 'number')) {
      throw new ModelImportError(vocabPath, 'must map token strings to integer ids');
    }
    const mergesPath = path.join(dir, 'merges.txt');
    const merges = await fsp.readFile(mergesPath, 'utf8');
    const json = assembleByteLevelBpeTokenizerJson(vocab as Record<string, number>, merges, configJson);
    return new HfTokenizer({ source: vocabPath, tokenizerJson: json, tokenizerConfig: configJson });
  }
  throw new ModelImportError(dir, 'has no tokenizer (expected tokenizer.json, or vocab.json + merges.txt)');
}
