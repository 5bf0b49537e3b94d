// The tier's reconstruction as one matrix product in onnxruntime: X[T, D] = Φ[T, m] · C[m, D], where Φ is
// the first T rows of the basis table and C stacks every layer's key and value coefficients (D = all
// approximated dims). One run replaces T·D dot products in JavaScript; MLAS's SGEMM is 10-40× faster on
// the same cores from 0.3 M multiply-adds (a 32-slot projection on the random llama shape) up, and a call
// costs ~0.05 ms, so JavaScript would only win below ~0.01 M (test-sized tiers): there is no small-size path.
// A one-node graph, built once per process and shared by every tier cache.

import { OnnxGraph } from '../graph/onnxProto';
import { openSession, type RuntimeSession } from '../runtime/ort';

let session: Promise<RuntimeSession> | undefined;

function gemmSession(): Promise<RuntimeSession> {
  if (!session) {
    const g = new OnnxGraph('repopot_fourier_reconstruct');
    g.input('phi', 'float32', ['t', 'm']);
    g.input('coef', 'float32', ['m', 'd']);
    g.node('MatMul', 'reconstruct', ['phi', 'coef'], {}, 'x');
    g.output('x', 'float32', ['t', 'd']);
    session = openSession(g.serialize().model, { device: 'cpu' });
    session.catch(() => {
      session = undefined;
    });
  }
  return session;
}

/** Φ[rows, m] · C[m, d] → [rows, d]. */
export async function gemm(phi: Float32Array, rows: number, m: number, coef: Float32Array, d: number): Promise<Float32Array> {
  const s = await gemmSession();
  const out = await s.run({ phi: { dims: [rows, m], data: phi }, coef: { dims: [m, d], data: coef } });
  const x = out.x;
  if (!x || !(x.data instanceof Float32Array)) throw new Error('fourier reconstruct: MatMul returned no float32 output');
  return x.data;
}
