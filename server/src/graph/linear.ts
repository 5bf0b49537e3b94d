// Linear projections and the embedding table in each weight format. Everything else in the graph is fp32; only how
// a weight is stored and multiplied changes with GraphOptions.weights.
//
// The hidden state is 2-D [rows, features] (batch is always 1), so fp32/fp16 use Gemm with transB=1 and the HF
// [out, in] weight as stored: no transposed copy at build time, and the external-data file can point straight at
// the caller's Float32Arrays.
//
//   fp32:  x ─Gemm(W [out,in], bias; transB=1)→
//   fp16:  x ─Gemm(Cast(W fp16), bias; transB=1)→        onnxruntime folds the Cast into an fp32 constant on CPU
//   int8/int4: x ─MatMulNBits(B packed, scales, bias; K, N, bits, block_size)→   (com.microsoft)

import type { WeightTensor } from '../model/config.js';
import type { WeightFormat } from './contract.js';
import { MS_DOMAIN, type OnnxGraph } from './onnxProto.js';
import { QUANT_BLOCK_SIZE, quantizeBlocks, toFp16, type QuantBits } from './quantize.js';

/**
 * MatMulNBits accuracy_level 4 = int8 activations (quantized per block on the fly). On onnxruntime 1.30's CPU EP
 * it is the only fast path for 8-bit weights (level 0 dequantizes the whole matrix per call: ~50x slower) and
 * ~20% faster for 4-bit; it adds ~1-2% relative logit error, small next to int4's own weight error.
 */
const NBITS_ACCURACY_LEVEL = 4;

function quantBits(format: WeightFormat): QuantBits | null {
  return format === 'int4' ? 4 : format === 'int8' ? 8 : null;
}

function requireMatrix(weight: WeightTensor, name: string): [number, number] {
  if (weight.shape.length !== 2) throw new Error(`linear ${name}: weight must be 2-D [out, in], got [${weight.shape.join(', ')}]`);
  return [weight.shape[0], weight.shape[1]];
}

/**
 * y = x W^T + b for x [rows, in] and an HF [out, in] weight. `name` is the node prefix
 * (`/model/layers.0/attn/q_proj`); initializers are named after `weightName` (the HF name) so a graph dump maps
 * back to the checkpoint.
 */
export function makeLinear(
  g: OnnxGraph,
  name: string,
  x: string,
  weightName: string,
  weight: WeightTensor,
  format: WeightFormat,
  bias?: WeightTensor,
): string {
  const [out, inFeatures] = requireMatrix(weight, weightName);
  const biasName = bias ? g.initializer(weightName.replace(/\.weight$/, '') + '.bias', 'float32', [out], bias.data) : null;
  const bits = quantBits(format);
  if (!bits) {
    const w =
      format === 'fp16'
        ? g.node('Cast', `${name}/Cast`, [g.initializer(`${weightName}.fp16`, 'float16', [out, inFeatures], toFp16(weight.data))], { attrs: { to: { int: 1 } } })
        : g.initializer(weightName, 'float32', [out, inFeatures], weight.data);
    return makeGemm(g, name, x, w, biasName);
  }
  const q = quantizeBlocks(weight.data, out, inFeatures, bits);
  const b = g.initializer(`${weightName}.q${bits}`, 'uint8', [out, q.blocksPerRow, q.blobSize], q.packed);
  const scales = g.initializer(`${weightName}.scales`, 'float32', [out * q.blocksPerRow], q.scales);
  // The bias rides in MatMulNBits' optional bias input (after zero_points and g_idx, both absent).
  return g.node('MatMulNBits', `${name}/MatMulNBits`, biasName ? [x, b, scales, '', '', biasName] : [x, b, scales], {
    domain: MS_DOMAIN,
    attrs: {
      K: { int: inFeatures },
      N: { int: out },
      bits: { int: bits },
      block_size: { int: QUANT_BLOCK_SIZE },
      accuracy_level: { int: NBITS_ACCURACY_LEVEL },
    },
  });
}

/** x [rows, in] · W^T with W [out, in] (+ bias [out]). */
function makeGemm(g: OnnxGraph, name: string, x: string, w: string, bias: string | null): string {
  return g.node('Gemm', `${name}/Gemm`, bias ? [x, w, bias] : [x, w], { attrs: { transB: { int: 1 } } });
}

/** Stored embedding table: fp32 for fp32 graphs, fp16 otherwise (a quarter of the memory of int formats' fp32). */
export interface EmbeddingTable {
  /** Initializer name of the [vocab, hidden] table ([vocab, hidden·bits/8] uint8 when quantized). */
  table: string;
  elemType: 'float32' | 'float16' | 'uint8';
  /** Block-quantized tables: [vocab, blocksPerRow] scales and the bit width (the tied lm_head's own format). */
  quantized?: { scales: string; bits: QuantBits; hidden: number; vocab: number; blocksPerRow: number; blobSize: number; packed: Uint8Array; scaleData: Float32Array };
}

/**
 * `quantizedTable` (fused graphs, int4/int8): the table is stored once, block-quantized exactly as MatMulNBits
 * wants the tied lm_head, and looked up with GatherBlockQuantized; otherwise fp16 (or fp32 for fp32 graphs).
 */
export function makeEmbeddingTable(g: OnnxGraph, weight: WeightTensor, format: WeightFormat, quantizedTable = false): EmbeddingTable {
  const [vocab, hidden] = requireMatrix(weight, 'model.embed_tokens.weight');
  const bits = quantBits(format);
  if (quantizedTable && bits) {
    const q = quantizeBlocks(weight.data, vocab, hidden, bits);
    return {
      table: g.initializer(`model.embed_tokens.weight.q${bits}`, 'uint8', [vocab, q.blocksPerRow * q.blobSize], q.packed),
      elemType: 'uint8',
      quantized: {
        scales: g.initializer('model.embed_tokens.weight.scales', 'float32', [vocab, q.blocksPerRow], q.scales),
        bits,
        hidden,
        vocab,
        blocksPerRow: q.blocksPerRow,
        blobSize: q.blobSize,
        packed: q.packed,
        scaleData: q.scales,
      },
    };
  }
  if (format === 'fp32') return { table: g.initializer('model.embed_tokens.weight', 'float32', weight.shape, weight.data), elemType: 'float32' };
  return { table: g.initializer('model.embed_tokens.weight.fp16', 'float16', weight.shape, toFp16(weight.data)), elemType: 'float16' };
}

/**
 *   input_ids [1,q] ─Reshape[-1]─Gather(table)─(Cast fp16→fp32)→ [q, hidden]
 */
export function makeEmbeddingLookup(g: OnnxGraph, table: EmbeddingTable, inputIds: string): string {
  const ids = g.node('Reshape', '/model/embed_tokens/Reshape', [inputIds, g.constInt64([-1])]);
  if (table.quantized) {
    // ids [q] ─GatherBlockQuantized(table, scales)→ [q, hidden] fp32 (dequantized rows; default zero point, as MatMulNBits)
    return g.node('GatherBlockQuantized', '/model/embed_tokens/GatherBlockQuantized', [table.table, ids, table.quantized.scales], {
      domain: MS_DOMAIN,
      attrs: { bits: { int: table.quantized.bits }, block_size: { int: QUANT_BLOCK_SIZE }, gather_axis: { int: 0 }, quantize_axis: { int: 1 } },
    });
  }
  const gathered = g.node('Gather', '/model/embed_tokens/Gather', [table.table, ids], { attrs: { axis: { int: 0 } } });
  if (table.elemType === 'float32') return gathered;
  return g.node('Cast', '/model/embed_tokens/Cast', [gathered], { attrs: { to: { int: 1 } } });
}

/**
 * lm_head for tied embeddings reuses the embedding initializer instead of storing a second copy:
 *   x [rows, hidden] ─Gemm(table [vocab, hidden], transB=1)→ [rows, vocab]
 * Quantized formats pack the table for MatMulNBits (B is [N=vocab, K=hidden], the table's own layout).
 */
export function makeTiedLmHead(
  g: OnnxGraph,
  x2d: string,
  table: EmbeddingTable,
  embedding: WeightTensor,
  format: WeightFormat,
): string {
  if (table.quantized) {
    // MatMulNBits wants B as [N, blocks, blob] and flat scales as initializers it can pre-pack (a Reshape of the
    // lookup table is not folded before pre-packing, and an unpacked B runs the slow path): the same bytes are
    // stored a second time in that shape; onnxruntime drops them once packed.
    const t = table.quantized;
    const packedName = table.table.replace(/\.q\d$/, '');
    const b = g.initializer(`${packedName}.lm_head.q${t.bits}`, 'uint8', [t.vocab, t.blocksPerRow, t.blobSize], t.packed);
    const scales = g.initializer(`${packedName}.lm_head.scales`, 'float32', [t.vocab * t.blocksPerRow], t.scaleData);
    return g.node('MatMulNBits', '/lm_head/MatMulNBits', [x2d, b, scales], {
      domain: MS_DOMAIN,
      attrs: { K: { int: t.hidden }, N: { int: t.vocab }, bits: { int: t.bits }, block_size: { int: QUANT_BLOCK_SIZE }, accuracy_level: { int: NBITS_ACCURACY_LEVEL } },
    });
  }
  if (quantBits(format)) return makeLinear(g, '/lm_head', x2d, 'lm_head.tied', embedding, format);
  const weight =
    table.elemType === 'float32' ? table.table : g.node('Cast', '/lm_head/Cast', [table.table], { attrs: { to: { int: 1 } } });
  return makeGemm(g, '/lm_head', x2d, weight, null);
}

export interface LinearPart {
  weight: WeightTensor;
  bias?: WeightTensor;
}

/**
 * Several projections of the same input as one matmul (fused QKV, fused gate/up): the [out_k, in] weights are
 * stacked along `out` (and their biases alike), so one MatMulNBits/Gemm reads the input once and dispatches once;
 * the caller Splits the [rows, Σ out_k] result. Quantized blocks run along `in`, so stacking rows changes no block.
 */
export function makeStackedLinear(g: OnnxGraph, name: string, x: string, weightName: string, parts: readonly LinearPart[], format: WeightFormat): string {
  const inFeatures = requireMatrix(parts[0].weight, weightName)[1];
  let out = 0;
  for (const p of parts) {
    const [o, i] = requireMatrix(p.weight, weightName);
    if (i !== inFeatures) throw new Error(`linear ${weightName}: stacked weights disagree on in_features (${i} vs ${inFeatures})`);
    out += o;
  }
  const data = new Float32Array(out * inFeatures);
  let offset = 0;
  for (const p of parts) {
    data.set(p.weight.data, offset);
    offset += p.weight.data.length;
  }
  let bias: WeightTensor | undefined;
  if (parts.some((p) => p.bias)) {
    const b = new Float32Array(out);
    let at = 0;
    for (const p of parts) {
      if (p.bias) b.set(p.bias.data, at);
      at += p.weight.shape[0];
    }
    bias = { shape: [out], data: b };
  }
  return makeLinear(g, name, x, weightName, { shape: [out, inFeatures], data }, format, bias);
}
