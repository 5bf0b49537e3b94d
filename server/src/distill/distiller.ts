// Repository → pot → answer. Ties the walker, the file order, the streamer, the pot and its policy,
// and the pot store together; used by the CLI (`repopot ingest/ask`) and the language server.
//
//   walk + order ─► streamRepository ─► pot.append (compress when over budget) ─► savePot
//   question ─► prompt after the pot ─► generate ─► attention of the answer on pot slots ─► sources

import { pathSnap, type TokenConstraint } from '../engine/pathSnap';
import { valueSnap } from '../engine/valueSnap';
import { valueAsWritten } from '../check/checkValue';
import { outlineFile } from '../check/outline';
import { parseQuestion } from '../check/question';
import { grammarFor } from '../check/grammars';
import type { Tokenizer } from '../model/tokenizer';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import type { Sampling } from '../engine/sampling';
import { walkRepository, type RepoFile, type SkippedFile, type WalkOptions, type WalkResult } from './repoWalker';
import { orderFiles, type FileOrder } from './order';
import { streamRepository, headerForTokenizer, type StreamableFile, type StreamChunk } from './streamer';
import { outlineLines } from './outlineLines';
import { Pot, type PotStats } from './pot';
import { citeSources, shareSources, type Citation, type SlotSource } from './provenance';
import { loadPot, potPath, savePot, POT_FORMAT_VERSION } from './potStore';
import { makePolicy } from './policies/registry';
import { attentionMass, type CachePolicy } from './policies/policy';
import { DEFAULT_BUDGET, DEFAULT_CHUNK_TOKENS, DEFAULT_FOURIER, DEFAULT_MEMORY_MIB, DEFAULT_POLICY, MIB, POLICY_NAMES, type PolicyName } from '../vocab';
import { potHistory } from './history';
import { generateSteered, type SteerSettings } from '../steer/apply';
import type { Decoder } from '../engine/decoder';
import { displayText, questionPrompt, splitTrace } from './prompt';
import { refineForQuestion } from './refine';
import { questionNames, rereadIntoCache, rereadLines, wholeWord } from './reread';
import { FOURIER_FILE, findLayout, type FourierLayout } from '../fourier/layout';
import { newTierCache, plainSlotBytes, tierSlotsForBytes } from '../fourier/budget';
import { FourierKvCache, TIER_NEEDS_FP32, TIER_NEEDS_TOKEN_LAYOUT } from '../fourier/tier';

/**
 * What the pot is distilled with: the same names from the VS Code setting (`repopot.cache.*`) and the CLI
 * flag (`--budget`, `--memory`, `--chunk`, `--policy`, `--fourier`) to the pot. Distiller.resolve caps and defaults them, once.
 */
export interface DistillSettings {
  /**
   * Slots the pot may keep; capped by what the model's trained context allows. With `fourier`, the bytes of that many
   * plain slots. With `memory` set, derived from it (the plain slots its bytes hold).
   */
  budget: number;
  /** Tokens fed into the pot at a time (ingestion yields between chunks); capped by the model's context. */
  chunkSize: number;
  policy: PolicyName;
  /**
   * The Fourier tier (fourier.json beside the model, from `repopot fourier calibrate`): `budget` then counts bytes —
   * those of `budget` plain slots — and the pot holds as many tier slots as fit them (see fourier/budget.ts).
   * Absent: off (DEFAULT_FOURIER); resolved settings carry it only when on.
   */
  fourier?: boolean;
  /**
   * The pot's size in MiB (DEFAULT_MEMORY_MIB, 0: off): set, it replaces `budget`, which becomes the plain slots its
   * bytes hold (with `fourier`, the pot holds as many tier slots as fit the same bytes). Capped like `budget`; resolved
   * settings carry it only when set, as the MiB in use.
   */
  memory?: number;
}

/** The smallest budget and chunk the pot works with (the CLI refuses less). */
export const MIN_POT_TOKENS = 16;

export interface DistillOptions extends Partial<DistillSettings> {
  repo: string;
  order?: FileOrder;
  include?: string[];
  exclude?: string[];
  /** The walk of `repo` when the caller already made it (the CLI walks before loading the model). */
  walk?: WalkResult;
  /** Where pots are saved; no persistence when absent. */
  cacheDir?: string;
  catalyst?: string;
  signal?: AbortSignal;
  onProgress?: (progress: IngestProgress) => void;
  /** Awaited between chunks: lets interactive requests run first (the language server's scheduler). */
  betweenChunks?: () => Promise<void>;
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
  /** Skipped files by reason; a pruned folder counts the files under it. */
  skipped: Record<string, number>;
  /** Every file the walk saw: read (`files`) or skipped. */
  filesSeen: number;
  tokensPerSecond: number;
  peakRssBytes: number;
  /** 'fresh' streamed everything; 'reused' loaded the saved pot; 'refreshed' re-streamed changed files. */
  source: 'fresh' | 'reused' | 'refreshed';
  policy: PolicyName;
  reason?: string;
}

/**
 * The largest budget the model allows: pot + chunk + question must fit the trained context; powers of two (at
 * most DEFAULT_BUDGET) keep budgets comparable. Also the budget when none is asked for.
 */
export function defaultBudget(maxPositions: number, chunkTokens = defaultChunkTokens(maxPositions)): number {
  const room = potPositionLimit(maxPositions) - chunkTokens;
  let budget = 64;
  while (budget * 2 <= room && budget * 2 <= DEFAULT_BUDGET) budget *= 2;
  return budget;
}

/** Skipped files by reason, a pruned folder counting the files under it (at least one). */
export function skippedFileCounts(skipped: readonly SkippedFile[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of skipped) counts[s.reason] = (counts[s.reason] ?? 0) + Math.max(1, s.files ?? 1);
  return counts;
}

/** Compress to one chunk below the budget (when the budget holds at least two): half as many compressions. */
export function defaultCompressTo(budget: number, chunkTokens: number): number {
  return budget >= 2 * chunkTokens ? budget - chunkTokens : budget;
}

/** The positions a pot's slots may take: the trained context less an eighth of it for the question and answer. */
export function potPositionLimit(maxPositions: number): number {
  return maxPositions - Math.floor(maxPositions / 8);
}

/**
 * Where a pot's kept slots sit: 'keep' (the product) leaves them at their stream positions until positions run out,
 * then re-rotates them to 0..kept-1; 'keep-reencode' re-encodes their tokens instead at that point; 'repack' re-rotates
 * at every compression (the paper's CR-RoPE).
 */
export type PotPositions = 'keep' | 'keep-reencode' | 'repack';

/** A pot of `budget` slots fed `chunkTokens` at a time, compressing to defaultCompressTo (on `cache` when given). */
export function chunkedPot(engine: Engine, budget: number, chunkTokens: number, policy: CachePolicy, cache?: KvCache<SlotSource>, positions: PotPositions = 'keep'): Pot {
  const positionLimit = positions === 'repack' ? undefined : potPositionLimit(engine.config.maxPositions);
  const repack = positions === 'keep-reencode' ? 'reencode' : 'rotate';
  return new Pot(engine, { budget, policy, compressTo: defaultCompressTo(budget, chunkTokens), positionLimit, repack }, cache);
}

/** The largest chunk the model allows: a quarter of its trained context (at least 64 tokens). */
export function maxChunkTokens(maxPositions: number): number {
  return Math.max(64, Math.floor(maxPositions / 4));
}

/** The chunk size when none is asked for: `preferred` (DEFAULT_CHUNK_TOKENS) within the model's cap. */
export function defaultChunkTokens(maxPositions: number, preferred = DEFAULT_CHUNK_TOKENS): number {
  return Math.min(preferred, maxChunkTokens(maxPositions));
}

/** Bytes a pot of resolved `settings` may fill, `slotBytes` being one plain slot's: the memory setting's, else `budget` plain slots'. */
export function potBytes(settings: DistillSettings, slotBytes: number): number {
  return settings.memory ? Math.round(settings.memory * MIB) : settings.budget * slotBytes;
}

/** MiB for notices: at most two decimals, no trailing zeros. */
function mib(bytes: number): string {
  return String(Number((bytes / MIB).toFixed(2)));
}

/**
 * Requested settings → the ones the pot runs with: defaults filled in and values capped by the model's context,
 * once, for the extension and the CLI alike. Each cap is reported in `notices` (the caller shows them). `slotBytes`
 * (one plain slot's bytes, see Distiller.resolve) turns a `memory` setting into the budget; without it `memory` is
 * passed on as asked.
 */
export function resolveDistillSettings(maxPositions: number, requested: Partial<DistillSettings> = {}, slotBytes?: number): { settings: DistillSettings; notices: string[] } {
  const notices: string[] = [];
  // Settings files can hold anything: a value that is not a whole number or a known policy is said and replaced.
  const whole = (value: number | undefined, name: string): number | undefined => {
    if (value === undefined || Number.isInteger(value)) return value;
    notices.push(`${name} ${String(value)} is not a whole number of tokens: using the default`);
    return undefined;
  };
  let policy = requested.policy ?? DEFAULT_POLICY;
  if (!(POLICY_NAMES as readonly string[]).includes(policy)) {
    notices.push(`policy "${String(policy)}" is not one of ${POLICY_NAMES.join(', ')}: using ${DEFAULT_POLICY}`);
    policy = DEFAULT_POLICY;
  }
  const chunkCap = maxChunkTokens(maxPositions);
  let chunkSize = whole(requested.chunkSize, 'chunk size') ?? defaultChunkTokens(maxPositions);
  if (chunkSize > chunkCap) {
    notices.push(`chunk size ${chunkSize} is above what the model's ${maxPositions}-token context allows: capped to ${chunkCap}`);
    chunkSize = chunkCap;
  }
  if (chunkSize < MIN_POT_TOKENS) {
    notices.push(`chunk size ${chunkSize} is below ${MIN_POT_TOKENS}: raised to ${MIN_POT_TOKENS}`);
    chunkSize = MIN_POT_TOKENS;
  }
  const budgetCap = defaultBudget(maxPositions, chunkSize);
  let memory = requested.memory ?? DEFAULT_MEMORY_MIB;
  if (typeof memory !== 'number' || !Number.isFinite(memory) || memory < 0) {
    notices.push(`memory ${String(memory)} is not a size in MiB: using the budget in slots`);
    memory = DEFAULT_MEMORY_MIB;
  }
  // A memory setting replaces the budget: the plain slots its bytes hold, capped and raised as a budget is.
  const bytes = memory > 0 && slotBytes ? Math.round(memory * MIB) : undefined;
  let budget = bytes !== undefined ? Math.floor(bytes / slotBytes!) : (whole(requested.budget, 'budget') ?? budgetCap);
  const asked = bytes !== undefined ? `memory ${mib(bytes)} MiB (${budget} slots)` : `budget ${budget}`;
  const to = (slots: number) => (bytes !== undefined ? `${slots} slots (${mib(slots * slotBytes!)} MiB)` : String(slots));
  if (budget > budgetCap) {
    notices.push(`${asked} is above what the model's ${maxPositions}-token context allows with ${chunkSize}-token chunks: capped to ${to(budgetCap)}`);
    budget = budgetCap;
    if (bytes !== undefined) memory = (budgetCap * slotBytes!) / MIB;
  }
  if (budget < MIN_POT_TOKENS) {
    notices.push(`${asked} is below ${MIN_POT_TOKENS}${bytes !== undefined ? ' slots' : ''}: raised to ${to(MIN_POT_TOKENS)}`);
    budget = MIN_POT_TOKENS;
    if (bytes !== undefined) memory = (MIN_POT_TOKENS * slotBytes!) / MIB;
  }
  let fourier = requested.fourier ?? DEFAULT_FOURIER;
  if (typeof fourier !== 'boolean') {
    notices.push(`fourier ${String(fourier)} is not true or false: using ${DEFAULT_FOURIER ? 'on' : 'off'}`);
    fourier = DEFAULT_FOURIER;
  }
  return { settings: { budget, chunkSize, policy, ...(fourier ? { fourier: true } : {}), ...(memory > 0 ? { memory } : {}) }, notices };
}

/**
 * The model's Fourier calibration (its fourier.json), for `fourier` settings; an Error that says what to do when the
 * model has none or it was made for other weights.
 */
export function fourierLayoutOf(engine: Engine): FourierLayout {
  const c = engine.config;
  const layout = findLayout(engine.model.dir, { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim }, engine.model.weightsHash);
  if (!layout) throw new Error(`${engine.model.dir ?? 'the model'} has no ${FOURIER_FILE}; run "repopot fourier calibrate --model DIR" first`);
  return layout;
}

export class Distiller {
  private current: Pot | undefined;
  private fileHashes = new Map<string, string>();
  private skipped: Record<string, number> = {};
  /** Where the last ingest read from and saved to (forget() and history() need them). */
  private last: { repo: string; file: string | undefined; otherForm: string | undefined } | undefined;
  /** The model's Fourier calibration, once loaded. */
  private layout: FourierLayout | undefined;

  constructor(readonly engine: Engine) {}

  /** The pot after the last ingest; read-only (ingest replaces it). */
  get pot(): Pot | undefined {
    return this.current;
  }

  /** The model's Fourier calibration (loaded once); throws when it has none (see fourierLayoutOf). */
  fourierLayout(): FourierLayout {
    return (this.layout ??= fourierLayoutOf(this.engine));
  }

  /** `requested` settings capped and defaulted for this engine's model (see resolveDistillSettings); a memory setting becomes the budget. */
  resolve(requested: Partial<DistillSettings> = {}): { settings: DistillSettings; notices: string[] } {
    return resolveDistillSettings(this.engine.config.maxPositions, requested, plainSlotBytes(this.engine.cacheShape, this.engine.kvDtype));
  }

  /**
   * Slots a pot of resolved `settings` holds: `budget`, or with the Fourier tier as many tier slots as fit its bytes
   * (potBytes). The tier needs the model's calibration (see fourierLayout).
   */
  slotsFor(settings: DistillSettings): number {
    if (!settings.fourier) return settings.budget;
    const shape = this.engine.cacheShape;
    return tierSlotsForBytes(shape, this.fourierLayout(), potBytes(settings, plainSlotBytes(shape)), { chunk: settings.chunkSize });
  }

  /** Brings the pot up to date with `options.repo`: reuse, refresh changed files, or stream anew. */
  async ingest(options: DistillOptions): Promise<IngestSummary> {
    const started = performance.now();
    let peakRss = process.memoryUsage().rss;
    const { settings } = this.resolve(options);
    const { budget, chunkSize: chunkTokens, policy: policyName } = settings;
    // With the Fourier tier, the pot's bytes (the memory setting's, else those of `budget` plain slots) hold more slots
    // (a missing calibration is an error here: callers that fall back to the plain pot check fourierLayout() first).
    if (settings.fourier && this.engine.kvDtype !== 'fp32') throw new Error(TIER_NEEDS_FP32);
    const fourier = settings.fourier ? this.fourierLayout() : undefined;
    // GroupQueryAttention's engines cannot run a token-major tier cache; 'headT' engines route it to the token-major graph.
    if (fourier && this.engine.cacheLayout === 'head') {
      throw new Error(TIER_NEEDS_TOKEN_LAYOUT);
    }
    const policy = makePolicy(policyName, this.engine, options.catalyst);
    const walkOptions: WalkOptions = { include: options.include, exclude: options.exclude, signal: options.signal };
    const walk = options.walk ?? (await walkRepository(options.repo, walkOptions));
    this.skipped = skippedFileCounts(walk.skipped);
    const ordered = orderFiles(walk.files, { order: options.order });

    // Pots with the Fourier tier are saved under `<policy>+fourier`: the two forms never overwrite each other.
    const fileFor = (tier: boolean) => (options.cacheDir ? potPath(options.cacheDir, options.repo, this.engine.model.weightsHash, tier ? `${policyName}+fourier` : policyName, budget) : undefined);
    const file = fileFor(Boolean(fourier));
    let source: IngestSummary['source'] = 'fresh';
    let reason: string | undefined;
    let toStream: RepoFile[] = ordered;
    const shape = this.engine.cacheShape;
    // With the tier the same bytes hold more slots.
    const slots = this.slotsFor(settings);
    const newCache = () => (fourier ? newTierCache<SlotSource>(shape, fourier, slots, { chunk: chunkTokens }) : undefined);
    let stored = file ? loadPot(file, { modelHash: this.engine.model.weightsHash, shape, kvDtype: this.engine.kvDtype }) : { reason: 'persistence off' };
    if ('cache' in stored && (stored.cache instanceof FourierKvCache) !== Boolean(fourier)) stored = { reason: 'saved with another cache form (Fourier tier on/off)' };
    if ('cache' in stored) {
      const pot = chunkedPot(this.engine, slots, chunkTokens, policy, stored.cache);
      pot.stats.nll = stored.stats.nll;
      pot.stats.accumulated = stored.stats.accumulated;
      pot.stats.recent = stored.stats.recent;
      pot.stats.tokens = stored.stats.tokens;
      pot.restoreCounters(stored.meta);
      const previous = new Map(Object.entries(stored.meta.fileHashes));
      const current = new Map(ordered.map((f) => [f.path, f.sha256]));
      for (const [path, hash] of previous) if (current.get(path) !== hash) pot.dropFile(path);
      toStream = ordered.filter((f) => previous.get(f.path) !== f.sha256);
      this.current = pot;
      source = toStream.length === 0 && [...previous.keys()].every((p) => current.has(p)) ? 'reused' : 'refreshed';
    } else {
      reason = stored.reason;
      this.current = chunkedPot(this.engine, slots, chunkTokens, policy, newCache());
    }
    const pot = this.current;
    this.last = { repo: options.repo, file, otherForm: fileFor(!fourier) };
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
      filesSeen: ordered.length + Object.values(this.skipped).reduce((a, b) => a + b, 0),
      tokensPerSecond: streamed / Math.max(seconds, 1e-9),
      peakRssBytes: peakRss,
      source,
      policy: policyName,
      reason,
    };
  }

  /** Answers after the pot without changing it. */
  async ask(question: string, options: AskOptions = {}): Promise<Answer> {
    if (!this.current) throw new NothingIngestedError();
    return askPot(this.engine, this.current, question, options);
  }

  /** Deletes the saved pot of the last ingest (both forms), so the next ingest streams everything anew. */
  forget(): void {
    // Both forms (with and without the Fourier tier), so a rebuild after toggling it starts anew either way.
    for (const file of [this.last?.file, this.last?.otherForm]) if (file) rmSync(file, { force: true });
  }

  /** Tokens of the repository lines the pot holds, for the parallel decoders' drafts (empty before ingest). */
  history(): number[] {
    if (!this.current || !this.last) return [];
    return potHistory(this.current.cache.tags(), this.last.repo, this.engine.tokenizer);
  }

  /**
   * The files of the last ingest, in stream order, as they read on disk now (for a query-aware re-read: AskOptions.reread).
   * The pot keeps no texts, so they are read again; a file that can no longer be read is left out.
   */
  async files(): Promise<StreamableFile[]> {
    if (!this.last) return [];
    const files: StreamableFile[] = [];
    for (const file of this.fileHashes.keys()) {
      const text = await readFile(join(this.last.repo, file), 'utf8').catch(() => undefined);
      if (text !== undefined) files.push({ path: file, text });
    }
    return files;
  }

  /** The workspace paths of the last ingest (path snapping's vocabulary of real files). */
  filePaths(): string[] {
    return this.last ? [...this.fileHashes.keys()] : [];
  }

  /** Files by their share of the pot's slots: what an answer cut short (before attention ranking) cites. */
  currentSources(max = 5): Citation[] {
    return this.current ? shareSources(this.current.cache.tags(), max) : [];
  }

  private save(file: string, policy: PolicyName): void {
    const pot = this.current!;
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
  // The model reads its context only after its BOS token, as it was trained and as `eval lookup` feeds it: without
  // it, 1 of 8 held-out where-questions came out right from an uncompressed pot, with it 8 of 8. An empty pot gets
  // BOS ahead of the first chunk, tagged like that chunk's first token.
  const bos = pot.engine.config.bosTokenId;
  let lead = bos !== undefined && pot.cache.length === 0 ? [bos] : [];
  for await (const chunk of streamRepository(files, tokenizer, { chunkTokens: options.chunkTokens, header, signal: options.signal, outlineLines })) {
    await options.betweenChunks?.();
    if (lead.length > 0 && chunk.tokens.length > 0) {
      await pot.append([...lead, ...chunk.tokens], [chunk.provenance[0], ...chunk.provenance], options.signal);
      lead = [];
    } else await pot.append(chunk.tokens, chunk.provenance, options.signal);
    streamed += chunk.tokens.length;
    options.onChunk?.(chunk, streamed);
  }
  await pot.finish();
  return streamed;
}

/**
 * Snapping for an answer. A where-question's answer is one source file: its path snap (engine/pathSnap.ts) holds from
 * the first token, over the files a definition can live in (those with a grammar: no README, licence or manifest). A
 * value or parameter question's answer is one of `choices` (engine/valueSnap.ts, from snapChoices), when there are
 * any. Other answers that begin a workspace path finish it as written.
 */
export function answerSnap(question: string, paths: readonly string[], tokenizer: Tokenizer, choices: readonly string[] = []): TokenConstraint | undefined {
  if (snapKind(question) !== undefined) {
    const snap = valueSnap(choices, tokenizer);
    if (snap) return snap;
  }
  if (paths.length === 0) return undefined;
  if (parseQuestion(question).kind === 'where') {
    const sources = paths.filter((p) => grammarFor(p) !== undefined);
    if (sources.length > 0) return pathSnap(sources, tokenizer, { fromStart: true });
  }
  return pathSnap(paths, tokenizer);
}

/** What value snapping writes for a question, if anything. */
export type SnapKind = 'value' | 'params';

/**
 * "What does X equal?" and "What parameters does X take?"; not the multi-hop forms ("what value does X in F resolve
 * to?"), whose answer may carry a trace.
 */
export function snapKind(question: string): SnapKind | undefined {
  const q = parseQuestion(question);
  if (q.via) return undefined;
  return q.kind === 'value' ? 'value' : q.kind === 'params' ? 'params' : undefined;
}

/**
 * Longest choice a value snap offers: longer initialisers (objects, functions) are not answers the model copies whole;
 * a ten-parameter list (about 90 characters) is.
 */
const MAX_SNAP_CHOICE_CHARS = 160;

/**
 * Value snapping's choices, from the files that name any of `names` (whole word): for 'value' the values assigned at
 * their top level, as written; for 'params' the parameter list of each function they define, as answers write it
 * (`a, ...rest`, `none`; a method's list also without its `self`/`cls`). The asked name's own is among them, and so
 * are its neighbours': the model still chooses.
 */
export async function snapChoices(kind: SnapKind, files: readonly StreamableFile[], names: readonly string[], signal?: AbortSignal): Promise<string[]> {
  const patterns = names.filter((n) => n.length > 0).map(wholeWord);
  const choices = new Set<string>();
  const add = (v: string): void => {
    if (v.length > 0 && v.length <= MAX_SNAP_CHOICE_CHARS && !v.includes('\n')) choices.add(v);
  };
  if (patterns.length === 0) return [];
  for (const file of files) {
    signal?.throwIfAborted();
    if (!patterns.some((p) => p.test(file.text))) continue;
    const outline = await outlineFile(file.path, file.text);
    for (const d of outline.definitions) {
      if (kind === 'params') {
        if (d.params === undefined) continue;
        add(d.params.length > 0 ? d.params.join(', ') : 'none');
        // A method's list also without its receiver (the answers may leave it out); a function's `self` is a parameter.
        if (d.member && (d.params[0] === 'self' || d.params[0] === 'cls')) add(d.params.length > 1 ? d.params.slice(1).join(', ') : 'none');
      } else if (d.value !== undefined && !d.member && d.kind !== 'function' && d.kind !== 'class') {
        add(valueAsWritten(d.value));
      }
    }
  }
  return [...choices];
}

/** Answers after the pot without changing it (the question and answer go into a clone). */
export async function askPot(engine: Engine, pot: Pot, question: string, options: AskOptions = {}): Promise<Answer> {
  const prompt = questionPrompt(engine, question);
  const promptTokens = engine.tokenizer.encode(prompt.text);
  const cache = pot.cache.clone();
  if (options.refine !== undefined) await refineForQuestion(engine, cache, promptTokens, options.refine);
  // The pot's kept tokens, slot by slot, while refinement has not edited the clone (the parallel decoder's pointer).
  let slotTokens: readonly number[] | undefined = pot.stats.tokens.length === cache.length ? pot.stats.tokens : undefined;
  const maxTokens = options.maxTokens ?? 128;
  if (options.reread) {
    // Query-aware re-read (reread.ts): the lines naming what the question asks about go after the pot, within the context.
    const reserve = promptTokens.length + maxTokens;
    const budget = Math.min(options.reread.maxTokens, engine.config.maxPositions - reserve);
    const pieces = await rereadLines(options.reread.files, questionNames(question), engine.tokenizer, budget);
    const { dropped } = await rereadIntoCache(engine, cache, pieces, { reserve, questionTokens: promptTokens, signal: options.signal });
    slotTokens = slotTokens && dropped === 0 ? [...slotTokens, ...pieces.tokens] : undefined;
  }
  // Only a value or parameter question snaps to choices; others skip the files' scan.
  const kind = options.snapValues ? snapKind(question) : undefined;
  const choices = options.snapValues && kind ? await snapChoices(kind, options.snapValues, questionNames(question), options.signal) : [];
  const potLength = cache.length;
  const potTags = cache.tags(); // before the question and answer are appended
  const generateOptions = {
    maxTokens,
    sampling: options.sampling,
    stop: [...prompt.stop, ...(options.stop ?? [])],
    signal: options.signal,
    onText: options.onText ? displayStream(options.onText) : undefined,
    // Path and value snapping (engine/pathSnap.ts, engine/valueSnap.ts) constrain every decoder that decides token by
    // token (sequential, steered, parallel exact and confidence); block diffusion ignores them.
    constrain: answerSnap(question, options.snapPaths ?? [], engine.tokenizer, choices),
  };
  // One-shot KV-cache steering: the same decode after a single edit of the slot before the last prompt token.
  const result = options.steer
    ? await generateSteered(engine, cache, promptTokens, options.steer, generateOptions)
    : options.decoder
      ? await options.decoder.generate(cache, promptTokens, { ...generateOptions, slotTokens })
      : await engine.generate(cache, promptTokens, generateOptions);
  let sources: Citation[] = [];
  if (result.tokens.length > 0 && result.stopReason !== 'cancelled' && options.maxSources !== 0) {
    // Attention the answer's tokens put on the pot's slots ranks the sources.
    cache.truncate(potLength + promptTokens.length);
    const mass = await attentionMass(engine, cache, result.tokens, 1, potLength);
    sources = citeSources(potTags, mass, options.maxSources ?? 5);
  }
  const { answer, trace } = splitTrace(result.text);
  return { answer, trace, text: displayText(result.text), sources, stopReason: result.stopReason, tokens: result.tokens.length };
}

/** ask() before any ingest. */
export class NothingIngestedError extends Error {
  override readonly name = 'NothingIngestedError';
  constructor() {
    super('ask: nothing ingested yet');
  }
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
  /**
   * Query-aware re-read (reread.ts): after any refinement, put back up to `maxTokens` tokens of the lines of `files`
   * that name what the question asks about (definitions first), with their file headers; absent: off.
   */
  reread?: { files: readonly StreamableFile[]; maxTokens: number };
  /**
   * Path snapping (engine/pathSnap.ts): the workspace's file paths; an answer that starts writing one of them
   * finishes it as written. Sequential and steered decoding only.
   */
  snapPaths?: readonly string[];
  /**
   * Value snapping (engine/valueSnap.ts): the workspace's files; the answer to "what does X equal?" or "what
   * parameters does X take?" is written as one whole value, or parameter list, of a file that names X (snapChoices).
   * Every decoder but block diffusion.
   */
  snapValues?: readonly StreamableFile[];
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
