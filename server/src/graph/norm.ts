// RMSNorm from standard ops, in the exact pattern onnxruntime fuses into SimplifiedLayerNormalization.
//
//   x ─┬─Pow(2)─ReduceMean(-1)─Add(eps)─Sqrt─┐
//      └──────────────────────────────────Div─Mul(weight)→
// Used on the hidden state ([q, hidden]) and, for Qwen3, per head on q/k ([1, q, heads, headDim]).

import type { WeightTensor } from '../model/config.js';
import type { OnnxGraph } from './onnxProto.js';

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
