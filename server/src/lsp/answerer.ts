// The pot: what the server remembers of the repository and how it answers from it.
// Until distillation lands this is a window: the most recent file chunks that fit the model's context
// (oldest dropped first); an answer prefills the window, then generates after the question.
// Sources are the files in the window, by share of tokens. This module is the one to swap for the
// distilled pot (same `Pot` interface; sources then attention-ranked).
import { pathToFileURL } from 'node:url';
import type { AskSelection, Source, StopReason } from './protocol.js';
import type { GenerateStop, ModelHost } from './model_host.js';
import type { SourceFile } from './files.js';

export interface PotStats {
  tokensSeen: number;
  tokensKept: number;
  budget: number;
  cacheBytes: number;
}

export interface AnswerRequest {
  question: string;
  selection?: AskSelection;
  steering: string;
  maxTokens: number;
  greedy: boolean;
  signal?: AbortSignal;
  onToken?: (text: string) => void;
}

export interface Answer {
  text: string;
  sources: Source[];
  stopReason: StopReason;
  tokens: number;
  tokensPerSecond: number;
}

/** Serializable state, persisted between server runs. */
export interface PotSnapshot {
  version: 1;
  model: string;
  tokensSeen: number;
  chunks: Chunk[];
}

interface Chunk {
  relPath: string;
  uri: string;
  startLine: number;
  endLine: number;
  tokens: number[];
}

export interface Pot {
  stats(): PotStats;
  /** Adds one file (replacing an earlier version of it); awaits `between` after each chunk. */
  ingestFile(file: SourceFile, between: () => Promise<void>): Promise<void>;
  removeFile(relPath: string): void;
  answer(req: AnswerRequest): Promise<Answer>;
  /** Sources the next answer would draw on (used when an answer is cut before they are computed). */
  currentSources(): Source[];
  reset(): void;
  snapshot(): PotSnapshot;
  restore(s: PotSnapshot): boolean;
}

/** Tokens kept free in the context for the question and the answer. */
const PROMPT_RESERVE = 64;

export class WindowPot implements Pot {
  private chunks: Chunk[] = [];
  private tokensSeen = 0;

  constructor(
    private readonly model: ModelHost,
    private readonly budget: number,
    private readonly chunkSize: number,
    private readonly maxAnswerTokens: number,
  ) {}

  /** The window: the budget, but never more than the context leaves after prompt and answer. */
  private get capacity(): number {
    return Math.max(16, Math.min(this.budget, this.model.maxPositions - PROMPT_RESERVE - this.maxAnswerTokens));
  }

  private get kept(): number {
    return this.chunks.reduce((n, c) => n + c.tokens.length, 0);
  }

  stats(): PotStats {
    const kept = this.kept;
    return { tokensSeen: this.tokensSeen, tokensKept: kept, budget: this.budget, cacheBytes: kept * this.model.bytesPerToken };
  }

  async ingestFile(file: SourceFile, between: () => Promise<void>): Promise<void> {
    this.removeFile(file.relPath);
    const uri = pathToFileURL(file.absPath).toString();
    const tok = this.model.tokenizer;
    const lines = file.text.split('\n');
    // Lines are tokenized one by one and grouped until a chunk is full (a very long line is cut).
    let current: Chunk = { relPath: file.relPath, uri, startLine: 0, endLine: 0, tokens: tok.encode(`\n// file: ${file.relPath}\n`) };
    const flush = async (): Promise<void> => {
      if (current.tokens.length === 0) return;
      this.tokensSeen += current.tokens.length;
      this.chunks.push(current);
      this.evict();
      await between();
    };
    for (let i = 0; i < lines.length; i++) {
      let t = tok.encode(lines[i] + '\n');
      if (t.length > this.chunkSize) t = t.slice(0, this.chunkSize);
      if (current.tokens.length + t.length > this.chunkSize && current.tokens.length > 0) {
        await flush();
        current = { relPath: file.relPath, uri, startLine: i, endLine: i, tokens: [] };
      }
      current.tokens.push(...t);
      current.endLine = i;
    }
    await flush();
    this.evict();
  }

  removeFile(relPath: string): void {
    this.chunks = this.chunks.filter((c) => c.relPath !== relPath);
  }

  private evict(): void {
    let kept = this.kept;
    while (kept > this.capacity && this.chunks.length > 0) {
      kept -= this.chunks.shift()!.tokens.length;
    }
  }

  reset(): void {
    this.chunks = [];
    this.tokensSeen = 0;
  }

  currentSources(): Source[] {
    return sourcesOf(this.chunks);
  }

  async answer(req: AnswerRequest): Promise<Answer> {
    const tok = this.model.tokenizer;
    const prompt = tok.encode(formatPrompt(req));
    const room = Math.max(0, this.model.maxPositions - prompt.length - req.maxTokens - 1);
    // Newest chunks first until the context is full.
    const used: Chunk[] = [];
    let n = 0;
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i];
      if (n + c.tokens.length > room) break;
      used.unshift(c);
      n += c.tokens.length;
    }
    const context: number[] = [];
    if (tok.bosTokenId !== undefined) context.push(tok.bosTokenId);
    for (const c of used) context.push(...c.tokens);
    const maxTokens = Math.max(1, Math.min(req.maxTokens, this.model.maxPositions - context.length - prompt.length));
    const started = performance.now();
    const out = await this.model.generate({
      context,
      prompt,
      maxTokens,
      greedy: req.greedy,
      stop: ['\nQuestion:'],
      signal: req.signal,
      onToken: req.onToken,
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      text: out.text,
      sources: sourcesOf(used),
      stopReason: toStopReason(out.stopReason),
      tokens: out.tokens,
      tokensPerSecond: seconds > 0 ? out.tokens / seconds : 0,
    };
  }

  snapshot(): PotSnapshot {
    return { version: 1, model: this.model.label, tokensSeen: this.tokensSeen, chunks: this.chunks };
  }

  restore(s: PotSnapshot): boolean {
    if (s.version !== 1 || s.model !== this.model.label || !Array.isArray(s.chunks)) return false;
    this.chunks = s.chunks;
    this.tokensSeen = s.tokensSeen;
    this.evict();
    return true;
  }
}

function toStopReason(s: GenerateStop): StopReason {
  return s;
}

export function formatPrompt(req: Pick<AnswerRequest, 'question' | 'selection' | 'steering'>): string {
  let p = '\n\n';
  if (req.steering) p += `${req.steering.trim()}\n`;
  if (req.selection) p += `Code:\n${req.selection.text}\n`;
  return `${p}Question: ${req.question.trim()}\nAnswer:`;
}

function sourcesOf(chunks: Chunk[]): Source[] {
  const byFile = new Map<string, { uri: string; start: number; end: number; tokens: number }>();
  let total = 0;
  for (const c of chunks) {
    total += c.tokens.length;
    const s = byFile.get(c.relPath);
    if (s) {
      s.start = Math.min(s.start, c.startLine);
      s.end = Math.max(s.end, c.endLine);
      s.tokens += c.tokens.length;
    } else {
      byFile.set(c.relPath, { uri: c.uri, start: c.startLine, end: c.endLine, tokens: c.tokens.length });
    }
  }
  return [...byFile.entries()]
    .map(([path, s]) => ({
      uri: s.uri,
      path,
      range: { start: { line: s.start, character: 0 }, end: { line: s.end, character: 0 } },
      weight: total > 0 ? s.tokens / total : 0,
    }))
    .sort((a, b) => b.weight - a.weight || a.path.localeCompare(b.path));
}
