// RMSNorm from standard ops, in the exact pattern onnxruntime fuses into SimplifiedLayerNormalization.
//
//   x ─┬─Pow(2)─ReduceMean(-1)─Add(eps)─Sqrt─┐
//      └──────────────────────────────────Div─Mul(weight)→
// Used on the hidden state ([q, hidden]) and, for Qwen3, per head on q/k ([1, q, heads, headDim]).

import type { WeightTensor } from '../model/config.js';
import { MS_DOMAIN, type OnnxGraph } from './onnxProto.js';

export function makeRmsNorm(
  g: OnnxGraph,
  name: string,
  x: string,
  weightName: string,
  weight: WeightTensor,
  eps: number,
  outputName?: string,
): string {
  const squared = g.node('Pow', `${name}/Pow`, [x, g.constFloat([2], [])]);
  const meanSquare = g.node('ReduceMean', `${name}/ReduceMean`, [squared], { attrs: { axes: { ints: [-1] }, keepdims: { int: 1 } } });
  const shifted = g.node('Add', `${name}/Add`, [meanSquare, g.constFloat([eps], [])]);
  const rms = g.node('Sqrt', `${name}/Sqrt`, [shifted]);
  const normalized = g.node('Div', `${name}/Div`, [x, rms]);
  const w = g.initializer(weightName, 'float32', weight.shape, weight.data);
  return g.node('Mul', `${name}/Mul`, [normalized, w], {}, outputName);
}

// Fused RMSNorm (kernels: 'fused'). SimplifiedLayerNormalization is an onnxruntime contrib op registered in the ONNX
// domain; SkipSimplifiedLayerNormalization (com.microsoft) also adds the residual and returns the sum:
//
//   x ─SimplifiedLayerNormalization(weight, eps, axis -1)→
//   residual, delta ─SkipSimplifiedLayerNormalization(weight, eps)─┬→ normed (output 0)
//                                                                  └→ residual + delta (output 3)

export function makeFusedRmsNorm(g: OnnxGraph, name: string, x: string, weightName: string, weight: WeightTensor, eps: number, outputName?: string): string {
  const w = g.initializer(weightName, 'float32', weight.shape, weight.data);
  return g.node('SimplifiedLayerNormalization', `${name}/SimplifiedLayerNormalization`, [x, w], { attrs: { epsilon: { float: eps }, axis: { int: -1 }, stash_type: { int: 1 } } }, outputName);
}

export function makeSkipRmsNorm(
  g: OnnxGraph,
  name: string,
  residual: string,
  delta: string,
  weightName: string,
  weight: WeightTensor,
  eps: number,
): { normed: string; sum: string } {
  const w = g.initializer(weightName, 'float32', weight.shape, weight.data);
  const node = `${name}/SkipSimplifiedLayerNormalization`;
  const [normed, , , sum] = g.nodeMulti('SkipSimplifiedLayerNormalization', node, [residual, delta, w], [`${node}/output_0`, '', '', `${node}/output_3`], {
    domain: MS_DOMAIN,
    attrs: { epsilon: { float: eps } },
  });
  return { normed, sum };
}
