// Attention for kernels: 'fused': onnxruntime's GroupQueryAttention (com.microsoft, CPU EP) over a head-major cache.
//
//   q [1,q,H*hd], k/v [1,q,kvH*hd] (post-RoPE keys)
//   past.{i}.key/value [1,kvH,capacity,hd]  (rows 0..past-1 valid; seqlens_k = past+q-1 says how many)
//   attention_mask [1,1,q,past+q] ─→ attention_bias (added to the scaled scores; GQA itself is causal)
//     ─GroupQueryAttention(num_heads H, kv_num_heads kvH)→ context [1,q,H*hd]
//                                                        present K/V (not graph outputs: the engine appends the
//                                                        new rows, which are graph outputs, to its own buffer)
// With attentionMass, qk_output 2 returns the softmax probabilities [1,H,q,past+q]:
//   rows [1,1,1,q] ─MatMul(probs)→ [1,H,1,T] ─ReduceSum(0,1,2)→ attention_mass.{i} [T]
//
// The kernel reads K/V once, in place, with no Concat/Transpose copies and no per-head expansion. It does copy the
// valid past rows into its (unfetched) present buffer: onnxruntime-node returns a fresh copy of every fetched output,
// so binding present to the cache buffer (past_present_share_buffer) would copy the whole buffer back each step.

import type { AttentionShape } from './attention.js';
import { MS_DOMAIN, type OnnxGraph } from './onnxProto.js';

export interface GqaInputs {
  q: string;
  k: string;
  v: string;
  pastKey: string;
  pastValue: string;
  seqlensK: string;
  totalSequenceLength: string;
  /** [1,1,q,T] additive mask. */
  mask: string;
}

/** rows [q] ─Reshape→ [1,1,1,q], once per graph. */
export function makeMassRows(g: OnnxGraph, rows: string): string {
  return g.node('Reshape', '/model/attn_rows/Reshape', [rows, g.constInt64([1, 1, 1, -1])]);
}

export function makeGroupQueryAttention(
  g: OnnxGraph,
  name: string,
  shape: AttentionShape,
  inputs: GqaInputs,
  mass: { rows: string; output: string } | null,
): string {
  if (shape.numHeads % shape.numKvHeads !== 0) {
    throw new Error(`attention: numHeads (${shape.numHeads}) must be a multiple of numKvHeads (${shape.numKvHeads})`);
  }
  const node = `${name}/GroupQueryAttention`;
  const outputs = [`${node}/output_0`, `${node}/present_key`, `${node}/present_value`];
  if (mass) outputs.push(`${node}/probs`);
  const [context, , , probs] = g.nodeMulti(
    'GroupQueryAttention',
    node,
    [inputs.q, inputs.k, inputs.v, inputs.pastKey, inputs.pastValue, inputs.seqlensK, inputs.totalSequenceLength, '', '', '', inputs.mask],
    outputs,
    {
      domain: MS_DOMAIN,
      attrs: {
        num_heads: { int: shape.numHeads },
        kv_num_heads: { int: shape.numKvHeads },
        ...(mass ? { qk_output: { int: 2 } } : {}),
      },
    },
  );
  if (mass) {
    const perHead = g.node('MatMul', `${name}/mass/MatMul`, [mass.rows, probs]);
    g.node('ReduceSum', `${name}/mass/ReduceSum`, [perHead, g.constInt64([0, 1, 2])], { attrs: { keepdims: { int: 0 } } }, mass.output);
  }
  return context;
}
