// Attention over a head-major, capacity-padded cache (GraphOptions.pastLayout 'headT'): the standard graph's
// attention (attention.ts) without its per-step Concat + Transpose copies of the whole cache.
//
// The cache (engine/kvCache.ts, layout 'headT') stores per layer exactly the operands the MatMuls need, and the graph
// reads them in place, whole: C = capacity rows, of which the first `past` are live (the mask blocks the rest).
//   past.{i}.key   [1,kvH,hd,C]  (K transposed)        past.{i}.value [1,kvH,C,hd]
// Past and new tokens are scored apart and only the small score/probability tensors are joined and split:
//
//   Qg [1,kvH,G*q,hd] (attention.ts's grouped-query folding; K/V are never expanded per query head)
//   Qg ─MatMul(past.key)→ [1,kvH,G*q,C] ─┐
//   Qg ─MatMul(Transpose(k_new))→ [..,q] ─Concat(-1)─Add(maskG [1,1,G*q,C+q])─Softmax(-1)→ probs [1,kvH,G*q,C+q]
//   probs ─Slice[0,C)─MatMul(past.value) ─┐
//   probs ─Slice[C,C+q)─MatMul(v_new)───Add→ context [1,kvH,G*q,hd] ─(unfold)→ [q,H*hd]
//
// attention_mass is over all C+q columns (dead rows get 0); the engine keeps the live ones. New K/V leave the graph
// token-major as in the standard contract, and the engine writes them into its storage (K strided, transposed).

import { groupQueries, makeAttentionMass, perm, ungroupContext, type AttentionCoreInputs, type AttentionShape, type SharedAttentionInputs } from './attention.js';
import type { OnnxGraph } from './onnxProto.js';

/** [C] (int64, one value): the capacity of the cache buffers, read off a past value input [1,kvH,C,hd] once per graph. */
export function makeCapacityBound(g: OnnxGraph, pastValue: string): string {
  return g.node('Shape', '/model/past_capacity/Shape', [pastValue], { attrs: { start: { int: 2 }, end: { int: 3 } } });
}

/**
 * Returns the attention context [q, H*hd]; emits attention_mass [C+q] when `massOutput` is given. `capacity` is
 * makeCapacityBound's [C]; inputs.pastKey is [1,kvH,hd,C] and inputs.pastValue [1,kvH,C,hd] (fp32).
 */
export function makeHeadMajorAttention(
  g: OnnxGraph,
  name: string,
  shape: AttentionShape,
  inputs: AttentionCoreInputs,
  shared: SharedAttentionInputs,
  capacity: string,
  massOutput: string | null,
): string {
  const queries = groupQueries(g, name, shape, inputs.q);
  const kNewT = g.node('Transpose', `${name}/k/Transpose`, [inputs.kNew], perm([0, 2, 3, 1]));
  const vNew = g.node('Transpose', `${name}/v/Transpose`, [inputs.vNew], perm([0, 2, 1, 3]));

  const pastScores = g.node('MatMul', `${name}/qk_past/MatMul`, [queries, inputs.pastKey]);
  const newScores = g.node('MatMul', `${name}/qk_new/MatMul`, [queries, kNewT]);
  const scores = g.node('Concat', `${name}/qk/Concat`, [pastScores, newScores], { attrs: { axis: { int: -1 } } });
  const masked = g.node('Add', `${name}/qk/Add_mask`, [scores, shared.maskGrouped]);
  const probs = g.node('Softmax', `${name}/Softmax`, [masked], { attrs: { axis: { int: -1 } } });

  const lastAxis = g.constInt64([3]);
  const pastProbs = g.node('Slice', `${name}/probs_past/Slice`, [probs, g.constInt64([0]), capacity, lastAxis]);
  const newProbs = g.node('Slice', `${name}/probs_new/Slice`, [probs, capacity, g.constInt64([Number.MAX_SAFE_INTEGER]), lastAxis]);
  const pastContext = g.node('MatMul', `${name}/pv_past/MatMul`, [pastProbs, inputs.pastValue]);
  const newContext = g.node('MatMul', `${name}/pv_new/MatMul`, [newProbs, vNew]);
  const context = g.node('Add', `${name}/pv/Add`, [pastContext, newContext]);

  if (massOutput) makeAttentionMass(g, name, shared, probs, massOutput);
  return ungroupContext(g, name, shape, context);
}
