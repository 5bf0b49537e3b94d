// Rotary position embedding computed in-graph from position_ids (Hugging Face rotate-half convention).
// The cos/sin tables are built once per graph and shared by every layer:
//
//   position_ids ─Cast─Unsqueeze(2)─Mul(inv_freq)→ freqs [1,q,hd/2]
//     cos = Cos(Concat(freqs, freqs))                    → Unsqueeze(2) → [1, q, 1, hd]
//     sinSigned = Concat(-Sin(freqs), Sin(freqs))        → Unsqueeze(2) → [1, q, 1, hd]
//
// rotate_half(x) * sin == Concat(x2, x1) * sinSigned, so applying it needs one Split and one Concat:
//   x ─┬────────────────────Mul(cos)──┐
//      └─Split─Concat(x2,x1)─Mul(sinS)─Add→

import { MS_DOMAIN, type OnnxGraph } from './onnxProto.js';

export interface RopeTables {
  cos: string;
  sinSigned: string;
  headDim: number;
}

/** inv_freq[i] = theta^(-2i/headDim) in fp32, shared with the reference forward so both round alike. */
export function ropeInverseFrequencies(headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  return invFreq;
}

export function makeRopeTables(g: OnnxGraph, positionIds: string, headDim: number, theta: number): RopeTables {
  if (headDim % 2 !== 0) throw new Error(`RoPE: headDim must be even, got ${headDim}`);
  const name = '/model/rotary_emb';
  const positions = g.node('Cast', `${name}/Cast`, [positionIds], { attrs: { to: { int: 1 } } });
  const column = g.node('Unsqueeze', `${name}/Unsqueeze`, [positions, g.constInt64([2])]);
  const freqs = g.node('Mul', `${name}/Mul`, [column, g.constFloat(ropeInverseFrequencies(headDim, theta))]);
  const angles = g.node('Concat', `${name}/Concat_angles`, [freqs, freqs], { attrs: { axis: { int: -1 } } });
  const cos = g.node('Cos', `${name}/Cos`, [angles]);
  const sinHalf = g.node('Sin', `${name}/Sin`, [freqs]);
  const negSinHalf = g.node('Neg', `${name}/Neg`, [sinHalf]);
  const sinSigned = g.node('Concat', `${name}/Concat_sin`, [negSinHalf, sinHalf], { attrs: { axis: { int: -1 } } });
  const headAxis = g.constInt64([2]);
  return {
    cos: g.node('Unsqueeze', `${name}/Unsqueeze_cos`, [cos, headAxis]),
    sinSigned: g.node('Unsqueeze', `${name}/Unsqueeze_sin`, [sinSigned, headAxis]),
    headDim,
  };
}

/** Rotates x [1, q, heads, headDim]; `outputName` lets K's rotation write the graph output new.{i}.key directly. */
export function applyRope(g: OnnxGraph, name: string, x: string, rope: RopeTables, outputName?: string): string {
  const half = rope.headDim / 2;
  const [x1, x2] = g.nodeMulti('Split', `${name}/Split`, [x, g.constInt64([half, half])], 2, { attrs: { axis: { int: -1 } } });
  const swapped = g.node('Concat', `${name}/Concat`, [x2, x1], { attrs: { axis: { int: -1 } } });
  const cosPart = g.node('Mul', `${name}/Mul_cos`, [x, rope.cos]);
  const sinPart = g.node('Mul', `${name}/Mul_sin`, [swapped, rope.sinSigned]);
  return g.node('Add', `${name}/Add`, [cosPart, sinPart], {}, outputName);
}

// Fused RoPE (kernels: 'fused'): onnxruntime's RotaryEmbedding (com.microsoft) looks cos/sin up per position in
// [tableSize, headDim/2] initializers (rotate-half convention: interleaved 0):
//
//   x [1, q, heads*hd], position_ids [1, q] ─RotaryEmbedding(cos_cache, sin_cache; num_heads)→ [1, q, heads*hd]

/** Rows in the fused graph's cos/sin tables: the trained context, at least 8k (CR-RoPE headroom), at most 64k. */
export function ropeTableSize(maxPositions: number): number {
  return Math.min(Math.max(maxPositions, 8192), 65536);
}

export interface RotaryCache {
  cos: string;
  sin: string;
  tableSize: number;
}

/** cos/sin of fround(position · inv_freq[i]) in fp32, as the standard graph's Mul then Cos/Sin round them. */
export function makeRotaryCache(g: OnnxGraph, headDim: number, theta: number, tableSize: number): RotaryCache {
  if (headDim % 2 !== 0) throw new Error(`RoPE: headDim must be even, got ${headDim}`);
  const half = headDim / 2;
  const invFreq = ropeInverseFrequencies(headDim, theta);
  const cos = new Float32Array(tableSize * half);
  const sin = new Float32Array(tableSize * half);
  for (let p = 0; p < tableSize; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * invFreq[i]);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return {
    cos: g.initializer('/model/rotary_emb/cos_cache', 'float32', [tableSize, half], cos),
    sin: g.initializer('/model/rotary_emb/sin_cache', 'float32', [tableSize, half], sin),
    tableSize,
  };
}

export function applyRotaryEmbedding(g: OnnxGraph, name: string, x: string, positionIds: string, cache: RotaryCache, numHeads: number, outputName?: string): string {
  return g.node('RotaryEmbedding', `${name}/RotaryEmbedding`, [x, positionIds, cache.cos, cache.sin], { domain: MS_DOMAIN, attrs: { num_heads: { int: numHeads }, interleaved: { int: 0 } } }, outputName);
}
