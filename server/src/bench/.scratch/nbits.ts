// Micro-benchmark: one MatMulNBits (M=1) per format/accuracy level vs fp32 MatMul, same [N,K].
import { OnnxGraph, MS_DOMAIN } from '../../graph/onnxProto';
import { quantizeBlocks, transpose2d } from '../../graph/quantize';
import { openSession } from '../../runtime/ort';
import { performance } from 'node:perf_hooks';
async function main(): Promise<void> {
  const [N, K] = [Number(process.argv[2] ?? 4864), Number(process.argv[3] ?? 896)];
  const w = Float32Array.from({ length: N * K }, () => Math.random() - 0.5);
  const x = Float32Array.from({ length: K }, () => Math.random());
  const variants: [string, number, number][] = [['fp32', 0, 0], ['int4', 4, 0], ['int4', 4, 4], ['int8', 8, 0], ['int8', 8, 4], ['int4', 4, 1], ['int8', 8, 1]];
  for (const [name, bits, level] of variants) {
    const g = new OnnxGraph('t');
    const xi = g.input('x', 'float32', [1, K]);
    let y: string;
    if (bits === 0) {
      const wi = g.initializer('w', 'float32', [K, N], transpose2d(w, N, K));
      y = g.node('MatMul', 'mm', [xi, wi]);
    } else {
      const q = quantizeBlocks(w, N, K, bits as 4 | 8);
      const b = g.initializer('b', 'uint8', [N, q.blocksPerRow, q.blobSize], q.packed);
      const s = g.initializer('s', 'float32', [N * q.blocksPerRow], q.scales);
      y = g.node('MatMulNBits', 'mm', [xi, b, s], { domain: MS_DOMAIN, attrs: { K: { int: K }, N: { int: N }, bits: { int: bits }, block_size: { int: 32 }, accuracy_level: { int: level } } });
    }
    g.node('Identity', 'id', [y], {}, 'y');
    g.output('y', 'float32', [1, N]);
    const ser = g.serialize();
    const session = await openSession(ser.model, { device: 'cpu' });
    const feeds = { x: { dims: [1, K], data: x } };
    for (let i = 0; i < 5; i++) await session.run(feeds);
    const ms: number[] = [];
    for (let i = 0; i < 30; i++) { const t = performance.now(); await session.run(feeds); ms.push(performance.now() - t); }
    ms.sort((a, b) => a - b);
    const bytes = bits === 0 ? N * K * 4 : (N * K * bits) / 8 + (N * K / 32) * 4;
    console.log(`${name} acc${level}: median ${ms[15].toFixed(3)} ms  min ${ms[0].toFixed(3)} ms  → ${(bytes / ms[0] / 1e6).toFixed(1)} GB/s at min`);
    await session.dispose();
  }
}
main();
