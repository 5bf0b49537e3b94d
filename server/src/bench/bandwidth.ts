// Memory read bandwidth as Node sees it: the physical limit for decoding, which reads every weight (and the KV
// cache) once per token.
//
// Method. Each thread (a worker_thread, 1 and then 2 of them) owns its own buffer, much larger than the last-level
// cache (default 256 MiB per thread vs 32 MiB L3), filled with a non-zero byte so that every page is really backed
// (a zero-filled fresh allocation can map the shared zero page and read impossibly fast). A pass sweeps the buffer
// several times with one kernel:
//   memchr  Buffer.indexOf(byte that is absent): glibc's vectorized memchr, a pure streaming read.
//   sum     a JS loop over a Float64Array with 8 independent accumulators (what JIT-compiled scalar code reaches).
//   copy    TypedArray.set into a second buffer (memcpy): counted as read + write bytes, for reference only.
// All threads start a pass together; the rate is total bytes / (last end - first start). Each (kernel, threads)
// configuration runs `repeats` passes; its median is the sustained rate. The decode roofline uses the best
// sustained read rate (memchr or sum) over the thread counts: the most any kernel can pull from memory here.

import { median } from '../util/stats';
import { Worker } from 'node:worker_threads';

export type BandwidthKernel = 'memchr' | 'sum' | 'copy';

export interface BandwidthOptions {
  /** Buffer per thread (default 256 MiB). */
  bytesPerThread?: number;
  /** Sweeps of the buffer per timed pass (default 4). */
  sweepsPerPass?: number;
  /** Timed passes per configuration; the median is reported (default 5). */
  repeats?: number;
  threadCounts?: number[];
  kernels?: BandwidthKernel[];
}

export interface BandwidthSample {
  kernel: BandwidthKernel;
  threads: number;
  /** Median over passes, bytes/s (copy counts read + write). */
  bytesPerSecond: number;
  passes: number[];
}

export interface BandwidthResult {
  /** Best sustained read rate (bytes/s) over read kernels and thread counts: the roofline's denominator. */
  readBytesPerSecond: number;
  bestKernel: BandwidthKernel;
  bestThreads: number;
  samples: BandwidthSample[];
  method: string;
}

export const BANDWIDTH_METHOD =
  'best median-of-passes read rate over memchr (Buffer.indexOf of an absent byte) and an 8-accumulator Float64Array sum, ' +
  '1 and 2 worker threads, each sweeping its own LLC-exceeding non-zero buffer';

// Worker source, evaluated as a CommonJS script: works the same from tsx sources and from the esbuild bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const bytes = workerData.bytes;
const src = Buffer.alloc(bytes, 7);
const f64 = new Float64Array(src.buffer, src.byteOffset, bytes / 8);
let dst = null;
function sum(a) {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  const n = a.length;
  for (let i = 0; i < n; i += 8) {
    s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3];
    s4 += a[i + 4]; s5 += a[i + 5]; s6 += a[i + 6]; s7 += a[i + 7];
  }
  return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}
let sink = 0;
function sweep(kernel) {
  if (kernel === 'memchr') sink += src.indexOf(1);
  else if (kernel === 'sum') sink += sum(f64);
  else { if (!dst) dst = Buffer.alloc(bytes, 3); dst.set(src); sink += dst[bytes - 1]; }
}
// Warm the JIT and the pages once per kernel before any timed pass.
const warmed = new Set();
parentPort.on('message', (msg) => {
  if (msg.kind === 'warm') { if (!warmed.has(msg.kernel)) { sweep(msg.kernel); warmed.add(msg.kernel); } parentPort.postMessage({ kind: 'warm' }); return; }
  const start = performance.timeOrigin + performance.now();
  for (let s = 0; s < msg.sweeps; s++) sweep(msg.kernel);
  const end = performance.timeOrigin + performance.now();
  parentPort.postMessage({ kind: 'pass', start, end, sink });
});
parentPort.postMessage({ kind: 'ready' });
`;

interface PassReply {
  kind: 'pass' | 'warm' | 'ready';
  start?: number;
  end?: number;
}

function nextMessage(worker: Worker): Promise<PassReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: PassReply): void => {
      worker.off('error', onError);
      resolve(msg);
    };
    const onError = (err: Error): void => {
      worker.off('message', onMessage);
      reject(err);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}


async function measureConfiguration(threads: number, kernels: BandwidthKernel[], bytes: number, sweeps: number, repeats: number): Promise<BandwidthSample[]> {
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { bytes } }));
  try {
    await Promise.all(workers.map((w) => nextMessage(w)));
    const samples: BandwidthSample[] = [];
    for (const kernel of kernels) {
      await Promise.all(
        workers.map((w) => {
          const reply = nextMessage(w);
          w.postMessage({ kind: 'warm', kernel });
          return reply;
        }),
      );
      const passes: number[] = [];
      const bytesPerSweep = kernel === 'copy' ? 2 * bytes : bytes;
      for (let r = 0; r < repeats; r++) {
        const replies = await Promise.all(
          workers.map((w) => {
            const reply = nextMessage(w);
            w.postMessage({ kind: 'pass', kernel, sweeps });
            return reply;
          }),
        );
        const start = Math.min(...replies.map((p) => p.start ?? Infinity));
        const end = Math.max(...replies.map((p) => p.end ?? 0));
        passes.push((threads * sweeps * bytesPerSweep) / ((end - start) / 1000));
      }
      samples.push({ kernel, threads, bytesPerSecond: median(passes), passes });
    }
    return samples;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Measures memory bandwidth (a few seconds). See the file comment for the method. */
export async function measureMemoryBandwidth(options: BandwidthOptions = {}): Promise<BandwidthResult> {
  const bytes = Math.floor((options.bytesPerThread ?? 256 * 1024 * 1024) / 64) * 64;
  const sweeps = options.sweepsPerPass ?? 4;
  const repeats = options.repeats ?? 5;
  const kernels = options.kernels ?? ['memchr', 'sum', 'copy'];
  const samples: BandwidthSample[] = [];
  for (const threads of options.threadCounts ?? [1, 2]) {
    samples.push(...(await measureConfiguration(threads, kernels, bytes, sweeps, repeats)));
  }
  const reads = samples.filter((s) => s.kernel !== 'copy');
  if (reads.length === 0) throw new Error('measureMemoryBandwidth: no read kernel (memchr or sum) was measured');
  const best = reads.reduce((a, b) => (b.bytesPerSecond > a.bytesPerSecond ? b : a));
  return { readBytesPerSecond: best.bytesPerSecond, bestKernel: best.kernel, bestThreads: best.threads, samples, method: BANDWIDTH_METHOD };
}
