// The one door to onnxruntime-node: no other module imports it or sees its types. Maps RepoPot's device names to
// execution providers, opens sessions with CPU-friendly options, and converts tensors to plain HostTensors.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';

import { DEVICES, type Device } from '../vocab';

export { DEVICES, type Device };
export type ResolvedDevice = Exclude<Device, 'auto'>;

/**
 * A tensor in host memory: float32 activations, int64 ids/positions, int32 for runtimes that prefer it.
 * Uint16Array always means fp16 bit patterns (RepoPot has no uint16 tensors); only foreign fp16 models use it.
 */
export interface HostTensor {
  dims: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint16Array;
}

export interface RuntimeSession {
  readonly device: ResolvedDevice;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the model; `fetch` limits which outputs are computed and returned (default: all). */
  run(feeds: Record<string, HostTensor>, fetch?: string[]): Promise<Record<string, HostTensor>>;
  dispose(): Promise<void>;
}

export interface OpenSessionOptions {
  device: Device;
  log?: (message: string) => void;
  /** Intra-op threads; default: physical cores (see physicalCoreCount). */
  threads?: number;
}

/** 'auto' prefers the fastest provider that this onnxruntime-node build can load, then falls back. */
const AUTO_ORDER: readonly ResolvedDevice[] = ['cuda', 'webgpu', 'cpu'];

export function isDevice(value: string): value is Device {
  return (DEVICES as readonly string[]).includes(value);
}

/** Which providers this onnxruntime-node install has binaries for (cuda/tensorrt ship separately). */
export function availableDevices(): ResolvedDevice[] {
  const bundled = new Set(ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name));
  return (['cpu', 'webgpu', 'cuda'] as const).filter((d) => d === 'cpu' || bundled.has(d));
}

/**
 * Physical cores: os.cpus() counts hyper-threads, which only slow GEMV-bound decoding down. Linux exposes
 * core ids in /proc/cpuinfo; elsewhere assume two threads per core when there are more than two logical CPUs.
 */
export function physicalCoreCount(): number {
  const logical = Math.max(1, os.availableParallelism());
  try {
    const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    let physicalId = '0';
    for (const line of text.split('\n')) {
      const [key, value] = line.split(':').map((s) => s.trim());
      if (key === 'physical id') physicalId = value;
      else if (key === 'core id') cores.add(`${physicalId}/${value}`);
    }
    if (cores.size > 0) return Math.min(cores.size, logical);
  } catch {
    // not Linux: fall through
  }
  return logical > 2 ? Math.ceil(logical / 2) : logical;
}

function sessionOptions(device: ResolvedDevice, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true,
    // A developer's look at where a run's time goes: onnxruntime's per-node JSON profile under this path prefix.
    ...(process.env.REPOPOT_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.REPOPOT_ORT_PROFILE } : {}),
  };
}

function toOrtTensor(name: string, t: HostTensor): ort.Tensor {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) {
    throw new Error(`run: feed ${name} has ${t.data.length} values but dims [${t.dims.join(', ')}] need ${count}`);
  }
  // onnxruntime-node wraps the typed array's memory as is (subarray views included): no copy.
  if (t.data instanceof Float32Array) return new ort.Tensor('float32', t.data, t.dims);
  if (t.data instanceof BigInt64Array) return new ort.Tensor('int64', t.data, t.dims);
  if (t.data instanceof Uint16Array) return new ort.Tensor('float16', t.data, t.dims);
  return new ort.Tensor('int32', t.data, t.dims);
}

function toHostTensor(name: string, value: ort.OnnxValue): HostTensor {
  const t = value as ort.Tensor;
  const dims = [...t.dims];
  switch (t.type) {
    case 'float32':
      return { dims, data: t.data as Float32Array };
    case 'int64':
      return { dims, data: t.data as BigInt64Array };
    case 'int32':
      return { dims, data: t.data as Int32Array };
    case 'float16':
      return { dims, data: t.data as Uint16Array };
    default:
      throw new Error(`run: output ${name} has type ${t.type}; expected float32, int64, int32 or float16`);
  }
}

class OrtRuntimeSession implements RuntimeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  constructor(
    private readonly session: ort.InferenceSession,
    readonly device: ResolvedDevice,
  ) {
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
  }

  async run(feeds: Record<string, HostTensor>, fetch?: string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(name, tensor);
    const results = fetch ? await this.session.run(ortFeeds, fetch) : await this.session.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const [name, value] of Object.entries(results)) out[name] = toHostTensor(name, value);
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

async function createSession(
  model: string | Uint8Array,
  device: ResolvedDevice,
  threads: number,
): Promise<OrtRuntimeSession> {
  const options = sessionOptions(device, threads);
  const session =
    typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  return new OrtRuntimeSession(session, device);
}

/**
 * Opens a model (a path, so side files like model.onnx.data resolve next to it, or serialized bytes without
 * external data). 'auto' tries AUTO_ORDER and reports every fallback through `log`; an explicit device that
 * cannot load is an error.
 */
export async function openSession(model: string | Uint8Array, options: OpenSessionOptions): Promise<RuntimeSession> {
  const { device, log } = options;
  if (!isDevice(device)) {
    throw new Error(`openSession: unknown device '${String(device)}'; valid devices: ${DEVICES.join(', ')}`);
  }
  const threads = options.threads ?? physicalCoreCount();
  const what = typeof model === 'string' ? model : `<${model.byteLength}-byte model>`;
  if (device !== 'auto') {
    if (!availableDevices().includes(device)) {
      throw new Error(`openSession: device '${device}' is not available in this onnxruntime-node install (available: ${availableDevices().join(', ')})`);
    }
    try {
      return await createSession(model, device, threads);
    } catch (err) {
      throw new Error(`openSession: could not open ${what} on ${device}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const available = availableDevices();
  const reasons: string[] = [];
  for (const candidate of AUTO_ORDER) {
    if (!available.includes(candidate)) {
      reasons.push(`${candidate}: not installed`);
      continue;
    }
    try {
      const session = await createSession(model, candidate, threads);
      if (candidate === 'cpu' && reasons.length) log?.(`device auto: using cpu (${reasons.join('; ')})`);
      else log?.(`device auto: using ${candidate}`);
      return session;
    } catch (err) {
      reasons.push(`${candidate}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new Error(`openSession: could not open ${what} on any device (${reasons.join('; ')})`);
}
