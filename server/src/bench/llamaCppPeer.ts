// llama.cpp (through node-llama-cpp, prebuilt CPU binary) as the benchmark peer, on a GGUF holding the very same
// random weights. Never builds or downloads: getLlama({ gpu: false, build: 'never', skipDownload: true }) uses the
// prebuilt @node-llama-cpp/linux-x64 binary or fails.
//
// Protocol = ours: evaluate() appends tokens in one batch (batchSize = chunk) and asks for the next token of the
// last one only, so both engines compute last-row logits and nothing else.

import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readGgufHeader, GgmlType } from './gguf';
import type { BenchTarget, TargetInit, TargetLoadInfo } from './benchTarget';

type NodeLlamaCpp = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;
type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type LlamaContext = Awaited<ReturnType<LlamaModel['createContext']>>;
type LlamaContextSequence = ReturnType<LlamaContext['getSequence']>;
type Token = Parameters<LlamaContextSequence['controlledEvaluate']>[0][number] extends infer Item
  ? Item extends readonly [infer T, unknown]
    ? T
    : Item
  : never;

/** node-llama-cpp's branded token id type. */
export type LlamaToken = Token;

/** Bytes per element of ggml types we may meet in GGUF tensors or KV caches. */
function ggmlElementBytes(type: number): number {
  switch (type) {
    case GgmlType.F32:
      return 4;
    case GgmlType.F16:
      return 2;
    case GgmlType.Q8_0:
      return 34 / 32;
    case GgmlType.Q4_0:
      return 18 / 32;
    case 30: // BF16
      return 2;
    default:
      return 2;
  }
}

function ggmlTypeName(type: number): string {
  const names: Record<number, string> = { 0: 'F32', 1: 'F16', 2: 'Q4_0', 8: 'Q8_0', 30: 'BF16' };
  return names[type] ?? `ggml type ${type}`;
}

/** Weight bytes llama.cpp reads per decode step: every tensor once, except token_embd when output.weight exists. */
export function ggufWeightBytesPerToken(ggufPath: string): number {
  const header = readGgufHeader(ggufPath);
  const hasOutput = header.tensors.some((t) => t.name === 'output.weight');
  let bytes = 0;
  for (const t of header.tensors) {
    if (t.name === 'token_embd.weight' && hasOutput) continue; // only one row is gathered
    bytes += t.dims.reduce((a, b) => a * b, 1) * ggmlElementBytes(t.type);
  }
  return bytes;
}

function nodeLlamaCppVersion(): string {
  try {
    // Its exports map hides package.json; the entry point is <root>/dist/index.js.
    const file = path.join(path.dirname(require.resolve('node-llama-cpp')), '..', 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Loads node-llama-cpp's CPU backend without building or downloading anything. */
export async function loadLlamaCpp(threads: number): Promise<Llama> {
  // node-llama-cpp is ESM-only; a dynamic import works from our CommonJS build and from tsx.
  const lib: NodeLlamaCpp = await import('node-llama-cpp');
  return lib.getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: lib.LlamaLogLevel.error,
    maxThreads: threads,
  });
}

export class LlamaCppPeer implements BenchTarget {
  readonly peer = 'llama.cpp' as const;
  private llama: Llama | undefined;
  private model: LlamaModel | undefined;
  private context: LlamaContext | undefined;
  private sequence: LlamaContextSequence | undefined;

  constructor(private readonly init: TargetInit) {}

  async load(): Promise<TargetLoadInfo> {
    const { ggufPath, threads, contextSize, config } = this.init;
    if (!ggufPath) throw new Error('LlamaCppPeer: no GGUF path');
    const started = performance.now();
    this.llama = await loadLlamaCpp(threads);
    this.model = await this.llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
    this.context = await this.model.createContext({
      contextSize,
      batchSize: 512,
      threads: { ideal: threads, min: threads },
      sequences: 1,
    });
    this.sequence = this.context.getSequence();
    const loadMs = performance.now() - started;
    const kvElementBytes = (ggmlElementBytes(this.context.kvCacheKeyType) + ggmlElementBytes(this.context.kvCacheValueType)) / 2;
    const release = this.llama.llamaCppRelease;
    return {
      loadMs,
      weightBytesPerToken: ggufWeightBytesPerToken(ggufPath),
      kvBytesPerPosition: config.numLayers * 2 * config.numKvHeads * config.headDim * kvElementBytes,
      versions: {
        'llama.cpp': `${release.repo}@${release.release}`,
        'node-llama-cpp': nodeLlamaCppVersion(),
        'llama.cpp binary': this.llama.buildType,
      },
      notes: [
        `llama.cpp KV cache K ${ggmlTypeName(this.context.kvCacheKeyType)} / V ${ggmlTypeName(this.context.kvCacheValueType)}, flash attention ${String(this.context.flashAttention)}, batch ${this.context.batchSize}, threads ${this.context.currentThreads}`,
      ],
    };
  }

  get contextLength(): number {
    return this.sequence?.nextTokenIndex ?? 0;
  }

  async reset(): Promise<void> {
    await this.requireSequence().clearHistory();
  }

  async evaluate(tokens: readonly number[]): Promise<number> {
    const sequence = this.requireSequence();
    const items: Parameters<LlamaContextSequence['controlledEvaluate']>[0] = tokens.map((t) => t as Token);
    const last = tokens.length - 1;
    items[last] = [tokens[last] as Token, { generateNext: { token: true } }];
    const results = await sequence.controlledEvaluate(items);
    const next = results[last]?.next.token;
    if (next === undefined || next === null) throw new Error('llama.cpp returned no next token');
    return next;
  }

  async dispose(): Promise<void> {
    await this.context?.dispose();
    await this.model?.dispose();
    await this.llama?.dispose();
    this.sequence = undefined;
    this.context = undefined;
    this.model = undefined;
    this.llama = undefined;
  }

  private requireSequence(): LlamaContextSequence {
    if (!this.sequence) throw new Error('LlamaCppPeer: not loaded');
    return this.sequence;
  }
}
