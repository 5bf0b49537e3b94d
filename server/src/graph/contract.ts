// The input/output contract between the graph builder and the engine. Both sides import these names.
//
// Inputs
//   input_ids                  int64   [1, q]
//   position_ids               int64   [1, q]            RoPE position of each new token
//   attention_mask             float32 [1, 1, q, past+q] additive: 0 = attend, MASK_NEG = blocked
//                                                         (columns 0..past-1 are cache slots, then the q new tokens)
//   past.{i}.key / .value      float32 [1, past, kvHeads, headDim]   token-major, keys already rotated (post-RoPE)
//                              (float16 with kvDtype 'fp16': the fp16 cache's bits, cast to float32 inside the graph)
//   attention_rows             float32 [q]               only with attentionMass: weight of each query row
// Outputs
//   logits                     float32 [1, q, vocab]  (logits: 'all')  or [1, 1, vocab] (logits: 'last')
//   new.{i}.key / .value       float32 [1, q, kvHeads, headDim]      K (post-RoPE) and V of the new tokens only;
//                                                                   the engine appends them to its own cache
//   attention_mass.{i}         float32 [past+q]          only with attentionMass: sum over heads and over query
//                                                         rows r of attention_rows[r] * softmax prob(r -> column)
//
// kernels: 'fused' (onnxruntime's com.microsoft contrib ops on CPU) keeps this contract with attention 'sdpa'; with
// attention 'gqa' (GroupQueryAttention) it changes only the cache inputs and adds two scalars:
//   past.{i}.key / .value      float32 [1, kvHeads, capacity, headDim]  head-major buffer; rows 0..past-1 are the
//                                                         cache, rows past.. are ignored (capacity >= past)
//   seqlens_k                  int32   [1]               past + q - 1
//   total_sequence_length      int32   []                past + q
// and attention is causal among the q new tokens by construction (GroupQueryAttention): a mask may block more
// (block-causal trees, catalyst rows) but not open a later new token; the engine routes such masks to 'standard'.
// RoPE positions must be < ropeTableSize(config) (the cos/sin tables are initializers).
//
// pastLayout 'headT' (standard kernels; graph/headMajorAttention.ts) changes only the cache inputs and the column count:
//   past.{i}.key               float32 [1, kvHeads, headDim, capacity]  K transposed, head-major buffer
//   past.{i}.value             float32 [1, kvHeads, capacity, headDim]  (both float16 with kvDtype 'fp16')
//   attention_mask             float32 [1, 1, q, capacity+q]  columns 0..capacity-1 are buffer rows (rows >= past,
//                                                         unused, must be MASK_NEG), then the q new tokens
//   attention_mass.{i}         float32 [capacity+q]      over the same columns

import type { KvDtype, WeightFormatName } from '../vocab';

export type WeightFormat = WeightFormatName;

export interface GraphOptions {
  weights: WeightFormat;
  /** 'last' emits only the last row's logits (decode); 'all' emits every row (verification, NLL). */
  logits: 'all' | 'last';
  /** Emit per-layer attention mass outputs (CaP scoring, citations). Off for plain decoding. */
  attentionMass: boolean;
  /**
   * 'standard' (default): plain ONNX ops, token-major cache, runs on every execution provider.
   * 'fused': SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization, RotaryEmbedding, fused QKV and
   * gate/up matmuls, GroupQueryAttention over a head-major cache buffer (CPU EP).
   */
  kernels?: GraphKernels;
  /**
   * Attention inside a fused graph: 'gqa' (GroupQueryAttention over the head-major cache; the contract below) or
   * 'sdpa' (the standard graph's attention from plain ops over the token-major cache, with the standard contract's
   * cache inputs; any mask). Default 'gqa'. Ignored by standard graphs.
   */
  attention?: FusedAttention;
  /** The past K/V inputs' dtype: the engine's cache dtype (default 'fp32'). New K/V and logits stay float32. */
  kvDtype?: KvDtype;
  /**
   * How standard graphs receive the past cache: 'token' (default; token-major live rows, Concat + Transpose inside)
   * or 'headT' (head-major capacity buffers read in place; the contract above). Ignored by fused graphs.
   */
  pastLayout?: PastLayout;
}

export type PastLayout = 'token' | 'headT';

export type GraphKernels = 'standard' | 'fused';
export type FusedAttention = 'gqa' | 'sdpa';

export const MASK_NEG = -1e9;

/** The default attention_mask [q, past + q]: every cache column visible, causal among the q new tokens. */
export function causalMask(past: number, q: number): Float32Array {
  const total = past + q;
  const mask = new Float32Array(q * total);
  for (let r = 0; r < q; r++) for (let col = past + r + 1; col < total; col++) mask[r * total + col] = MASK_NEG;
  return mask;
}

export const inputNames = {
  inputIds: 'input_ids',
  positionIds: 'position_ids',
  attentionMask: 'attention_mask',
  attentionRows: 'attention_rows',
  pastKey: (i: number) => `past.${i}.key`,
  pastValue: (i: number) => `past.${i}.value`,
  seqlensK: 'seqlens_k',
  totalSequenceLength: 'total_sequence_length',
} as const;

export const outputNames = {
  logits: 'logits',
  newKey: (i: number) => `new.${i}.key`,
  newValue: (i: number) => `new.${i}.value`,
  attentionMass: (i: number) => `attention_mass.${i}`,
} as const;
