// `repopot bench engine`: our engine vs its physical limit vs llama.cpp, on random weights at a real model's shapes.
//
//   config.json ─► ModelConfig ─► random weights (seeded) ─┬─► ours:      child process, ONNX graph, onnxruntime
//                                                          └─► GGUF ───► llama.cpp: child process, node-llama-cpp
//   memory bandwidth (bandwidth.ts) ─► decode roofline = bandwidth / (weight bytes + KV bytes at that cache length)
//
// Protocol, identical for both engines and interleaved phase by phase (ours, theirs, theirs, ours, ...) so that
// machine noise hits both alike; only one engine computes at a time (the other waits on its IPC channel):
//   prefill   reset, one forward of `prefillChunk` random tokens; `prefillRepeats` times; median
//   extend    append random tokens in chunks of `prefillChunk` until the cache holds the next decode length
//   decode    `decodeRounds` rounds of (1 warm-up + decodeSteps/decodeRounds timed) single-token steps, each feeding
//             the previous greedy token; median step time over all rounds → tok/s
// Each engine runs in its own forked process: peak RSS is the kernel's high-water mark of that process.
// Peer 'repopot-fp16' is ours with the fp16 KV cache: with 'repopot' in the same run, both dtypes are measured
// interleaved under the same machine noise (summary: decodeFp16KvVsFp32ByCache); 'repopot-headT' likewise for the
// head-major past layout (summary: decodeHeadTVsTokenByCache, headTVsLlamaCppByCache).

import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WeightFormat } from '../graph/contract.js';
import type { ModelConfig } from '../model/config.js';
import { hfConfigToModelConfig } from '../model/hfConfig.js';
import { randomWeights, seededRandom, tinyConfig } from '../model/randomWeights.js';
import { measureMemoryBandwidth, type BandwidthOptions, type BandwidthResult } from './bandwidth.js';
import { repopotKvDtype, repopotPastLayout, type PeerName, type TargetInit, type TargetLoadInfo, type WorkerCommand, type WorkerReply } from './benchTarget.js';
import { ggmlTypeForWeightFormat, readGgufHeader, writeGgufModel } from './gguf.js';

export type { PeerName } from './benchTarget.js';

export interface EngineBenchOptions {
  /** A Hugging Face config.json (only shapes are used; weights are random). */
  configPath: string;
  quant: WeightFormat;
  /** Weight seed (both engines get the same weights). Default 1. */
  seed?: number;
  /** Compute threads for both engines. Default: online CPUs. */
  threads?: number;
  /** Prefill chunk (tokens per forward). Default 512. */
  prefillChunk?: number;
  /** Prefill repetitions from an empty cache (median). Default 3. */
  prefillRepeats?: number;
  /** Cache lengths at which decode is timed, ascending. Default [1024, 4096]. */
  cacheLengths?: number[];
  /** Timed decode steps per cache length per engine. Default 32. */
  decodeSteps?: number;
  /** Rounds the decode steps are split into, alternating engines (each adds one untimed warm-up step). Default 8. */
  decodeRounds?: number;
  /** Which engines to run. Default both. */
  peers?: PeerName[];
  /** GGUF files (kept, reused when present) and the temporary graph cache. Default <tmp>/repopot-bench. */
  workDir?: string;
  /** Bandwidth probe options, or false to skip the roofline. */
  bandwidth?: BandwidthOptions | false;
  /** Progress messages (stderr in the CLI). */
  log?: (message: string) => void;
}

/** One JSON line. Machine-wide lines carry no `peer`. */
export interface EngineBenchLine {
  bench: 'engine';
  metric: string;
  value: number | string | null;
  unit: string;
  quant: WeightFormat;
  peer?: PeerName;
  [extra: string]: unknown;
}

export interface PeerResult {
  peer: PeerName;
  load: TargetLoadInfo;
  prefillTokPerSec: number;
  /** Tokens/s while extending the cache to the longest decode length (attention cost included). */
  extendTokPerSec: number;
  decode: { cacheLength: number; meanLength: number; tokPerSec: number; stepMs: number[]; rooflineTokPerSec?: number; rooflineFraction?: number }[];
  maxRssBytes: number;
}

export interface EngineBenchSummary {
  model: string;
  quant: WeightFormat;
  bandwidth?: BandwidthResult;
  peers: PeerResult[];
  /** Ours at the first cache length (1k by default); undefined without a bandwidth probe or without ours. */
  decodeRooflineFraction?: number;
  /** Ours / llama.cpp decode tok/s at the first cache length; undefined unless both ran. */
  decodeVsLlamaCpp?: number;
  /** Ours / llama.cpp peak RSS (whole run); undefined unless both ran. */
  rssVsLlamaCpp?: number;
  /** Ours with the fp16 KV cache / ours with fp32, decode tok/s at the first cache length; undefined unless both ran. */
  decodeFp16KvVsFp32?: number;
  /** ONNX nodes in our decode graph. */
  graphNodes?: number;
}

const DEFAULTS = {
  seed: 1,
  prefillChunk: 512,
  prefillRepeats: 3,
  cacheLengths: [1024, 4096],
  decodeSteps: 32,
  decodeRounds: 8,
};

export { median } from '../util/stats';
import { median } from '../util/stats';

/** Decode roofline (tokens/s): every weight byte and every cached K/V byte read once per token. */
export function decodeRooflineTokPerSec(bandwidthBytesPerSec: number, weightBytesPerToken: number, kvBytesPerPosition: number, cacheLength: number): number {
  return bandwidthBytesPerSec / (weightBytesPerToken + kvBytesPerPosition * cacheLength);
}

export function readModelConfig(configPath: string): ModelConfig {
  return hfConfigToModelConfig(JSON.parse(fs.readFileSync(configPath, 'utf8')) as unknown, configPath);
}

/** Writes (or reuses) the GGUF of randomWeights(config, seed) in the GGUF type matching `quant`. */
export function ensureGguf(config: ModelConfig, quant: WeightFormat, seed: number, workDir: string, log?: (m: string) => void): string {
  const type = ggmlTypeForWeightFormat(quant);
  // The generator's output for a tiny model fingerprints randomWeights itself: a changed generator must not reuse
  // a GGUF whose weights our engine would no longer reproduce.
  const fingerprint = createHash('sha256');
  for (const w of randomWeights(tinyConfig(config.architecture), seed).values()) fingerprint.update(new Uint8Array(w.data.buffer));
  const key = createHash('sha256')
    .update(JSON.stringify({ config, seed, type, writer: 1, generator: fingerprint.digest('hex') }))
    .digest('hex')
    .slice(0, 16);
  const file = path.join(workDir, `random-${config.architecture}-${key}-${type}.gguf`);
  if (fs.existsSync(file)) {
    try {
      readGgufHeader(file);
      return file;
    } catch {
      // a truncated file from an interrupted run: rewrite it
    }
  }
  fs.mkdirSync(workDir, { recursive: true });
  const started = Date.now();
  const temp = `${file}.tmp-${process.pid}`;
  writeGgufModel(temp, config, randomWeights(config, seed), { type, contextLength: config.maxPositions });
  fs.renameSync(temp, file);
  log?.(`wrote ${path.basename(file)} (${(fs.statSync(file).size / 1e6).toFixed(0)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return file;
}

/** Where the worker entry lives: next to this file when running from sources (tsx), next to the bundle otherwise. */
function workerEntry(): { script: string; execArgv: string[] } {
  if (__filename.endsWith('.ts')) {
    const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'];
    return { script: path.join(__dirname, 'engineBenchWorker.ts'), execArgv };
  }
  const script = path.join(__dirname, 'engineBenchWorker.js');
  if (!fs.existsSync(script)) {
    throw new Error(`engine bench: ${script} is missing; the build must bundle server/src/bench/engineBenchWorker.ts to it`);
  }
  return { script, execArgv: [] };
}

/** One forked engine process with request/response over IPC. */
class WorkerHandle {
  private readonly child: ChildProcess;
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | undefined;
  private exited: Error | undefined;

  constructor(readonly peer: PeerName) {
    const { script, execArgv } = workerEntry();
    this.child = fork(script, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderrTail = '';
    this.child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    });
    this.child.on('message', (reply: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (reply.kind === 'error') p.reject(new Error(`${peer} worker: ${reply.message}`));
      else p.resolve(reply);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = new Error(`${peer} worker exited (code ${code}, signal ${signal})${stderrTail ? `: ${stderrTail.trim()}` : ''}`);
      this.pending?.reject(this.exited);
      this.pending = undefined;
    });
  }

  private request(command: WorkerCommand): Promise<WorkerReply> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send(command);
    });
  }

  async init(init: TargetInit): Promise<Extract<WorkerReply, { kind: 'ready' }>> {
    const reply = await this.request({ kind: 'init', init });
    if (reply.kind !== 'ready') throw new Error(`${this.peer} worker: unexpected reply ${reply.kind} to init`);
    return reply;
  }

  async run(command: Exclude<WorkerCommand, { kind: 'init' | 'exit' }>): Promise<Extract<WorkerReply, { kind: 'timings' }>> {
    const reply = await this.request(command);
    if (reply.kind !== 'timings') throw new Error(`${this.peer} worker: unexpected reply ${reply.kind} to ${command.kind}`);
    return reply;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ kind: 'exit' } satisfies WorkerCommand);
    const timer = setTimeout(() => this.child.kill(), 10_000);
    await done;
    clearTimeout(timer);
  }
}

function machineInfo(): { cpu: string; cores: number; ramBytes: number; loadAverage: number[] } {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, ramBytes: os.totalmem(), loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) };
}

/**
 * Runs the engine benchmark and streams JSON lines through `emit`; resolves with the summary (also emitted as the
 * last line, metric "summary").
 */
export async function runEngineBench(options: EngineBenchOptions, emit: (line: EngineBenchLine) => void): Promise<EngineBenchSummary> {
  const log = options.log ?? (() => {});
  const quant = options.quant;
  const seed = options.seed ?? DEFAULTS.seed;
  const chunk = options.prefillChunk ?? DEFAULTS.prefillChunk;
  const prefillRepeats = options.prefillRepeats ?? DEFAULTS.prefillRepeats;
  const cacheLengths = [...(options.cacheLengths ?? DEFAULTS.cacheLengths)].sort((a, b) => a - b);
  const decodeSteps = options.decodeSteps ?? DEFAULTS.decodeSteps;
  const decodeRounds = Math.max(1, Math.min(options.decodeRounds ?? DEFAULTS.decodeRounds, decodeSteps));
  const stepsPerRound = Math.ceil(decodeSteps / decodeRounds);
  const peers = options.peers ?? (['repopot', 'llama.cpp'] as PeerName[]);
  const threads = options.threads ?? os.availableParallelism();
  const workDir = options.workDir ?? path.join(os.tmpdir(), 'repopot-bench');
  const config = readModelConfig(options.configPath);
  const model = path.basename(options.configPath).replace(/\.json$/, '');
  const line = (metric: string, value: number | string | null, unit: string, extra: Record<string, unknown> = {}): void =>
    emit({ bench: 'engine', metric, value, unit, quant, ...extra });

  const machine = machineInfo();
  line('machine', machine.cpu, '', { model, cores: machine.cores, ramBytes: machine.ramBytes, node: process.version, threads, loadAverage: machine.loadAverage });

  const ggufPath = peers.includes('llama.cpp') ? ensureGguf(config, quant, seed, workDir, log) : undefined;

  // Bandwidth is probed at the start and again before each decode phase (other processes on a shared machine
  // come and go); the roofline uses the best sustained read rate seen, i.e. the most memory could deliver.
  let bandwidth: BandwidthResult | undefined;
  const probeBandwidth = async (phase: string, probeOptions: BandwidthOptions): Promise<void> => {
    if (options.bandwidth === false) return;
    log(`measuring memory bandwidth (${phase})`);
    const probe = await measureMemoryBandwidth({ ...probeOptions, ...(options.bandwidth ?? {}) });
    line('memory_bandwidth_probe', round(probe.readBytesPerSecond / 1e9, 2), 'GB/s', {
      phase,
      kernel: probe.bestKernel,
      threads: probe.bestThreads,
      loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
      samples: probe.samples.map((s) => ({ kernel: s.kernel, threads: s.threads, gbPerSec: round(s.bytesPerSecond / 1e9, 2) })),
    });
    if (!bandwidth || probe.readBytesPerSecond > bandwidth.readBytesPerSecond) bandwidth = probe;
  };
  await probeBandwidth('start', {});

  // Random token stream shared by both engines (ids avoid the fake GGUF vocab's special/byte tokens).
  const longest = cacheLengths[cacheLengths.length - 1] ?? chunk;
  const random = seededRandom(seed + 1000);
  const tokens = Array.from({ length: Math.max(longest, chunk) }, () => 259 + Math.floor(random() * (config.vocabSize - 259)));
  const contextSize = Math.ceil((Math.max(longest, chunk) + cacheLengths.length * (decodeSteps + 2 * decodeRounds) + 64) / 256) * 256;
  const graphDir = fs.mkdtempSync(path.join(workDir, 'graphs-'));

  const workers: WorkerHandle[] = [];
  const results = new Map<PeerName, PeerResult>();
  try {
    // Load one at a time so neither load competes with the other.
    for (const peer of peers) {
      log(`loading ${peer}`);
      const worker = new WorkerHandle(peer);
      workers.push(worker);
      const init: TargetInit = { peer, config, quant, seed, threads, ggufPath, contextSize, cacheDir: graphDir };
      const ready = await worker.init(init);
      results.set(peer, { peer, load: ready.info, prefillTokPerSec: NaN, extendTokPerSec: NaN, decode: [], maxRssBytes: ready.maxRssBytes });
      line('load_ms', round(ready.info.loadMs, 0), 'ms', { peer, ...(peer === 'llama.cpp' ? {} : { kvDtype: repopotKvDtype(peer), pastLayout: repopotPastLayout(peer) ?? 'default' }), versions: ready.info.versions, notes: ready.info.notes });
      if (ready.info.graphBuildMs !== undefined) line('graph_build_ms', ready.info.graphBuildMs, 'ms', { peer });
      if (ready.info.graphNodes !== undefined) line('graph_nodes', ready.info.graphNodes, 'nodes', { peer });
      line('peak_rss_load_bytes', ready.maxRssBytes, 'bytes', { peer, mb: Math.round(ready.maxRssBytes / 2 ** 20) });
      line('weight_bytes_per_token', ready.info.weightBytesPerToken, 'bytes', { peer });
    }
    // Alternate which engine goes first, round by round.
    const ordered = (round: number): WorkerHandle[] => (round % 2 === 0 ? workers : [...workers].reverse());
    const record = (peer: PeerName): PeerResult => results.get(peer)!;

    log('prefill');
    const prefillMs = new Map<PeerName, number[]>(peers.map((p) => [p, []]));
    for (let r = 0; r < prefillRepeats; r++) {
      for (const w of ordered(r)) {
        const reply = await w.run({ kind: 'prefill', tokens: tokens.slice(0, chunk) });
        prefillMs.get(w.peer)!.push(...reply.ms);
        record(w.peer).maxRssBytes = reply.maxRssBytes;
      }
    }
    for (const peer of peers) {
      const ms = prefillMs.get(peer)!;
      record(peer).prefillTokPerSec = (chunk * 1000) / median(ms);
      line('prefill_tok_s', round(record(peer).prefillTokPerSec, 1), 'tok/s', { peer, chunk, samples: ms.map((m) => round(m, 1)) });
    }

    const lastToken = new Map<PeerName, number>(peers.map((p) => [p, tokens[0]]));
    const extendTokens = new Map<PeerName, { tokens: number; ms: number }>(peers.map((p) => [p, { tokens: 0, ms: 0 }]));
    let filled = chunk; // every engine's cache holds tokens[0..chunk) after the prefill phase
    let roundCounter = 0;
    for (const cacheLength of cacheLengths) {
      log(`extend to ${cacheLength}`);
      for (const w of workers) {
        const current = (await w.run({ kind: 'extend', tokens: [], chunk })).contextLength;
        const need = cacheLength - current;
        if (need <= 0) continue;
        const slice = tokens.slice(filled, filled + need);
        const reply = await w.run({ kind: 'extend', tokens: slice, chunk });
        const sum = reply.ms.reduce((a, b) => a + b, 0);
        const totals = extendTokens.get(w.peer)!;
        totals.tokens += slice.length;
        totals.ms += sum;
        lastToken.set(w.peer, reply.lastToken);
      }
      filled = Math.max(filled, cacheLength);
      await probeBandwidth(`before decode at ${cacheLength}`, { repeats: 3, sweepsPerPass: 2, kernels: ['memchr', 'sum'] });
      log(`decode at ${cacheLength}`);
      const stepMs = new Map<PeerName, number[]>(peers.map((p) => [p, []]));
      const startLength = new Map<PeerName, number>();
      for (let r = 0; r < decodeRounds; r++, roundCounter++) {
        for (const w of ordered(roundCounter)) {
          const steps = Math.min(stepsPerRound, decodeSteps - r * stepsPerRound);
          if (steps <= 0) continue;
          const reply = await w.run({ kind: 'decode', steps, warmup: 1, firstToken: lastToken.get(w.peer)! });
          if (!startLength.has(w.peer)) startLength.set(w.peer, reply.contextLength - steps - 1);
          stepMs.get(w.peer)!.push(...reply.ms);
          lastToken.set(w.peer, reply.lastToken);
          record(w.peer).maxRssBytes = reply.maxRssBytes;
          if (r === decodeRounds - 1) line('rss_bytes', reply.rssBytes, 'bytes', { peer: w.peer, cache: reply.contextLength });
        }
      }
      for (const peer of peers) {
        const ms = stepMs.get(peer)!;
        const tokPerSec = 1000 / median(ms);
        // The roofline is evaluated at the mean cache length over the timed steps.
        const meanLength = (startLength.get(peer) ?? cacheLength) + (decodeSteps + decodeRounds) / 2;
        record(peer).decode.push({ cacheLength, tokPerSec, stepMs: ms, meanLength });
        line('decode_tok_s', round(tokPerSec, 2), 'tok/s', { peer, cache: cacheLength, steps: ms.length, medianStepMs: round(median(ms), 2) });
      }
    }
    if (bandwidth) {
      const best = bandwidth;
      line('memory_bandwidth', round(best.readBytesPerSecond / 1e9, 2), 'GB/s', { kernel: best.bestKernel, threads: best.bestThreads, method: best.method });
      for (const peer of peers) {
        const result = record(peer);
        for (const entry of result.decode) {
          const bytesPerToken = result.load.weightBytesPerToken + result.load.kvBytesPerPosition * entry.meanLength;
          entry.rooflineTokPerSec = decodeRooflineTokPerSec(best.readBytesPerSecond, result.load.weightBytesPerToken, result.load.kvBytesPerPosition, entry.meanLength);
          entry.rooflineFraction = entry.tokPerSec / entry.rooflineTokPerSec;
          line('decode_roofline_tok_s', round(entry.rooflineTokPerSec, 2), 'tok/s', { peer, cache: entry.cacheLength, bytesPerToken: Math.round(bytesPerToken) });
          line('decode_roofline_fraction', round(entry.rooflineFraction, 3), 'fraction', { peer, cache: entry.cacheLength });
        }
      }
    }
    for (const peer of peers) {
      const totals = extendTokens.get(peer)!;
      const result = record(peer);
      if (totals.tokens > 0) {
        result.extendTokPerSec = (totals.tokens * 1000) / totals.ms;
        line('prefill_tok_s_long', round(result.extendTokPerSec, 1), 'tok/s', { peer, chunk, fromCache: chunk, toCache: longest });
      }
      line('peak_rss_bytes', result.maxRssBytes, 'bytes', { peer, mb: Math.round(result.maxRssBytes / 2 ** 20) });
    }
  } finally {
    await Promise.all(workers.map((w) => w.close().catch(() => undefined)));
    fs.rmSync(graphDir, { recursive: true, force: true });
  }

  const ours = results.get('repopot');
  const theirs = results.get('llama.cpp');
  const summary: EngineBenchSummary = { model, quant, bandwidth, peers: [...results.values()] };
  summary.decodeRooflineFraction = ours?.decode[0]?.rooflineFraction;
  if (ours && theirs) summary.decodeVsLlamaCpp = ours.decode[0].tokPerSec / theirs.decode[0].tokPerSec;
  if (ours && theirs) summary.rssVsLlamaCpp = ours.maxRssBytes / theirs.maxRssBytes;
  const oursFp16 = results.get('repopot-fp16');
  const oursHeadT = results.get('repopot-headT');
  if (ours && oursFp16) summary.decodeFp16KvVsFp32 = oursFp16.decode[0].tokPerSec / ours.decode[0].tokPerSec;
  summary.graphNodes = (ours ?? oursFp16 ?? oursHeadT)?.load.graphNodes;
  const byLength = (r: PeerResult | undefined): Record<string, number> =>
    Object.fromEntries((r?.decode ?? []).map((d) => [String(d.cacheLength), round(d.tokPerSec, 2)]));
  emit({
    bench: 'engine',
    metric: 'summary',
    value: summary.decodeRooflineFraction === undefined ? null : round(summary.decodeRooflineFraction, 3),
    unit: 'fraction',
    quant,
    model,
    cache: cacheLengths[0],
    decodeRooflineFraction: summary.decodeRooflineFraction === undefined ? null : round(summary.decodeRooflineFraction, 3),
    decodeRooflineFractionByCache: Object.fromEntries((ours?.decode ?? []).map((d) => [String(d.cacheLength), d.rooflineFraction === undefined ? null : round(d.rooflineFraction, 3)])),
    decodeVsLlamaCpp: summary.decodeVsLlamaCpp === undefined ? null : round(summary.decodeVsLlamaCpp, 3),
    decodeVsLlamaCppByCache:
      ours && theirs ? Object.fromEntries(ours.decode.map((d, i) => [String(d.cacheLength), round(d.tokPerSec / theirs.decode[i].tokPerSec, 3)])) : null,
    prefillVsLlamaCpp: ours && theirs ? round(ours.prefillTokPerSec / theirs.prefillTokPerSec, 3) : null,
    rssVsLlamaCpp: summary.rssVsLlamaCpp === undefined ? null : round(summary.rssVsLlamaCpp, 3),
    decodeHeadTVsTokenByCache: ours && oursHeadT ? Object.fromEntries(ours.decode.map((d, i) => [String(d.cacheLength), round(oursHeadT.decode[i].tokPerSec / d.tokPerSec, 3)])) : null,
    headTVsLlamaCppByCache: oursHeadT && theirs ? Object.fromEntries(oursHeadT.decode.map((d, i) => [String(d.cacheLength), round(d.tokPerSec / theirs.decode[i].tokPerSec, 3)])) : null,
    headTPrefillVsLlamaCpp: oursHeadT && theirs ? round(oursHeadT.prefillTokPerSec / theirs.prefillTokPerSec, 3) : null,
    decodeFp16KvVsFp32ByCache: ours && oursFp16 ? Object.fromEntries(ours.decode.map((d, i) => [String(d.cacheLength), round(oursFp16.decode[i].tokPerSec / d.tokPerSec, 3)])) : null,
    peakRssMB: Object.fromEntries([...results.values()].map((r) => [r.peer, Math.round(r.maxRssBytes / 2 ** 20)])),
    graphNodes: summary.graphNodes ?? null,
    decodeTokPerSec: Object.fromEntries(peers.map((p) => [p, byLength(results.get(p))])),
    memoryBandwidthGBps: bandwidth ? round(bandwidth.readBytesPerSecond / 1e9, 2) : null,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  });
  return summary;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
