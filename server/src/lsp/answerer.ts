// The pot as the language server sees it: ingest a workspace into the distilled KV cache, answer after it,
// cite sources by the answer's attention on the pot's slots. Backed by server/src/distill (Distiller: walk,
// order, stream, compress, persist); this module adapts it to the server's needs (skip report, status,
// selections, cancellation). It is the one place the server's answering lives.
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Engine } from '../engine/engine';
import { Distiller, snapKind, type DistillSettings } from '../distill/distiller';
import { leadWithConfirmation } from '../distill/provenance';
import type { SteeringVectors } from '../steer/vectors';
import { TIER_NEEDS_FP32 } from '../fourier/tier';
import { MIB } from '../vocab';
import { makeDecoder, type Decoder } from '../decode/index';
import { checkAnswer, diskRepo, parseQuestion, QUESTION_FORMS, STOPPED_CHECK, workspaceSymbols, type AnswerCheck, type RepoView } from '../check/index';
import type { AskResult, AskSelection, DecoderSetting, QuestionFormsParams, QuestionFormsResult, SkippedFile, Source, SteeringSettings, StopReason } from './protocol';

/** Under a free-form answer of a model trained for lookups (RepoPot's own). */
export const LOOKUP_MODEL_NOTE =
  "RepoPot's built-in model is trained for lookups (where something is defined, a constant's value, a function's parameters, which files import a module). For free-form questions, choose a larger model (RepoPot: Choose Model…).";

/** The pot's numbers the status bar shows. */
export interface PotGauge {
  tokensSeen: number;
  tokensKept: number;
  budget: number;
  cacheBytes: number;
  /** The memory setting's bytes (after caps); 0 when the pot is sized in slots. */
  memoryBytes: number;
}

export interface IngestRequest {
  include: string[];
  exclude: string[];
  signal: AbortSignal;
  /** Awaited before each chunk goes into the pot: the scheduler's yield point (and pause). */
  betweenChunks: () => Promise<void>;
  onProgress: (p: PotGauge & { filesDone: number; filesTotal: number; tokensPerSecond: number }) => void;
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
  /** Query-aware re-read (distill/reread.ts): tokens put back before answering; 0 = off. */
  rereadTokens: number;
  /** Path snapping (engine/pathSnap.ts): answers that start a workspace path finish it as written. */
  snapPaths: boolean;
  /** Value snapping (engine/valueSnap.ts): a value or parameter question is answered with one whole value or list the workspace has. */
  snapValues: boolean;
  signal?: AbortSignal;
  onToken?: (text: string) => void;
}

/** An answer as the server returns it: the protocol's AskResult (distill's Answer is the model-side one). */
export type ServerAnswer = AskResult;

export interface PotSettings {
  root: string;
  /** The `repopot.cache.*` slice, passed to the Distiller as is (it caps and defaults it). */
  cache: DistillSettings;
  /** Where the pot is persisted; empty = not persisted. */
  cacheDir: string;
  decoder: DecoderSetting;
  log: (message: string) => void;
}

export class DistilledPot {
  private readonly distiller: Distiller;
  /** Built on the first answer after each ingest (parallel decoders draft from the pot's lines). */
  private decoder: Promise<Decoder | undefined> | undefined;
  /** The streamed files as the answer checks read them (set by each ingest). */
  private repo: RepoView | undefined;
  /** The settings the pot runs with: `settings.cache` capped by the model's context. */
  readonly cache: DistillSettings;
  /** What capping changed, for the log (e.g. a budget above what the model's context allows). */
  readonly notices: readonly string[];

  constructor(
    readonly engine: Engine,
    readonly label: string,
    private readonly settings: PotSettings,
    /** KV-cache steering vectors found for this model, if any. */
    readonly steeringVectors?: SteeringVectors,
  ) {
    this.distiller = new Distiller(engine);
    const resolved = this.distiller.resolve(settings.cache);
    const notices = [...resolved.notices];
    let cache = resolved.settings;
    if (cache.fourier) {
      // The Fourier tier needs the model's calibration and the fp32 KV cache; without them the pot is the plain one,
      // and the log says why.
      try {
        if (engine.kvDtype !== 'fp32') throw new Error(TIER_NEEDS_FP32);
        this.distiller.fourierLayout();
      } catch (error) {
        notices.push(`fourier: ${(error as Error).message}; using the plain pot`);
        const { fourier: _off, ...plain } = cache;
        cache = plain;
      }
    }
    this.cache = cache;
    this.notices = notices;
  }

  get budget(): number {
    return this.cache.budget;
  }

  /** The memory setting in bytes, as the pot runs with it; 0 when the pot is sized in slots. */
  get memoryBytes(): number {
    return this.cache.memory ? Math.round(this.cache.memory * MIB) : 0;
  }

  get device(): string {
    return this.engine.device;
  }

  stats(): PotGauge {
    const pot = this.distiller.pot;
    if (!pot) return { tokensSeen: 0, tokensKept: 0, budget: this.budget, cacheBytes: 0, memoryBytes: this.memoryBytes };
    const s = pot.summary();
    return { tokensSeen: s.tokensSeen, tokensKept: s.tokensKept, budget: s.budget, cacheBytes: s.cacheBytes, memoryBytes: this.memoryBytes };
  }

  /** Brings the pot up to date with the workspace (restoring the persisted pot when there is one). */
  async ingest(req: IngestRequest): Promise<IngestOutcome> {
    const include = req.include.length > 0 ? req.include : undefined;
    const exclude = req.exclude.length > 0 ? req.exclude : undefined;
    const summary = await this.distiller.ingest({
      repo: this.settings.root,
      ...this.cache,
      include,
      exclude,
      cacheDir: this.settings.cacheDir || undefined,
      signal: req.signal,
      betweenChunks: req.betweenChunks,
      onProgress: (p) => req.onProgress({ tokensSeen: p.tokensSeen, tokensKept: p.tokensKept, budget: p.budget, cacheBytes: p.cacheBytes, memoryBytes: this.memoryBytes, filesDone: p.filesDone, filesTotal: p.filesTotal, tokensPerSecond: p.tokensPerSecond }),
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
    this.distiller.forget();
  }

  async answer(req: AnswerRequest): Promise<ServerAnswer> {
    let question = req.question.trim();
    if (req.selection) question = `${question}\n\nThe code in question (${this.relPath(req.selection.uri)}):\n${req.selection.text}`;
    const vectors = req.steering.enabled ? this.steeringVectors : undefined;
    const cValue = req.steering.strength ?? vectors?.defaultCValue ?? 1;
    const decoder = await this.tokenDecoder();
    const started = performance.now();
    // The workspace's files, read once for the re-read and the value snap.
    const files = req.rereadTokens > 0 || (req.snapValues && snapKind(question) !== undefined) ? await this.distiller.files() : undefined;
    const a = await this.distiller.ask(question, {
      decoder,
      maxTokens: req.maxTokens,
      sampling: req.temperature > 0 ? { kind: 'sample', temperature: req.temperature, topP: 0.9 } : { kind: 'greedy' },
      steer: vectors && cValue !== 0 ? { vectors, cValue } : undefined,
      reread: files && req.rereadTokens > 0 ? { files, maxTokens: req.rereadTokens } : undefined,
      snapPaths: req.snapPaths ? this.distiller.filePaths() : undefined,
      snapValues: req.snapValues ? files : undefined,
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
  private tokenDecoder(): Promise<Decoder | undefined> {
    const setting = this.settings.decoder;
    if (setting === 'sequential' || !this.distiller.pot) return Promise.resolve(undefined);
    this.decoder ??= makeDecoder(this.engine, setting, {
      history: this.distiller.history(),
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
    return this.distiller.currentSources(max).map((c) => this.source(c.file, c.startLine, c.endLine, c.weight));
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
    return workspaceRelative(this.settings.root, uri);
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}

function toStopReason(s: string): StopReason {
  return s === 'eos' || s === 'stop' || s === 'length' || s === 'cancelled' ? s : 'stop';
}

/**
 * A file URI as a POSIX path relative to `root` (display and prompts); anything else as given. fileURLToPath,
 * not URL.pathname: "file:///c%3A/src/a.ts" is C:\\src\\a.ts on Windows, and the pathname keeps it encoded.
 */
export function workspaceRelative(root: string, uri: string, platform: { windows: boolean } = { windows: process.platform === 'win32' }): string {
  if (!uri.startsWith('file:')) return uri;
  try {
    const p = platform.windows ? path.win32 : path.posix;
    const abs = fileURLToPath(uri, { windows: platform.windows });
    return p.relative(root, abs).split(p.sep).join('/');
  } catch {
    return uri;
  }
}
