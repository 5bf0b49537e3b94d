// `repopot bench distill --suite niah|lookup|cost`: every cache policy on the same data and budget.
//  - niah:   held-out code with a planted constant at depths 0–100% and streams of 4×–64× the budget;
//  - lookup: the held-out question sets (data/eval), padded with other held-out files to 8k–64k tokens;
//  - cost:   ingest speed, peak RSS and the share of time spent compressing, 10k → 1M tokens.
// One JSON line per measurement, then a summary line per suite.

import { throwIfAborted } from '../util/abort';
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine';
import type { KvCache } from '../engine/kvCache';
import { Pot } from '../distill/pot';
import { askPot, chunkedPot, defaultBudget, defaultChunkTokens, defaultCompressTo, streamIntoPot, type PotPositions } from '../distill/distiller';

/** The published distill benchmarks (docs/benchmarks.md) were measured with 512-token chunks: kept, so they compare. */
const BENCH_CHUNK_TOKENS = 512;
const benchChunkTokens = (maxPositions: number): number => defaultChunkTokens(maxPositions, BENCH_CHUNK_TOKENS);
import { makePolicyFromSpec, parsePolicySpec } from '../distill/policies/registry';
import type { PolicyName } from '../distill/policies/policy';
import { tokenizeWithProvenance, headerForTokenizer, type StreamableFile } from '../distill/streamer';
import { evalSetNames, exactMatch, loadEvalSet, median, packagesInSplit, type EvalRecord, type PackageSplit } from '../eval/evalSet';
import { heatmapPng } from './png';
import type { FourierLayout } from '../fourier/layout';
import { newTierCache, plainSlotBytes, tierSlotsForBytes } from '../fourier/budget';
import type { SlotSource } from '../distill/provenance';
import { registryEntry, registryNames } from '../util/registry';

export type DistillSuite = 'niah' | 'lookup' | 'cost' | 'fourier';

export interface DistillBenchOptions {
  suite: DistillSuite;
  /** Policy specs: a name, or InfiniPot with tuning such as `infinipot:cap=0.25` (see parsePolicySpec). */
  policies: string[];
  budgets?: number[];
  /** Multiples of the budget to stream (niah). */
  lengths?: number[];
  depths?: number[];
  /** Needles per (policy, length, depth) cell. */
  trials?: number;
  /** data/eval folder (lookup sets and the held-out code used as haystack). */
  evalDir: string;
  /** Folder for heatmap PNGs (niah). */
  plotDir?: string;
  /** lookup: stream lengths in tokens; cost: stream lengths in tokens. */
  streamTokens?: number[];
  limit?: number;
  /** lookup: which question types are asked, in turn (DEFAULT_LOOKUP_TYPES). */
  types?: readonly LookupType[];
  /** lookup: each record's repository alone (the stream is the repository); default: inside other held-out code. */
  bare?: boolean;
  /** lookup: also emit one line per question (its answer, the expected one, right or not). */
  answers?: boolean;
  /** lookup: only questions from this half of the held-out packages (the Fourier lookup calibration uses 'calibration'). */
  split?: PackageSplit;
  signal?: AbortSignal;
  /** Layout for `…+fourier` policy specs (the pot with the Fourier tier at the same bytes). */
  fourierLayout?: FourierLayout;
}

type Emit = (line: Record<string, unknown>) => void;

/** Held-out code to stream: every distinct file of the evaluation sets, in a fixed order. */
export function heldOutFiles(evalDir: string): StreamableFile[] {
  const seen = new Map<string, StreamableFile>();
  for (const name of evalSetNames(evalDir)) {
    for (const r of loadEvalSet(path.join(evalDir, name))) {
      for (const f of r.files) {
        const key = `${r.pkg ?? ''}/${f.path}`;
        if (!seen.has(key)) seen.set(key, { path: key.replace(/^\//, ''), text: f.text });
      }
    }
  }
  if (seen.size === 0) throw new Error(`${evalDir}: no held-out files found (expected data/eval/*.jsonl from tools/train/gen-questions.ts)`);
  return [...seen.values()];
}

/**
 * Files totalling at most `tokens` tokens, filled until 64 files in a row would overshoot (cycling through the pool,
 * renamed per lap): a file that would overshoot is skipped, so a stream sized to fit the model's context does.
 */
function haystack(engine: Engine, pool: StreamableFile[], tokens: number, seed: number): StreamableFile[] {
  const header = headerForTokenizer(engine.tokenizer);
  const out: StreamableFile[] = [];
  let total = 0;
  let misses = 0;
  for (let i = 0; total < tokens && misses < Math.min(pool.length, 64); i++) {
    const f = pool[(i + seed * 7) % pool.length];
    const lap = Math.floor(i / pool.length);
    const file = lap ? { path: `lap${lap}/${f.path}`, text: f.text } : f;
    const n = tokenizeWithProvenance(file, engine.tokenizer, header).tokens.length;
    if (total + n > tokens) {
      misses++;
      continue;
    }
    misses = 0;
    total += n;
    out.push(file);
  }
  return out;
}

/** A planted constant: an identifier the held-out code cannot contain and a value to recall. */
function needle(seed: number): { name: string; value: string; file: StreamableFile } {
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
  let x = (seed * 2654435761) >>> 0;
  const pick = () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x;
  };
  const name = `${['RETRY', 'CACHE', 'POOL', 'BATCH', 'TIMEOUT'][pick() % 5]}_${letters[pick() % 24]}${letters[pick() % 24]}_LIMIT`;
  const value = String(100 + (pick() % 9000));
  return { name, value, file: { path: `src/${name.toLowerCase()}.ts`, text: `export const ${name} = ${value};\n` } };
}

/**
 * `<policy spec>` or `<policy spec>+refine=<share>`: the latter also applies query-aware refinement
 * (the question as catalyst, keeping that share of the pot) when asking. `+reread=<tokens>`: before asking, up to that
 * many tokens of the streamed files' lines naming what the question asks about go back after the pot (reread.ts).
 * `+snap`: path snapping (engine/pathSnap.ts); `+values`: value snapping (engine/valueSnap.ts), as the product answers.
 * `+fourier` after the policy: the pot uses the Fourier tier and holds as many slots as fit the plain budget's bytes. `+repack`: CR-RoPE
 * re-packs positions at every compression (the paper) instead of only when they run out (the product);
 * `+reencode`: when they run out, the kept tokens are re-encoded instead of re-rotated (PotPositions).
 */
export function parseBenchPolicy(spec: string): { policy: string; name: PolicyName; refine?: number; reread?: number; snap: boolean; snapValues: boolean; fourier: boolean; positions: PotPositions } {
  const snap = spec.includes('+snap');
  spec = spec.replace('+snap', '');
  const snapValues = spec.includes('+values');
  spec = spec.replace('+values', '');
  const rereadAt = /\+reread=([^+]*)/.exec(spec);
  const reread = rereadAt ? Number(rereadAt[1]) : undefined;
  if (rereadAt && !(/^\d+$/.test(rereadAt[1]) && reread! > 0)) throw new RangeError(`"${spec}": reread tokens must be a positive integer`);
  if (rereadAt) spec = spec.replace(rereadAt[0], '');
  const fourier = spec.includes('+fourier');
  const positions: PotPositions = spec.includes('+repack') ? 'repack' : spec.includes('+reencode') ? 'keep-reencode' : 'keep';
  spec = spec.replace('+fourier', '').replace('+repack', '').replace('+reencode', '');
  const at = spec.indexOf('+refine=');
  const policy = at < 0 ? spec : spec.slice(0, at);
  const refine = at < 0 ? undefined : Number(spec.slice(at + '+refine='.length));
  if (refine !== undefined && !(refine > 0 && refine <= 1)) throw new RangeError(`"${spec}": refine share must be in (0, 1]`);
  return { policy, name: parsePolicySpec(policy).name, refine, ...(reread !== undefined ? { reread } : {}), snap, snapValues, fourier, positions };
}

async function distillAndAsk(engine: Engine, spec: string, budget: number, files: StreamableFile[], question: string, maxTokens: number, layout?: FourierLayout): Promise<{ answer: string; tokensSeen: number; kept: ReadonlyMap<string, string> }> {
  const { policy, refine, reread, snap, snapValues, fourier, positions } = parseBenchPolicy(spec);
  const chunkTokens = Math.min(benchChunkTokens(engine.config.maxPositions), budget);
  let cache: KvCache<SlotSource> | undefined;
  if (fourier) {
    if (!layout) throw new Error(`"${spec}": no Fourier calibration for this model (run repopot fourier calibrate)`);
    const shape = engine.cacheShape;
    budget = tierSlotsForBytes(shape, layout, budget * plainSlotBytes(shape), { chunk: chunkTokens });
    cache = newTierCache<SlotSource>(shape, layout, budget, { chunk: chunkTokens });
  }
  const pot = chunkedPot(engine, budget, chunkTokens, makePolicyFromSpec(policy, engine), cache, positions);
  const tokensSeen = await streamIntoPot(pot, files, { chunkTokens });
  const kept = keptTextByFile(engine, pot);
  const r = await askPot(engine, pot, question, { maxTokens, maxSources: 0, refine, ...(reread !== undefined ? { reread: { files, maxTokens: reread } } : {}), ...(snap ? { snapPaths: files.map((f) => f.path) } : {}), ...(snapValues ? { snapValues: files } : {}) });
  return { answer: r.answer, tokensSeen, kept };
}

/** The pot's kept text, per file (the decoded kept tokens of each file, in slot order). */
function keptTextByFile(engine: Engine, pot: Pot): Map<string, string> {
  const tokens = pot.stats.tokens;
  const byFile = new Map<string, number[]>();
  if (tokens.length !== pot.cache.length) return new Map();
  pot.cache.tags().forEach((tag, slot) => {
    if (!tag) return;
    const ids = byFile.get(tag.file);
    if (ids) ids.push(tokens[slot]!);
    else byFile.set(tag.file, [tokens[slot]!]);
  });
  return new Map([...byFile].map(([file, ids]) => [file, engine.tokenizer.decode(ids)]));
}

/**
 * Whether the pot still holds a lookup's evidence (issue 15: was a wrong answer's evidence dropped, or misread?):
 * for `where`, the asked name in the kept text of the answer's file; for `const`, the name and the value in the
 * kept text of one file.
 */
export function evidenceKept(kept: ReadonlyMap<string, string>, record: Pick<EvalRecord, 'type' | 'question' | 'answer'>): boolean {
  const name = /`([^`]+)`/.exec(record.question)?.[1]?.split('.').pop();
  if (!name) return false;
  if (record.type === 'where') return [...kept].some(([file, text]) => (file === record.answer || file.endsWith(`/${record.answer}`)) && text.includes(name));
  return [...kept.values()].some((text) => text.includes(name) && text.includes(record.answer));
}

/** The full cache and SnapKV hold the whole stream before (or instead of) compressing. */
function needsWholeStream(spec: string): boolean {
  const { name } = parseBenchPolicy(spec);
  return name === 'full' || name === 'snapkv';
}

/** Whether the full-cache baseline is meaningful: the whole stream plus the question fits the trained context. */
function fitsContext(engine: Engine, streamTokens: number): boolean {
  return streamTokens + 64 <= engine.config.maxPositions;
}

export async function runNiah(engine: Engine, o: DistillBenchOptions, emit: Emit): Promise<void> {
  const pool = heldOutFiles(o.evalDir);
  const budgets = o.budgets ?? [defaultBudget(engine.config.maxPositions, benchChunkTokens(engine.config.maxPositions)) / 4];
  const lengths = o.lengths ?? [4, 8, 16, 32, 64];
  const depths = o.depths ?? [0, 0.25, 0.5, 0.75, 1];
  const trials = o.trials ?? 2;
  const accuracy = new Map<string, number>();
  for (const budget of budgets) {
    for (const policy of o.policies) {
      const grid: number[][] = [];
      for (const multiple of lengths) {
        const row: number[] = [];
        const streamTokens = budget * multiple;
        for (const depth of depths) {
          if (needsWholeStream(policy) && !fitsContext(engine, streamTokens)) {
            row.push(NaN);
            continue;
          }
          let hits = 0;
          let withEvidence = 0;
          for (let t = 0; t < trials; t++) {
            throwIfAborted(o.signal);
            const n = needle(multiple * 1000 + Math.round(depth * 100) * 10 + t);
            const files = haystack(engine, pool, streamTokens, t);
            files.splice(Math.round(depth * files.length), 0, n.file);
            const { answer, kept } = await distillAndAsk(engine, policy, budget, files, `What does constant \`${n.name}\` equal?`, 8, o.fourierLayout);
            if (exactMatch(answer, n.value)) hits++;
            // the needle's line survived in the pot (name and value in the needle file's kept text)
            const needleText = kept.get(n.file.path) ?? '';
            if (needleText.includes(n.name) && needleText.includes(n.value)) withEvidence++;
          }
          const acc = hits / trials;
          row.push(acc);
          emit({ bench: 'distill', suite: 'niah', policy, budget, streamTokens, depth, accuracy: acc, evidenceKept: withEvidence / trials, trials });
        }
        grid.push(row);
      }
      const measured = grid.flat().filter((v) => !Number.isNaN(v));
      accuracy.set(`${policy}/${budget}`, measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : NaN);
      if (o.plotDir) {
        fs.mkdirSync(o.plotDir, { recursive: true });
        fs.writeFileSync(path.join(o.plotDir, `niah-${policy.replace(/[^a-z0-9.]+/gi, '-')}-${budget}.png`), heatmapPng(grid));
      }
    }
  }
  // infinipot vs full at a stream of 8× the budget (where full fits the context).
  const budget = budgets[0];
  const at8 = async (policy: string) => {
    if (!fitsContext(engine, budget * 8)) return NaN;
    let hits = 0;
    const n = 2 * trials * depths.length;
    for (let t = 0; t < n; t++) {
      const nd = needle(777 + t);
      const files = haystack(engine, pool, budget * 8, t);
      files.splice(Math.round(depths[t % depths.length] * files.length), 0, nd.file);
      const { answer } = await distillAndAsk(engine, policy, budget, files, `What does constant \`${nd.name}\` equal?`, 8);
      if (exactMatch(answer, nd.value)) hits++;
    }
    return hits / n;
  };
  const infAt8 = await at8('infinipot');
  const fullAt8 = await at8('full');
  const get = (p: string) => accuracy.get(`${p}/${budget}`) ?? NaN;
  emit({
    bench: 'distill',
    suite: 'niah',
    summary: true,
    budget,
    infinipotAt8x: infAt8,
    fullAt8x: fullAt8,
    infinipotVsFull: fullAt8 > 0 ? infAt8 / fullAt8 : NaN,
    infinipotMinusStreaming: get('infinipot') - get('streaming'),
    infinipotMinusH2O: get('infinipot') - get('h2o'),
  });
}

/** Question types the lookup suite can ask through the pot: each has one exact answer. */
export const LOOKUP_TYPES = ['where', 'const', 'params', 'imports'] as const;
export type LookupType = (typeof LOOKUP_TYPES)[number];
/** where and const: what the distillation tables since session 2 report. */
export const DEFAULT_LOOKUP_TYPES: readonly LookupType[] = ['where', 'const'];

export async function runLookup(engine: Engine, o: DistillBenchOptions, emit: Emit): Promise<void> {
  const pool = heldOutFiles(o.evalDir);
  const sets = fs.readdirSync(o.evalDir).filter((n) => /^lookup-.*\.jsonl$/.test(n)).sort();
  const all = sets.flatMap((n) => loadEvalSet(path.join(o.evalDir, n)));
  const inSplit = o.split ? packagesInSplit(all, o.split) : undefined;
  const types = o.types ?? DEFAULT_LOOKUP_TYPES;
  const records: EvalRecord[] = all.filter((r) => (types as readonly string[]).includes(r.type) && (!inSplit || inSplit.has(r.pkg ?? '')));
  const streams = o.streamTokens ?? [8192];
  const budgets = o.budgets ?? [256, 512];
  const summary: Record<string, number> = {};
  const evidence: Record<string, number> = {};
  for (const streamTokens of streams) {
    // The same questions for every policy and budget: the types in turn, repositories that fit the stream.
    const sample = interleaveTypes(records.filter((r) => (r.tokens ?? 1000) + 64 <= streamTokens), [...types]).slice(0, o.limit ?? 20);
    // Bare, the stream is each record's repository alone: the full cache fits when the largest one does, and the
    // stream length reported is that largest repository's (the requested length only caps which repositories are
    // asked about: a bare run at "4096" over 1-2k repositories must not read as a 4k stream).
    const longest = o.bare ? Math.max(0, ...sample.map((r) => r.tokens ?? 1000)) : streamTokens;
    const reported = o.bare ? { streamTokens: longest, streamLimit: streamTokens } : { streamTokens };
    for (const budget of budgets) {
      for (const policy of o.policies) {
        if (needsWholeStream(policy) && !fitsContext(engine, longest)) continue;
        let hits = 0;
        let withEvidence = 0;
        for (const [i, r] of sample.entries()) {
          throwIfAborted(o.signal);
          // The record's repository sits at a random depth inside other held-out code.
          const files = o.bare ? [] : haystack(engine, pool.filter((f) => !r.files.some((rf) => f.path.endsWith(rf.path))), Math.max(0, streamTokens - (r.tokens ?? 1000)), i);
          files.splice(i % (files.length + 1), 0, ...r.files);
          const { answer, kept } = await distillAndAsk(engine, policy, budget, files, r.question, 24, o.fourierLayout);
          const correct = exactMatch(answer, r.answer);
          const hasEvidence = evidenceKept(kept, r);
          if (correct) hits++;
          if (hasEvidence) withEvidence++;
          if (o.answers) emit({ bench: 'distill', suite: 'lookup', answer: true, policy, budget, ...reported, id: r.id, type: r.type, question: r.question, expected: r.answer, got: answer, correct, evidenceKept: hasEvidence });
        }
        const accuracy = hits / Math.max(1, sample.length);
        const key = `${policy}@${budget}/${reported.streamTokens}${o.bare ? ' bare' : ''}`;
        summary[key] = accuracy;
        evidence[key] = withEvidence / Math.max(1, sample.length);
        emit({ bench: 'distill', suite: 'lookup', policy, budget, ...reported, bare: o.bare ?? false, depth: null, accuracy, evidenceKept: withEvidence / Math.max(1, sample.length), n: sample.length });
      }
    }
  }
  emit({ bench: 'distill', suite: 'lookup', summary: true, accuracy: summary, evidenceKept: evidence });
}

/** Records of the given types in turn (where, const, where, …), each type in file order. */
export function interleaveTypes(records: readonly EvalRecord[], types: readonly string[]): EvalRecord[] {
  const queues = types.map((t) => records.filter((r) => r.type === t));
  const out: EvalRecord[] = [];
  for (let i = 0; queues.some((q) => i < q.length); i++) for (const q of queues) if (i < q.length) out.push(q[i]);
  return out;
}

/** One cost measurement: stream `streamTokens` tokens of held-out code through one policy's pot. */
export interface CostMeasurement {
  policy: string;
  streamTokens: number;
  peakRssBytes: number;
  compressionShare: number;
}

/**
 * Measures one process's cost per (policy, length). Peak RSS is a high-water mark of the whole process,
 * so only the first measurement of a process is clean: the CLI runs each one in a fresh child
 * (`runCostIsolated`) and calls this with a single policy and length.
 */
export async function runCost(engine: Engine, o: DistillBenchOptions, emit: Emit): Promise<void> {
  const pool = heldOutFiles(o.evalDir);
  const budget = o.budgets?.[0] ?? defaultBudget(engine.config.maxPositions, benchChunkTokens(engine.config.maxPositions));
  const lengths = o.streamTokens ?? DEFAULT_COST_STREAMS;
  const measured: CostMeasurement[] = [];
  for (const policy of o.policies) {
    for (const streamTokens of lengths) {
      if (policy === 'full' && streamTokens > FULL_CACHE_COST_LIMIT) continue;
      global.gc?.();
      const files = haystack(engine, pool, streamTokens, 0);
      const chunkTokens = Math.min(benchChunkTokens(engine.config.maxPositions), budget);
      const potBudget = policy === 'full' ? streamTokens * 2 : budget;
      const pot = new Pot(engine, { budget: potBudget, policy: makePolicyFromSpec(parseBenchPolicy(policy).policy, engine), compressTo: defaultCompressTo(potBudget, chunkTokens) });
      let peakRss = process.memoryUsage().rss;
      const started = performance.now();
      const seen = await streamIntoPot(pot, files, {
        chunkTokens,
        signal: o.signal,
        onChunk: () => {
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        },
      });
      const seconds = (performance.now() - started) / 1000;
      const s = pot.summary();
      const compressionShare = s.compressMs / (seconds * 1000);
      measured.push({ policy, streamTokens, peakRssBytes: peakRss, compressionShare });
      // Where the resident memory sits at the end: JS heap, typed arrays (the KV cache), the rest is native (onnxruntime).
      const memory = process.memoryUsage();
      emit({
        bench: 'distill', suite: 'cost', policy, budget: s.budget, streamTokens: seen, depth: null, accuracy: null,
        tokensPerSecond: seen / seconds, peakRssBytes: peakRss, compressionShare, cacheBytes: s.cacheBytes,
        endHeapUsedBytes: memory.heapUsed, endArrayBuffersBytes: memory.arrayBuffers,
      });
    }
  }
  emit(costSummary(measured, o.policies[0]));
}

export const DEFAULT_COST_STREAMS = [10_000, 100_000, 1_000_000];

/** The full cache grows with the stream: past this many tokens it no longer fits the model's context anyway. */
export const FULL_CACHE_COST_LIMIT = 20_000;

export function costSummary(measured: readonly CostMeasurement[], policy: string): Record<string, unknown> {
  const mine = measured.filter((m) => m.policy === policy).sort((a, b) => a.streamTokens - b.streamTokens);
  const first = mine[0]?.peakRssBytes;
  const last = mine[mine.length - 1]?.peakRssBytes;
  return {
    bench: 'distill',
    suite: 'cost',
    summary: true,
    policy,
    rssGrowth10kTo1M: first && last && mine.length > 1 ? last / first - 1 : NaN,
    compressionShare: median(mine.map((m) => m.compressionShare)),
  };
}

const distillSuites: Readonly<Record<DistillSuite, (engine: Engine, options: DistillBenchOptions, emit: Emit) => Promise<void>>> = {
  niah: runNiah,
  lookup: runLookup,
  cost: runCost,
  fourier: () => {
    throw new Error('the fourier suite runs through runFourierSuite (bench/fourierSuite.ts)');
  },
};

export async function runDistillBench(engine: Engine, options: DistillBenchOptions, emit: Emit): Promise<void> {
  const run = registryEntry(distillSuites, options.suite);
  if (!run) throw new RangeError(`unknown distill suite "${String(options.suite)}"; choose one of ${registryNames(distillSuites).join(', ')}`);
  return run(engine, options, emit);
}
