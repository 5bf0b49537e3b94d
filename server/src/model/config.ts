// The normalized architecture description every other module works from.
// Hugging Face config.json (and llama2.c headers) are mapped into this once, in model/import.

/** Architectures we build graphs for; each differs from `llama` by a small override. */
export type Architecture = 'llama' | 'qwen2' | 'qwen3';

export interface ModelConfig {
  architecture: Architecture;
  /** The original `architectures[0]` string, for messages. */
  sourceArchitecture: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** Trained context length (max_position_embeddings). */
  maxPositions: number;
  tieWordEmbeddings: boolean;
  /** Qwen2: q/k/v projections carry a bias. */
  qkvBias: boolean;
  /** Qwen3: per-head RMSNorm on q and k before RoPE. */
  qkNorm: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
}

/**
 * One weight, always held as fp32 in memory after import (source bf16/fp16 are widened).
 * Names and layouts are Hugging Face's: linear weights are [out, in].
 *   model.embed_tokens.weight                      [vocab, hidden]
 *   model.layers.{i}.input_layernorm.weight        [hidden]
 *   model.layers.{i}.self_attn.{q,k,v,o}_proj.weight (+ .bias for q,k,v when qkvBias)
 *   model.layers.{i}.self_attn.{q,k}_norm.weight   [headDim] (qkNorm)
 *   model.layers.{i}.post_attention_layernorm.weight
 *   model.layers.{i}.mlp.{gate,up,down}_proj.weight
 *   model.norm.weight, lm_head.weight (absent when tied)
 * Q/K projection rows use Hugging Face's rotate-half RoPE convention (llama2.c checkpoints are permuted on import).
 */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}
export type Weights = Map<string, WeightTensor>;

export function layerPrefix(i: number): string {
  return `model.layers.${i}`;
}
