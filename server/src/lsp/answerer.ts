// The pot as the language server sees it: ingest a workspace into the distilled KV cache, answer after it,
// cite sources by the answer's attention on the pot's slots. Backed by server/src/distill (Distiller: walk,
// order, stream, compress, persist); this module adapts it to the server's needs (skip report, status,
// selections, cancellation). It is the one place the server's answering lives.
import { FOURIER_FILE, findLayout, type FourierLayout } from '../fourier/layout';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Engine } from '../engine/engine.js';
import { defaultBudget, defaultChunkTokens, Distiller } from '../distill/distiller.js';
import { potPath } from '../distill/potStore.js';
import type { SlotSource } from '../distill/provenance.js';
import type { SteeringVectors } from '../steer/vectors.js';
import { makeDecoder, type Decoder as TokenDecoder } from '../decode/index.js';
import { potHistory } from '../decode/history.js';
import type { AskSelection, Decoder, Policy, SkippedFile, Source, SteeringSettings, StopReason } from './protocol.js';

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
}

export interface PotSettings {
  root: string;
  budget: number;
  /** Use the model's Fourier tier (when it has a fourier.json): the same bytes hold more slots. */
  fourier?: boolean;
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

  /** The model's Fourier calibration when the setting asks for the tier (absent: the plain pot, with a log line). */
  private fourierLayout(): FourierLayout | undefined {
    if (!this.settings.fourier) return undefined;
    const c = this.engine.config;
    let layout: FourierLayout | undefined;
    try {
      layout = findLayout(this.engine.model.dir, { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim }, this.engine.model.weightsHash);
    } catch (error) {
      this.settings.log(`repopot.cache.fourier: ${(error as Error).message}; using the plain pot`);
      return undefined;
    }
    if (!layout) this.settings.log(`repopot.cache.fourier: the model has no ${FOURIER_FILE} (run repopot fourier calibrate); using the plain pot`);
    return layout;
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
      fourier: this.fourierLayout(),
      signal: req.signal,
      betweenChunks: req.betweenChunks,
      onProgress: (p) => req.onProgress({ tokensSeen: p.tokensSeen, tokensKept: p.tokensKept, budget: p.budget, cacheBytes: p.cacheBytes, filesDone: p.filesDone, filesTotal: p.filesTotal, tokensPerSecond: p.tokensPerSecond }),
    });
    this.decoder = undefined;
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
    // Both forms: with and without the Fourier tier (saved under `<policy>+fourier`).
    for (const policy of [this.settings.policy, `${this.settings.policy}+fourier`]) {
      rmSync(potPath(this.settings.cacheDir, this.settings.root, this.engine.model.weightsHash, policy, this.budget), { force: true });
    }
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
    return {
      text: a.text,
      sources: a.sources.map((c) => this.source(c.file, c.startLine, c.endLine, c.weight)),
      stopReason: toStopReason(a.stopReason),
      tokens: a.tokens,
      tokensPerSecond: seconds > 0 ? a.tokens / seconds : 0,
    };
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
    const perFile = new Map<string, { n: number; min: number; max: number }>();
    const tags = pot.cache.tags() as (SlotSource | undefined)[];
    for (const t of tags) {
      if (!t) continue;
      const e = perFile.get(t.file) ?? { n: 0, min: Infinity, max: 0 };
      e.n++;
      if (t.line > 0) {
        e.min = Math.min(e.min, t.line);
        e.max = Math.max(e.max, t.line);
      }
      perFile.set(t.file, e);
    }
    const total = tags.length || 1;
    return [...perFile]
      .map(([file, e]) => this.source(file, Number.isFinite(e.min) ? e.min : 1, Math.max(e.max, 1), e.n / total))
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
