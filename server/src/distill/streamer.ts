// Turns ordered repository files into fixed-size token chunks for prefill, each token tagged with the file and
// line it came from (the distilled cache keeps that tag per KV slot, for citations).
//
// Files are tokenized line by line with the newline attached: encode() returns ids without offsets, and line
// boundaries are natural BPE boundaries, so per-line encoding keeps provenance exact at a negligible cost in
// merges across lines. Decoding the concatenated tokens gives back header + text exactly.
import { throwIfAborted } from '../util/abort';
import type { Tokenizer } from '../model/tokenizer';

/** Where one token came from. Header tokens carry their file and line 0. */
export interface TokenSource {
  /** POSIX path relative to the repository root. */
  file: string;
  /** 1-based line; 0 for the file header. */
  line: number;
  /** The line defines or imports a name (StreamOptions.outlineLines); absent otherwise. */
  outline?: true;
}

/** What the streamer needs from a file; RepoFile satisfies it, and so does an unsaved editor buffer. */
export interface StreamableFile {
  path: string;
  text: string;
}

export interface StreamChunk {
  tokens: number[];
  /** Parallel to `tokens`. Entries for one line share one frozen object. */
  provenance: TokenSource[];
  /** Index (into the files passed in) of the file holding the chunk's first token. */
  fileIndex: number;
  /** Index of the file holding the chunk's last token (a chunk may span files). */
  lastFileIndex: number;
  /** Files whose last token is in this chunk or an earlier one. */
  filesDone: number;
  filesTotal: number;
  /** Tokens emitted so far, this chunk included. */
  tokensDone: number;
}

/** Builds the text put before each file; the model's tokenizer decides which marker it understands. */
export type FileHeader = (path: string) => string;

export interface StreamOptions {
  /** Maximum tokens per chunk (every chunk but the last is full). Default 512. */
  chunkTokens?: number;
  /** Default: headerForTokenizer(tokenizer). */
  header?: FileHeader;
  signal?: AbortSignal;
  /** Lines to tag `outline` in each file (see outlineLines.ts); none when absent. */
  outlineLines?: (file: StreamableFile) => Promise<ReadonlySet<number>>;
}

export const DEFAULT_CHUNK_TOKENS = 512;

/** A neutral header for models without a file marker: a comment line most code models have seen plenty of. */
export const fileHeader: FileHeader = (path) => `// File: ${path}\n`;

/**
 * Picks the file marker the tokenizer has a special token for: RepoPot's own `<|file|>`, Qwen2.5-Coder's
 * `<|file_sep|>`, StarCoder2/SmolLM2's `<file_sep>`; otherwise the comment header.
 */
export function headerForTokenizer(tokenizer: Pick<Tokenizer, 'tokenToId'>): FileHeader {
  if (tokenizer.tokenToId('<|file|>') !== undefined) return (p) => `<|file|> ${p}\n`;
  if (tokenizer.tokenToId('<|file_sep|>') !== undefined) return (p) => `<|file_sep|>${p}\n`;
  if (tokenizer.tokenToId('<file_sep>') !== undefined) return (p) => `<file_sep>${p}\n`;
  return fileHeader;
}

/** Header then lines of one file, each piece tokenized separately so every token knows its line. */
function* tokenizeFile(
  file: StreamableFile,
  tokenizer: Tokenizer,
  header: FileHeader,
  outline: ReadonlySet<number> = new Set(),
): Generator<{ tokens: number[]; source: TokenSource }> {
  yield { tokens: tokenizer.encode(header(file.path)), source: Object.freeze({ file: file.path, line: 0 }) };
  const text = file.text;
  let start = 0;
  let line = 1;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl + 1;
    const source: TokenSource = outline.has(line) ? { file: file.path, line, outline: true } : { file: file.path, line };
    yield { tokens: encodeContent(tokenizer, text.slice(start, end)), source: Object.freeze(source) };
    start = end;
    line++;
  }
}

/** Marker-shaped text: `<file_sep>`, `<|endoftext|>`, `<|im_start|>` ... */
const MARKER_LIKE = /<\|?[A-Za-z_][\w.-]*\|?>/g;

/**
 * Encodes file content so that text spelling a special token (a file containing "<file_sep>" or
 * "<|endoftext|>") stays plain text: otherwise a repository could forge file boundaries or end the document.
 * Such spellings are encoded as "<" plus the rest, which decodes to the same text. Only the header may carry
 * special tokens.
 */
export function encodeContent(tokenizer: Tokenizer, text: string): number[] {
  if (!text.includes('<')) return tokenizer.encode(text);
  const tokens: number[] = [];
  let from = 0;
  for (const m of text.matchAll(MARKER_LIKE)) {
    if (tokenizer.tokenToId(m[0]) === undefined) continue;
    const at = m.index!;
    if (at > from) append(tokens, tokenizer.encode(text.slice(from, at)));
    append(tokens, tokenizer.encode('<'));
    from = at + 1;
  }
  if (from < text.length) append(tokens, tokenizer.encode(text.slice(from)));
  return tokens;
}

/** push(...items) overflows the argument limit on a very long line. */
function append(target: number[], items: readonly number[]): void {
  for (const item of items) target.push(item);
}

/** All tokens of one file with provenance (header included): for token counts and tests. */
export function tokenizeWithProvenance(
  file: StreamableFile,
  tokenizer: Tokenizer,
  header: FileHeader = headerForTokenizer(tokenizer),
): { tokens: number[]; provenance: TokenSource[] } {
  const tokens: number[] = [];
  const provenance: TokenSource[] = [];
  for (const piece of tokenizeFile(file, tokenizer, header)) {
    for (const t of piece.tokens) {
      tokens.push(t);
      provenance.push(piece.source);
    }
  }
  return { tokens, provenance };
}

/** Yield to the event loop this often while tokenizing, so an abort (or anything else) can run. */
const YIELD_EVERY_MS = 10;

/**
 * Streams files (in the order given; see order.ts) as chunks of at most `chunkTokens` tokens. Pass a subset
 * of files to re-stream only what changed. Cancelling the signal rejects the pending next() with its reason.
 */
export async function* streamRepository(
  files: readonly StreamableFile[],
  tokenizer: Tokenizer,
  options: StreamOptions = {},
): AsyncGenerator<StreamChunk, void, undefined> {
  const chunkTokens = options.chunkTokens ?? DEFAULT_CHUNK_TOKENS;
  if (!Number.isInteger(chunkTokens) || chunkTokens < 1) {
    throw new RangeError(`chunkTokens must be a positive integer, got ${chunkTokens}`);
  }
  const header = options.header ?? headerForTokenizer(tokenizer);
  const signal = options.signal;
  throwIfAborted(signal);

  let tokens: number[] = [];
  let provenance: TokenSource[] = [];
  let firstFile = 0;
  let tokensDone = 0;
  // Handing a chunk to the consumer does not give the event loop a turn (for-await resumes on microtasks), so
  // time since the last real macrotask yield is what counts.
  let lastYield = performance.now();

  // Emitted tokens are consumed from `head`; the arrays are compacted once per line, not once per chunk, so a
  // single enormous line does not cost quadratic copying.
  let head = 0;
  const take = (lastFileIndex: number, filesDone: number): StreamChunk => {
    const count = Math.min(chunkTokens, tokens.length - head);
    tokensDone += count;
    const chunk: StreamChunk = {
      tokens: tokens.slice(head, head + count),
      provenance: provenance.slice(head, head + count),
      fileIndex: firstFile,
      lastFileIndex,
      filesDone,
      filesTotal: files.length,
      tokensDone,
    };
    head += count;
    firstFile = lastFileIndex;
    return chunk;
  };
  const compact = (): void => {
    if (head === 0) return;
    tokens = tokens.slice(head);
    provenance = provenance.slice(head);
    head = 0;
  };

  for (let fileIndex = 0; fileIndex < files.length; fileIndex++) {
    if (tokens.length === head) firstFile = fileIndex;
    const file = files[fileIndex]!;
    const outline = options.outlineLines ? await options.outlineLines(file) : undefined;
    for (const piece of tokenizeFile(file, tokenizer, header, outline)) {
      for (const t of piece.tokens) {
        tokens.push(t);
        provenance.push(piece.source);
      }
      // Full chunks that end inside this file: the file is not done yet.
      while (tokens.length - head > chunkTokens) {
        yield take(fileIndex, fileIndex);
        throwIfAborted(signal);
      }
      compact();
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
        throwIfAborted(signal);
      }
    }
    // Exactly full at a file boundary: emit now so the chunk reports this file as done.
    if (tokens.length === chunkTokens) {
      yield take(fileIndex, fileIndex + 1);
      compact();
      throwIfAborted(signal);
    }
  }
  if (tokens.length > 0) yield take(files.length - 1, files.length);
}
