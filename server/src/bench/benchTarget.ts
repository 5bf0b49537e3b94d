// What the engine benchmark needs of an inference engine, so ours and llama.cpp run the exact same protocol.
// Each target lives in its own child process (engineBenchWorker.ts), so its peak RSS is its own.

import type { WeightFormat } from '../graph/contract';
import type { ModelConfig } from '../model/config';
import type { PastLayoutChoice } from '../engine/engine';
import type { KvDtype } from '../vocab';

/**
 * 'repopot-fp16': our engine with the fp16 KV cache (kvDtype); 'repopot-headT': our engine reading a head-major past
 * in place (pastLayout 'headT'). Each runs side by side with 'repopot' in one bench.
 */
export type PeerName = 'repopot' | 'repopot-fp16' | 'repopot-headT' | 'llama.cpp';

/** The KV dtype our engine runs with as `peer` (llama.cpp picks its own: fp16 by default). */
export function repopotKvDtype(peer: PeerName): KvDtype {
  return peer === 'repopot-fp16' ? 'fp16' : 'fp32';
}

/** The standard graph's past layout our engine runs with as `peer` ('repopot': the engine's default). */
export function repopotPastLayout(peer: PeerName): PastLayoutChoice | undefined {
  return peer === 'repopot-headT' ? 'headT' : undefined;
}

export interface TargetLoadInfo {
  /** Wall time from nothing to ready-to-decode (includes graph build for ours). */
  loadMs: number;
  /** Ours: ONNX graph build time (fresh cache folder, so always built). */
  graphBuildMs?: number;
  /** Ours: ONNX nodes in the decode graph, as emitted (before onnxruntime's fusions). */
  graphNodes?: number;
  /** Bytes of weights a decode step must read (each matrix once; one embedding row is negligible). */
  weightBytesPerToken: number;
  /** KV cache bytes read per cached position per decode step (all layers, K and V). */
  kvBytesPerPosition: number;
  /** Runtime versions for the machine line. */
  versions: Record<string, string>;
  notes: string[];
}

export interface BenchTarget {
  readonly peer: PeerName;
  load(): Promise<TargetLoadInfo>;
  /** Forgets all context. */
  reset(): Promise<void>;
  /** Appends `tokens` in one forward pass and returns the greedy next token (last-row logits only). */
  evaluate(tokens: readonly number[]): Promise<number>;
  /** Tokens currently in the context. */
  readonly contextLength: number;
  dispose(): Promise<void>;
}

/** Sent by the harness to a worker once, before any command. */
export interface TargetInit {
  peer: PeerName;
  config: ModelConfig;
  quant: WeightFormat;
  seed: number;
  threads: number;
  /** llama.cpp: the GGUF holding the same random weights. */
  ggufPath?: string;
  /** llama.cpp: context size to allocate (largest fill + decode steps). */
  contextSize: number;
  /** Ours: graph cache folder (fresh per run so the build is timed). */
  cacheDir: string;
}

export type WorkerCommand =
  | { kind: 'init'; init: TargetInit }
  /** reset, then one forward over `tokens`; returns its time. */
  | { kind: 'prefill'; tokens: number[] }
  /** append `tokens` in chunks of `chunk`; returns each chunk's time. */
  | { kind: 'extend'; tokens: number[]; chunk: number }
  /** `warmup` untimed then `steps` timed single-token steps, each feeding the previous greedy token. */
  | { kind: 'decode'; steps: number; warmup: number; firstToken: number }
  | { kind: 'exit' };

export interface WorkerStats {
  /** Kernel high-water mark of this process's resident set (getrusage maxrss). */
  maxRssBytes: number;
  rssBytes: number;
  contextLength: number;
}

export type WorkerReply =
  | ({ kind: 'ready'; info: TargetLoadInfo } & WorkerStats)
  | ({ kind: 'timings'; ms: number[]; lastToken: number } & WorkerStats)
  | { kind: 'error'; message: string };

/** Bytes per weight of a [out, in] matrix in each of our formats (MatMulNBits: packed nibbles/bytes + fp32 scale per 32). */
export function repopotMatrixBytes(out: number, inFeatures: number, format: WeightFormat): number {
  const blocks = Math.ceil(inFeatures / 32);
  switch (format) {
    case 'int4':
      return out * blocks * (16 + 4);
    case 'int8':
      return out * blocks * (32 + 4);
    case 'fp16':
      return out * inFeatures * 2;
    case 'fp32':
      return out * inFeatures * 4;
  }
}
