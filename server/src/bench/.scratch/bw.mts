import { measureMemoryBandwidth } from '../bandwidth.ts';
const t0 = Date.now();
const r = await measureMemoryBandwidth();
console.log(Date.now() - t0, 'ms', (r.readBytesPerSecond / 1e9).toFixed(2), r.bestKernel, r.bestThreads);
for (const s of r.samples) console.log(s.kernel, s.threads, (s.bytesPerSecond / 1e9).toFixed(2), s.passes.map((p) => (p / 1e9).toFixed(1)).join(' '));
