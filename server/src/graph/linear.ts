// Linear projections and the embedding table in each weight format. Everything else in the graph is fp32; only how
// a weight is stored and multiplied changes with GraphOptions.weights.
//
//   fp32:  x ─MatMul(W^T fp32 [in,out])─(+bias)→
//   fp16:  x ─MatMul(Cast(W^T fp16))────(+bias)→      onnxruntime folds the Cast into an fp32 constant on CPU
//   int8/int4: x ─MatMulNBits(B packed, scales; K, N, bits, block_size)─(+bias)→   (com.microsoft)

import type { WeightTensor } from '../model/config.js';
import type { WeightFormat } from './contract.js';
import { MS_DOMAIN, type OnnxGraph } from './onnxProto.js';
import { QUANT_BLOCK_SIZE, quantizeBlocks, toFp16, transpose2d, type QuantBits } from './quantize.js';

/** Compute precision of MatMulNBits on CPU: 0 = unset (fp32 activations), matching the fp32 reference best. */
const NBITS_ACCURACY_LEVEL = 0;

function quantBits(format: WeightFormat): QuantBits | null {
  return format === 'int4' ? 4 : format === 'int8' ? 8 : null;
}

function requireMatrix(weight: WeightTensor, name: string): [number, number] {
  if (weight.shape.length !== 2) throw new Error(`linear ${name}: weight must be 2-D [out, in], got [${weight.shape.join(', ')}]`);
  return [weight.shape[0], weight.shape[1]];
}

/**
 * y = x W^T + b for an HF [out, in] weight. `name` is the node prefix (`/model/layers.0/attn/q_proj`); the weight's
 * initializer is named after `weightName` (its HF name) so a graph dump maps back to the checkpoint.
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
  const bits = quantBits(format);
  let y: string;
  if (bits) {
    const q = quantizeBlocks(weight.data, out, inFeatures, bits);
    const b = g.initializer(`${weightName}.q${bits}`, 'uint8', [out, q.blocksPerRow, q.blobSize], q.packed);
    const scales = g.initializer(`${weightName}.scales`, 'float32', [out * q.blocksPerRow], q.scales);
    y = g.node('MatMulNBits', `${name}/MatMulNBits`, [x, b, scales], {
      domain: MS_DOMAIN,
      attrs: {
        K: { int: inFeatures },
        N: { int: out },
        bits: { int: bits },
        block_size: { int: QUANT_BLOCK_SIZE },
        accuracy_level: { int: NBITS_ACCURACY_LEVEL },
      },
    });
  } else {
    const transposed = transpose2d(weight.data, out, inFeatures);
    let w: string;
    if (format === 'fp16') {
      const w16 = g.initializer(`${weightName}.T.fp16`, 'float16', [inFeatures, out], toFp16(transposed));
      w = g.node('Cast', `${name}/Cast`, [w16], { attrs: { to: { int: 1 } } });
    } else {
      w = g.initializer(`${weightName}.T`, 'float32', [inFeatures, out], transposed);
    }
    y = g.node('MatMul', `${name}/MatMul`, [x, w]);
  }
  if (!bias) return y;
  const biasName = weightName.replace(/\.weight$/, '.bias');
  const b = g.initializer(biasName, 'float32', [out], bias.data);
  return g.node('Add', `${name}/Add`, [y, b]);
}

/** Stored embedding table: fp32 for fp32 graphs, fp16 otherwise (a quarter of the memory of int formats' fp32). */
export interface EmbeddingTable {
  /** Initializer name of the [vocab, hidden] table. */
  table: string;
  elemType: 'float32' | 'float16';
}

export function makeEmbeddingTable(g: OnnxGraph, weight: WeightTensor, format: WeightFormat): EmbeddingTable {
  requireMatrix(weight, 'model.embed_tokens.weight');
  if (format === 'fp32') return { table: g.initializer('model.embed_tokens.weight', 'float32', weight.shape, weight.data), elemType: 'float32' };
  return { table: g.initializer('model.embed_tokens.weight.fp16', 'float16', weight.shape, toFp16(weight.data)), elemType: 'float16' };
}

/**
 *   input_ids ─Gather(table)─(Cast fp16→fp32)→ [1, q, hidden]
 */
export function makeEmbeddingLookup(g: OnnxGraph, table: EmbeddingTable, inputIds: string): string {
  const gathered = g.node('Gather', '/model/embed_tokens/Gather', [table.table, inputIds], { attrs: { axis: { int: 0 } } });
  if (table.elemType === 'float32') return gathered;
  return g.node('Cast', '/model/embed_tokens/Cast', [gathered], { attrs: { to: { int: 1 } } });
}

/**
 * lm_head for tied embeddings reuses the embedding initializer instead of storing a transposed copy:
 *   x [rows, hidden] ─Gemm(table [vocab, hidden], transB=1)→ [rows, vocab]
 * Quantized formats pack the table for MatMulNBits, whose B is already [N=vocab, K=hidden].
 */
export function makeTiedLmHead(
  g: OnnxGraph,
  x2d: string,
  table: EmbeddingTable,
  embedding: WeightTensor,
  format: WeightFormat,
): string {
  if (quantBits(format)) return makeLinear(g, '/lm_head', x2d, 'lm_head.tied', embedding, format);
  const weight =
    table.elemType === 'float32' ? table.table : g.node('Cast', '/lm_head/Cast', [table.table], { attrs: { to: { int: 1 } } });
  return g.node('Gemm', '/lm_head/Gemm', [x2d, weight], { attrs: { transB: { int: 1 } } });
}
