// Scaled dot-product attention over [past cache ‖ new tokens] from standard ops (runs on every execution provider).
//
// Grouped-query attention folds the G = heads/kvHeads query heads that share a KV head into the row dimension,
// so K/V are never expanded/copied per query head and each KV head does one [G*q, hd] x [hd, T] MatMul:
//
//   q [1,q,H,hd] ─Mul(1/√hd)─Reshape[1,q,kvH,G,hd]─Transpose(0,2,3,1,4)─Reshape→ Qg [1,kvH,G*q,hd]
//   past.k ‖ new k ─Concat(axis 1)→ [1,T,kvH,hd] ─Transpose(0,2,3,1)→ Kt [1,kvH,hd,T]
//   past.v ‖ new v ─Concat(axis 1)→ [1,T,kvH,hd] ─Transpose(0,2,1,3)→ V  [1,kvH,T,hd]
//   Qg ─MatMul(Kt)─Add(maskG)─Softmax(-1)→ probs [1,kvH,G*q,T] ─MatMul(V)→ [1,kvH,G*q,hd]
//      ─Reshape[1,kvH,G,q,hd]─Transpose(0,3,1,2,4)─Reshape→ [q,H*hd]
//
// maskG is the [1,1,q,T] mask repeated G times along rows (built once, shared by all layers).
// With attentionMass:  rowsG [1,1,1,G*q] ─MatMul(probs)→ [1,kvH,1,T] ─ReduceSum(0,1,2)→ attention_mass.{i} [T]
//
// Decode pays Concat + Transpose copies of the token-major cache per layer. A copy-free decode branch (Gemm with
// transB on the cache viewed as [P, kvH*hd], picked by an If on q) was measured on onnxruntime 1.30 CPU and was not
// faster: MLAS packs a non-constant B anyway, and If costs ~0.2 ms per layer. Removing these copies needs a
// head-major cache in the contract (or a contrib attention op), not a different graph over the same layout.
// headMajorAttention.ts is that: the same attention over a head-major, capacity-padded cache (pastLayout 'headT').

import type { OnnxGraph } from './onnxProto.js';

export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/** A Transpose node's attributes. */
export const perm = (values: number[]) => ({ attrs: { perm: { ints: values } } });

/** Per-graph tensors every layer's attention shares. */
export interface SharedAttentionInputs {
  /** [1, 1, G*q, T] additive mask. */
  maskGrouped: string;
  /** [1, 1, 1, G*q] query-row weights, only with attentionMass. */
  rowsGrouped: string | null;
}

function groupSize(shape: AttentionShape): number {
  if (shape.numHeads % shape.numKvHeads !== 0) {
    throw new Error(`attention: numHeads (${shape.numHeads}) must be a multiple of numKvHeads (${shape.numKvHeads})`);
  }
  return shape.numHeads / shape.numKvHeads;
}

/**
 *   mask [1,1,q,T] ─Concat(×G, axis 2)→ [1,1,G*q,T]
 *   rows [q] ─Concat(×G)─Reshape→ [1,1,1,G*q]
 */
export function makeSharedAttentionInputs(g: OnnxGraph, shape: AttentionShape, mask: string, rows: string | null): SharedAttentionInputs {
  const groups = groupSize(shape);
  const repeat = (x: string, axis: number, name: string): string =>
    groups === 1 ? x : g.node('Concat', name, Array.from({ length: groups }, () => x), { attrs: { axis: { int: axis } } });
  const maskGrouped = repeat(mask, 2, '/model/attn_mask/Concat');
  let rowsGrouped: string | null = null;
  if (rows) {
    const repeated = repeat(rows, 0, '/model/attn_rows/Concat');
    rowsGrouped = g.node('Reshape', '/model/attn_rows/Reshape', [repeated, g.constInt64([1, 1, 1, -1])]);
  }
  return { maskGrouped, rowsGrouped };
}

export interface AttentionCoreInputs {
  /** [1, q, H, hd], post-RoPE. */
  q: string;
  /** [1, q, kvH, hd], post-RoPE. */
  kNew: string;
  /** [1, q, kvH, hd]. */
  vNew: string;
  pastKey: string;
  pastValue: string;
}

/** Returns the attention context [q, H*hd]; emits attention_mass when `massOutput` is given. */
export function makeAttentionCore(
  g: OnnxGraph,
  name: string,
  shape: AttentionShape,
  inputs: AttentionCoreInputs,
  shared: SharedAttentionInputs,
  massOutput: string | null,
): string {
  const queries = groupQueries(g, name, shape, inputs.q);
  const keys = g.node('Concat', `${name}/k/Concat`, [inputs.pastKey, inputs.kNew], { attrs: { axis: { int: 1 } } });
  const keysT = g.node('Transpose', `${name}/k/Transpose`, [keys], perm([0, 2, 3, 1]));
  const values = g.node('Concat', `${name}/v/Concat`, [inputs.pastValue, inputs.vNew], { attrs: { axis: { int: 1 } } });
  const valuesT = g.node('Transpose', `${name}/v/Transpose`, [values], perm([0, 2, 1, 3]));

  const scores = g.node('MatMul', `${name}/qk/MatMul`, [queries, keysT]);
  const masked = g.node('Add', `${name}/qk/Add_mask`, [scores, shared.maskGrouped]);
  const probs = g.node('Softmax', `${name}/Softmax`, [masked], { attrs: { axis: { int: -1 } } });
  const context = g.node('MatMul', `${name}/pv/MatMul`, [probs, valuesT]);

  if (massOutput) makeAttentionMass(g, name, shared, probs, massOutput);
  return ungroupContext(g, name, shape, context);
}

/** q [1,q,H,hd] ─Mul(1/√hd)─(fold G query heads into rows)→ Qg [1,kvH,G*q,hd] */
export function groupQueries(g: OnnxGraph, name: string, shape: AttentionShape, q: string): string {
  const groups = groupSize(shape);
  const { numKvHeads: kvH, headDim: hd } = shape;
  const scaled = g.node('Mul', `${name}/q_scale/Mul`, [q, g.constFloat([1 / Math.sqrt(hd)], [])]);
  if (groups === 1) return g.node('Transpose', `${name}/q/Transpose`, [scaled], perm([0, 2, 1, 3]));
  const split = g.node('Reshape', `${name}/q/Reshape_groups`, [scaled, g.constInt64([1, -1, kvH, groups, hd])]);
  const grouped = g.node('Transpose', `${name}/q/Transpose`, [split], perm([0, 2, 3, 1, 4]));
  return g.node('Reshape', `${name}/q/Reshape_rows`, [grouped, g.constInt64([1, kvH, -1, hd])]);
}

/** context [1,kvH,G*q,hd] ─(unfold rows into query heads)→ [q, H*hd] */
export function ungroupContext(g: OnnxGraph, name: string, shape: AttentionShape, context: string): string {
  const groups = groupSize(shape);
  const { numKvHeads: kvH, headDim: hd } = shape;
  let tokenMajor: string;
  if (groups === 1) {
    tokenMajor = g.node('Transpose', `${name}/ctx/Transpose`, [context], perm([0, 2, 1, 3]));
  } else {
    const split = g.node('Reshape', `${name}/ctx/Reshape_groups`, [context, g.constInt64([1, kvH, groups, -1, hd])]);
    tokenMajor = g.node('Transpose', `${name}/ctx/Transpose`, [split], perm([0, 3, 1, 2, 4]));
  }
  return g.node('Reshape', `${name}/ctx/Reshape`, [tokenMajor, g.constInt64([-1, shape.numHeads * hd])]);
}

/** rowsG [1,1,1,G*q] ─MatMul(probs [1,kvH,G*q,T])→ [1,kvH,1,T] ─ReduceSum(0,1,2)→ `output` [T] */
export function makeAttentionMass(g: OnnxGraph, name: string, shared: SharedAttentionInputs, probs: string, output: string): void {
  if (!shared.rowsGrouped) throw new Error('attention: attention_mass requested without attention_rows');
  const perKvHead = g.node('MatMul', `${name}/mass/MatMul`, [shared.rowsGrouped, probs]);
  g.node('ReduceSum', `${name}/mass/ReduceSum`, [perKvHead, g.constInt64([0, 1, 2])], { attrs: { keepdims: { int: 0 } } }, output);
}
