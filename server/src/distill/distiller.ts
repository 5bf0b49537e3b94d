// Repository → pot → answer. Ties the walker, the file order, the streamer, the pot and its policy,
// and the pot store together; used by the CLI (`repopot ingest/ask`) and the language server.
//
//   walk + order ─► streamRepository ─► pot.append (compress when over budget) ─► savePot
//   question ─► prompt after the pot ─► generate ─► attention of the answer on pot slots ─► sources

import type { Engine } from '../engine/engine';
import type { Sampling } from '../engine/sampling';
import { walkRepository, type RepoFile, type SkippedFile, type WalkOptions } from './repoWalker';
import { orderFiles, type FileOrder } from './fileOrder';
import { streamRepository, headerForTokenizer, DEFAULT_CHUNK_TOKENS, type StreamableFile, type StreamChunk } from './streamer';
import { Pot, type PotStats } from './pot';
import { citeSources, type Citation } from './provenance';
import { loadPot, potPath, savePot, POT_FORMAT_VERSION } from './potStore';
import { makePolicy } from './policies/registry';
import type { PolicyName } from './policies/policy';
import { generateSteered, type SteerSettings } from '../steer/apply';
import type { Decoder } from '../decode/types';
import { displayText, questionPrompt, splitTrace } from './prompt';
import { refineForQuestion } from './refine';
import type { FourierLayout } from '../fourier/layout';
import { newTierCache, plainSlotBytes, tierSlotsForBytes } from '../fourier/budget';
import { FourierKvCache } from '../engine/fourierTier';
import type { SlotSource } from './provenance';

export interface DistillOptions {
  repo: string;
  policy?: PolicyName;
  /** Slots the pot may hold; default sized from the model's trained context. */
  budget?: number;
  chunkTokens?: number;
  order?: FileOrder;
  include?: string[];
  exclude?: string[];
  /** Where pots are saved; no persistence when absent. */
  cacheDir?: string;
  catalyst?: string;
  signal?: AbortSignal;
  onProgress?: (progress: IngestProgress) => void;
  /** Awaited between chunks: lets interactive requests run first (the language server's scheduler). */
  betweenChunks?: () => Promise<void>;
  /**
   * The Fourier tier (fourier.json of the model): `budget` then counts bytes — those of `budget` plain
   * slots — and the pot holds as many tier slots as fit them (see fourier/budget.ts).
   */
  fourier?: FourierLayout;
}

export interface IngestProgress extends PotStats {
  filesDone: number;
  filesTotal: number;
  tokensPerSecond: number;
}

export interface IngestSummary extends PotStats {
  files: number;
  /** Paths of the streamed files, in stream order. */
  filePaths: string[];
  /** Every skipped file with its reason (the counts are in `skipped`). */
  skippedFiles: SkippedFile[];
  skipped: Record<string, number>;
  tokensPerSecond: number;
  peakRssBytes: number;
  /** 'fresh' streamed everything; 'reused' loaded the saved pot; 'refreshed' re-streamed changed files. */
  source: 'fresh' | 'reused' | 'refreshed';
  policy: PolicyName;
  reason?: string;
}

/** pot + chunk + question must fit the trained context; powers of two keep budgets comparable. */
export function defaultBudget(maxPositions: number, chunkTokens = defaultChunkTokens(maxPositions)): number {
  const room = maxPositions - chunkTokens - Math.floor(maxPositions / 8);
  let budget = 64;
  while (budget * 2 <= room && budget * 2 <= 4096) budget *= 2;
  return budget;
}

/** Compress to one chunk below the budget (when the budget holds at least two): half as many compressions. */
export function defaultCompressTo(budget: number, chunkTokens: number): number {
  return budget >= 2 * chunkTokens ? budget - chunkTokens : budget;
}

export function defaultChunkTokens(maxPositions: number): number {
  return Math.min(DEFAULT_CHUNK_TOKENS, Math.max(64, Math.floor(maxPositions / 4)));
}

export class Distiller {
  pot: Pot | undefined;
  private fileHashes = new Map<string, string>();
  private skipped: Record<string, number> = {};

  constructor(readonly engine: Engine) {}

  /** Brings the pot up to date with `options.repo`: reuse, refresh changed files, or stream anew. */
  async ingest(options: DistillOptions): Promise<IngestSummary> {
    const started = performance.now();
    let peakRss = process.memoryUsage().rss;
    const config = this.engine.config;
    const chunkTokens = options.chunkTokens ?? defaultChunkTokens(config.maxPositions);
    const budget = options.budget ?? defaultBudget(config.maxPositions, chunkTokens);
    const policyName = options.policy ?? 'infinipot';
    const policy = makePolicy(policyName, this.engine, options.catalyst);
    const walkOptions: WalkOptions = { include: options.include, exclude: options.exclude, signal: options.signal };
    const walk = await walkRepository(options.repo, walkOptions);
    this.skipped = Object.fromEntries(Object.entries(walk.skipCounts).filter(([, n]) => n > 0));
    const ordered = orderFiles(walk.files, { order: options.order });

    const file = options.cacheDir ? potPath(options.cacheDir, options.repo, this.engine.model.weightsHash, options.fourier ? `${policyName}+fourier` : policyName, budget) : undefined;
    let source: IngestSummary['source'] = 'fresh';
    let reason: string | undefined;
    let toStream: RepoFile[] = ordered;
    const shape = this.engine.newCache().shape;
    // With the tier the same bytes hold more slots.
    const slots = options.fourier ? tierSlotsForBytes(shape, options.fourier, budget * plainSlotBytes(shape), { chunk: chunkTokens }) : budget;
    const newCache = () => (options.fourier ? newTierCache<SlotSource>(shape, options.fourier, slots, { chunk: chunkTokens }) : undefined);
    let stored = file ? loadPot(file, { modelHash: this.engine.model.weightsHash, shape }) : { reason: 'persistence off' };
    if ('cache' in stored && (stored.cache instanceof FourierKvCache) !== Boolean(options.fourier)) stored = { reason: 'saved with another cache form (Fourier tier on/off)' };
    if ('cache' in stored) {
      const pot = new Pot(this.engine, { budget: slots, policy, compressTo: defaultCompressTo(slots, chunkTokens) }, stored.cache);
      pot.stats.nll = stored.stats.nll;
      pot.stats.accumulated = stored.stats.accumulated;
      pot.stats.recent = stored.stats.recent;
      pot.restoreCounters(stored.meta);
      const previous = new Map(Object.entries(stored.meta.fileHashes));
      const current = new Map(ordered.map((f) => [f.path, f.sha256]));
      for (const [path, hash] of previous) if (current.get(path) !== hash) pot.dropFile(path);
      toStream = ordered.filter((f) => previous.get(f.path) !== f.sha256);
      this.pot = pot;
      source = toStream.length === 0 && [...previous.keys()].every((p) => current.has(p)) ? 'reused' : 'refreshed';
    } else {
      reason = stored.reason;
      this.pot = new Pot(this.engine, { budget: slots, policy, compressTo: defaultCompressTo(slots, chunkTokens) }, newCache());
    }
    const pot = this.pot;
    this.fileHashes = new Map(ordered.map((f) => [f.path, f.sha256]));

    const streamed = await streamIntoPot(pot, toStream, {
      chunkTokens,
      signal: options.signal,
      betweenChunks: options.betweenChunks,
      onChunk: (chunk, streamedSoFar) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const seconds = (performance.now() - started) / 1000;
        options.onProgress?.({ ...pot.summary(), filesDone: chunk.filesDone, filesTotal: chunk.filesTotal, tokensPerSecond: streamedSoFar / Math.max(seconds, 1e-9) });
      },
    });
    // The tier at rest: the window's overflow (a last partial chunk) joins it, so the pot holds its budget's bytes.
    if (pot.cache instanceof FourierKvCache) pot.cache.settle(true);
    if (file && source !== 'reused') this.save(file, policyName);
    const seconds = (performance.now() - started) / 1000;
    return {
      ...pot.summary(),
      files: ordered.length,
      filePaths: ordered.map((f) => f.path),
      skippedFiles: walk.skipped,
      skipped: this.skipped,
      tokensPerSecond: streamed / Math.max(seconds, 1e-9),
      peakRssBytes: peakRss,
      source,
      policy: policyName,
      reason,
    };
  }

  /** Answers after the pot without changing it. */
  async ask(question: string, options: AskOptions = {}): Promise<Answer> {
    if (!this.pot) throw new Error('ask: nothing ingested yet');
    return askPot(this.engine, this.pot, question, options);
  }

  private save(file: string, policy: PolicyName): void {
    const pot = this.pot!;
    const summary = pot.summary();
    savePot(file, {
      meta: {
        formatVersion: POT_FORMAT_VERSION,
        modelHash: this.engine.model.weightsHash,
        policy,
        budget: pot.options.budget,
        fileHashes: Object.fromEntries(this.fileHashes),
        tokensSeen: summary.tokensSeen,
        compressions: summary.compressions,
        skipped: this.skipped,
        savedAt: new Date().toISOString(),
      },
      cache: pot.cache,
      stats: pot.stats,
    });
  }
}

/** Streams files (in the order given) through the pot in chunks, then lets the policy finish. */
export async function streamIntoPot(
  pot: Pot,
  files: readonly StreamableFile[],
  options: { chunkTokens: number; signal?: AbortSignal; betweenChunks?: () => Promise<void>; onChunk?: (chunk: StreamChunk, streamed: number) => void },
): Promise<number> {
  const tokenizer = pot.engine.tokenizer;
  const header = headerForTokenizer(tokenizer);
  let streamed = 0;
  for await (const chunk of streamRepository(files, tokenizer, { chunkTokens: options.chunkTokens, header, signal: options.signal })) {
    await options.betweenChunks?.();
    await pot.append(chunk.tokens, chunk.provenance, options.signal);
    streamed += chunk.tokens.length;
    options.onChunk?.(chunk, streamed);
  }
  await pot.finish();
  return streamed;
}

/** Answers after the pot without changing it (the question and answer go into a clone). */
export async function askPot(engine: Engine, pot: Pot, question: string, options: AskOptions = {}): Promise<Answer> {
  const prompt = questionPrompt(engine, question);
  const promptTokens = engine.tokenizer.encode(prompt.text);
  const cache = pot.cache.clone();
  if (options.refine !== undefined) await refineForQuestion(engine, cache, promptTokens, options.refine);
  const potLength = cache.length;
  const potTags = cache.tags(); // before the question and answer are appended
  const generateOptions = {
    maxTokens: options.maxTokens ?? 128,
    sampling: options.sampling,
    stop: [...prompt.stop, ...(options.stop ?? [])],
    signal: options.signal,
    onText: options.onText ? displayStream(options.onText) : undefined,
  };
  // One-shot KV-cache steering: the same decode after a single edit of the slot before the last prompt token.
  const result = options.steer
    ? await generateSteered(engine, cache, promptTokens, options.steer, generateOptions)
    : options.decoder
      ? await options.decoder.generate(cache, promptTokens, generateOptions)
      : await engine.generate(cache, promptTokens, generateOptions);
  let sources: Citation[] = [];
  if (result.tokens.length > 0 && result.stopReason !== 'cancelled' && options.maxSources !== 0) {
    // Attention the answer's tokens put on the pot's slots ranks the sources.
    cache.truncate(potLength + promptTokens.length);
    const rows = new Float32Array(result.tokens.length).fill(1);
    const r = await engine.forward(cache, result.tokens, { attentionRows: rows, append: false });
    const mass = new Float32Array(potLength);
    for (const layer of r.attentionMass ?? []) for (let s = 0; s < potLength; s++) mass[s] += layer[s];
    sources = citeSources(potTags, mass, options.maxSources ?? 5);
  }
  const { answer, trace } = splitTrace(result.text);
  return { answer, trace, text: displayText(result.text), sources, stopReason: result.stopReason, tokens: result.tokens.length };
}

export interface AskOptions {
  maxTokens?: number;
  sampling?: Sampling;
  stop?: string[];
  signal?: AbortSignal;
  onText?: (text: string) => void;
  maxSources?: number;
  /** KV-cache steering vectors and strengths (server/src/steer); absent: no steering. */
  steer?: SteerSettings;
  /** How the answer is decoded (server/src/decode); absent: Engine.generate (sequential). Ignored when steering. */
  decoder?: Decoder;
  /** Query-aware refinement: keep this share of the pot's slots, ranked by the question's attention (refine.ts). */
  refine?: number;
}

export interface Answer {
  /** The final answer (after any reasoning trace), trimmed. */
  answer: string;
  /** What a reader sees: trace and answer without the model's control tokens; equals the streamed text. */
  text: string;
  /** The reasoning the model wrote before its final answer, when it wrote one. */
  trace?: string;
  sources: Citation[];
  stopReason: string;
  tokens: number;
}

/** Streams displayText of the growing output: special tokens decode whole, so the display only grows. */
function displayStream(onText: (text: string) => void): (piece: string) => void {
  let raw = '';
  let shown = 0;
  return (piece) => {
    raw += piece;
    const display = displayText(raw);
    if (display.length > shown) {
      onText(display.slice(shown));
      shown = display.length;
    }
  };
}
