// The pot as the language server sees it: ingest a workspace into the distilled KV cache, answer after it,
// cite sources by the answer's attention on the pot's slots. Backed by server/src/distill (Distiller: walk,
// order, stream, compress, persist); this module adapts it to the server's needs (skip report, status,
// selections, cancellation). It is the one place the server's answering lives.
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Engine } from '../engine/engine.js';
import { defaultBudget, defaultChunkTokens, Distiller } from '../distill/distiller.js';
import { potPath } from '../distill/potStore.js';
import { leadWithConfirmation, tightRange, type SlotSource } from '../distill/provenance.js';
import type { SteeringVectors } from '../steer/vectors.js';
import { makeDecoder, type Decoder as TokenDecoder } from '../decode/index.js';
import { potHistory } from '../decode/history.js';
import { checkAnswer, diskRepo, parseQuestion, QUESTION_FORMS, STOPPED_CHECK, workspaceSymbols, type AnswerCheck, type RepoView } from '../check/index.js';
import type { AskSelection, Decoder, Policy, QuestionFormsParams, QuestionFormsResult, SkippedFile, Source, SteeringSettings, StopReason } from './protocol.js';

/** Under a free-form answer of a model trained for lookups (RepoPot's own). */
export const LOOKUP_MODEL_NOTE =
  "RepoPot's built-in model is trained for lookups (where something is defined, a constant's value, a function's parameters, which files import a module). For free-form questions, choose a larger model (RepoPot: Choose Model…).";

export interface PotStats {
  tokensSeen: number;
  tokensKept: number;
  budget: number;
  cacheBytes: number;
}

export interface IngestRequest {
  include: string[];
  exclude: string[];
  signal: AbortSignal;
  /** Awaited before each chunk goes into the pot: the scheduler's yield point (and pause). */
  betweenChunks: () => Promise<void>;
  onProgress: (p: PotStats & { filesDone: number; filesTotal: number; tokensPerSecond: number }) => void;
}

export interface IngestOutcome {
  files: string[];
  skipped: SkippedFile[];
  /** 'fresh': streamed everything; 'reused'/'refreshed': restored from the persisted pot. */
  source: 'fresh' | 'reused' | 'refreshed';
  tokensPerSecond: number;
}

export interface AnswerRequest {
  question: string;
  selection?: AskSelection;
  steering: SteeringSettings;
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  signal?: AbortSignal;
  onToken?: (text: string) => void;
}

export interface Answer {
  text: string;
  sources: Source[];
  stopReason: StopReason;
  tokens: number;
  tokensPerSecond: number;
  check: AnswerCheck;
  note?: string;
}

export interface PotSettings {
  root: string;
  budget: number;
  chunkSize: number;
  policy: Policy;
  /** Where the pot is persisted; empty = not persisted. */
  cacheDir: string;
  decoder: Decoder;
  log: (message: string) => void;
}

export class DistilledPot {
  private readonly distiller: Distiller;
  /** Built on the first answer after each ingest (parallel decoders draft from the pot's lines). */
  private decoder: Promise<TokenDecoder | undefined> | undefined;
  /** The streamed files as the answer checks read them (set by each ingest). */
  private repo: RepoView | undefined;
  readonly budget: number;
  readonly chunkTokens: number;

  constructor(
    readonly engine: Engine,
    readonly label: string,
    private readonly settings: PotSettings,
    /** KV-cache steering vectors found for this model, if any. */
    readonly steeringVectors?: SteeringVectors,
  ) {
    this.distiller = new Distiller(engine);
    const maxPositions = engine.config.maxPositions;
    // The pot, a chunk and the question must fit the trained context: settings are capped by the model.
    this.chunkTokens = Math.max(16, Math.min(settings.chunkSize, defaultChunkTokens(maxPositions)));
    this.budget = Math.max(16, Math.min(settings.budget, defaultBudget(maxPositions, this.chunkTokens)));
  }

  get device(): string {
    return this.engine.device;
  }

  stats(): PotStats {
    const pot = this.distiller.pot;
    if (!pot) return { tokensSeen: 0, tokensKept: 0, budget: this.budget, cacheBytes: 0 };
    const s = pot.summary();
    return { tokensSeen: s.tokensSeen, tokensKept: s.tokensKept, budget: s.budget, cacheBytes: s.cacheBytes };
  }

  /** Brings the pot up to date with the workspace (restoring the persisted pot when there is one). */
  async ingest(req: IngestRequest): Promise<IngestOutcome> {
    const include = req.include.length > 0 ? req.include : undefined;
    const exclude = req.exclude.length > 0 ? req.exclude : undefined;
    const summary = await this.distiller.ingest({
      repo: this.settings.root,
      policy: this.settings.policy,
      budget: this.budget,
      chunkTokens: this.chunkTokens,
      include,
      exclude,
      cacheDir: this.settings.cacheDir || undefined,
      signal: req.signal,
      betweenChunks: req.betweenChunks,
      onProgress: (p) => req.onProgress({ tokensSeen: p.tokensSeen, tokensKept: p.tokensKept, budget: p.budget, cacheBytes: p.cacheBytes, filesDone: p.filesDone, filesTotal: p.filesTotal, tokensPerSecond: p.tokensPerSecond }),
    });
    this.decoder = undefined;
    this.repo = diskRepo(this.settings.root, summary.filePaths);
    return {
      files: summary.filePaths,
      skipped: summary.skippedFiles.map((s) => ({ path: s.path, reason: s.detail ? `${s.reason}: ${s.detail}` : s.reason })),
      source: summary.source,
      tokensPerSecond: summary.tokensPerSecond,
    };
  }

  /** Forgets the persisted pot so the next ingest streams everything anew. */
  forgetPersisted(): void {
    if (!this.settings.cacheDir) return;
    rmSync(potPath(this.settings.cacheDir, this.settings.root, this.engine.model.weightsHash, this.settings.policy, this.budget), { force: true });
  }

  async answer(req: AnswerRequest): Promise<Answer> {
    let question = req.question.trim();
    if (req.selection) question = `${question}\n\nThe code in question (${this.relPath(req.selection.uri)}):\n${req.selection.text}`;
    const vectors = req.steering.enabled ? this.steeringVectors : undefined;
    const cValue = req.steering.strength ?? vectors?.defaultCValue ?? 1;
    const decoder = await this.tokenDecoder();
    const started = performance.now();
    const a = await this.distiller.ask(question, {
      decoder,
      maxTokens: req.maxTokens,
      sampling: req.temperature > 0 ? { kind: 'sample', temperature: req.temperature, topP: 0.9 } : { kind: 'greedy' },
      steer: vectors && cValue !== 0 ? { vectors, cValue } : undefined,
      signal: req.signal,
      onText: req.onToken,
      maxSources: 5,
    });
    const seconds = (performance.now() - started) / 1000;
    const stopReason = toStopReason(a.stopReason);
    const check = stopReason === 'cancelled' ? { ...STOPPED_CHECK, kind: parseQuestion(req.question).kind } : await this.check(req.question, a.answer, req.signal);
    // The confirming line leads the sources.
    const cited = check.status === 'checked' ? leadWithConfirmation(a.sources, check) : a.sources;
    const sources = cited.map((c) => this.source(c.file, c.startLine, c.endLine, c.weight));
    return {
      text: a.text,
      sources,
      stopReason,
      tokens: a.tokens,
      tokensPerSecond: seconds > 0 ? a.tokens / seconds : 0,
      check,
      ...(check.kind === 'free' && this.trainedForLookups ? { note: LOOKUP_MODEL_NOTE } : {}),
    };
  }

  /** True for RepoPot's own model (its tokenizer has the `<|file|>` marker it was trained with). */
  get trainedForLookups(): boolean {
    return this.engine.tokenizer.tokenToId('<|file|>') !== undefined;
  }

  /** The verdict on an answer; a failing check (not a cancellation) leaves the answer unverified, with the reason. */
  private async check(question: string, answer: string, signal?: AbortSignal): Promise<AnswerCheck> {
    const repo = this.repo;
    if (!repo) return { status: 'unverifiable', kind: parseQuestion(question).kind, detail: 'the workspace is not read yet' };
    try {
      return await checkAnswer(question, answer, repo, signal);
    } catch (err) {
      if (signal?.aborted || (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))) throw err;
      this.settings.log(`answer check failed: ${err instanceof Error ? err.message : String(err)}`);
      return { status: 'unverifiable', kind: parseQuestion(question).kind, detail: 'the check could not run (see the logs)' };
    }
  }

  /** The question forms the model answers, with the workspace's symbols to complete them. */
  async questionForms(params: QuestionFormsParams, signal?: AbortSignal): Promise<QuestionFormsResult> {
    const symbols = this.repo ? await workspaceSymbols(this.repo, { prefix: params.prefix, limit: params.limit, signal }) : [];
    return { forms: [...QUESTION_FORMS], symbols, trainedForLookups: this.trainedForLookups };
  }

  /** The configured decoder (undefined = the engine's sequential decoding); a failure falls back to sequential. */
  private tokenDecoder(): Promise<TokenDecoder | undefined> {
    const setting = this.settings.decoder;
    const pot = this.distiller.pot;
    if (setting === 'sequential' || !pot) return Promise.resolve(undefined);
    this.decoder ??= makeDecoder(this.engine, setting, {
      history: potHistory(pot.cache.tags() as (SlotSource | undefined)[], this.settings.root, this.engine.tokenizer),
      cacheDir: this.settings.cacheDir || undefined,
      log: this.settings.log,
    }).catch((err: unknown) => {
      this.settings.log(`decoder "${setting}" unavailable, decoding sequentially: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    return this.decoder;
  }

  /** Files by their share of the pot's slots: what an answer cut short (before attention ranking) cites. */
  currentSources(max = 5): Source[] {
    const pot = this.distiller.pot;
    if (!pot) return [];
    // Per file: its share of the slots, and the few lines around the line holding most of them.
    const perFile = new Map<string, { n: number; lines: Map<number, number> }>();
    const tags = pot.cache.tags() as (SlotSource | undefined)[];
    for (const t of tags) {
      if (!t) continue;
      const e = perFile.get(t.file) ?? { n: 0, lines: new Map<number, number>() };
      e.n++;
      if (t.line > 0) e.lines.set(t.line, (e.lines.get(t.line) ?? 0) + 1);
      perFile.set(t.file, e);
    }
    const total = tags.length || 1;
    return [...perFile]
      .map(([file, e]) => {
        const { startLine, endLine } = tightRange(e.lines);
        return this.source(file, startLine, endLine, e.n / total);
      })
      .sort((a, b) => b.weight - a.weight)
      .slice(0, max);
  }

  private source(file: string, startLine: number, endLine: number, weight: number): Source {
    return {
      uri: pathToFileURL(path.join(this.settings.root, file)).toString(),
      path: file,
      // Citations are 1-based; LSP ranges are 0-based.
      range: { start: { line: Math.max(0, startLine - 1), character: 0 }, end: { line: Math.max(0, endLine - 1), character: 0 } },
      weight,
    };
  }

  private relPath(uri: string): string {
    try {
      const abs = new URL(uri).pathname;
      return path.relative(this.settings.root, decodeURIComponent(abs)).split(path.sep).join('/');
    } catch {
      return uri;
    }
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}

function toStopReason(s: string): StopReason {
  return s === 'eos' || s === 'stop' || s === 'length' || s === 'cancelled' ? s : 'stop';
}
