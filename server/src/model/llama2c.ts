// Reads llama2.c checkpoints (karpathy/llama2.c, legacy "version 0" export as read by run.c) into HF names/layouts.
//
//   header  7 × int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (< 0: untied classifier), seq_len
//   fp32    token_embedding (vocab, dim)
//           rms_att (layer, dim) | wq (layer, dim, dim) | wk (layer, kv_dim, dim) | wv (layer, kv_dim, dim)
//           wo (layer, dim, dim) | rms_ffn (layer, dim) | w1 (layer, hidden, dim) | w2 (layer, dim, hidden)
//           w3 (layer, hidden, dim) | rms_final (dim) | freq_cis_real, freq_cis_imag (seq_len, head/2 each; unused)
//           wcls (vocab, dim) only when untied
// run.c's matrices are already [out, in] like HF's. Only RoPE differs: llama2.c rotates adjacent pairs (2j, 2j+1)
// of each head, our graph rotates halves (j, j + head/2), so wq/wk rows are permuted per head on import.
import type { Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { layerPrefix, type ModelConfig, type Weights } from './config';
import { ModelImportError, describeError } from './errors';
import { throwIfAborted } from '../util/abort';

const HEADER_BYTES = 7 * 4;
/** Magic of llama2.c's newer export versions ("ak42"), which run.c's legacy reader does not handle. */
const VERSIONED_EXPORT_MAGIC = 0x616b3432;

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

/**
 * HF's permute for rotary rows (convert_llama_weights_to_hf.py):
 *   w.view(n_heads, head_dim/2, 2, in).transpose(1, 2).reshape(n_heads*head_dim, in)
 * New row h*head_dim + half*(head_dim/2) + j takes old row h*head_dim + 2j + half.
 */
export function permuteRotaryRows(w: Float32Array, numHeads: number, headDim: number, inDim: number): Float32Array {
  return moveRotaryRows(w, numHeads, headDim, inDim, 'to-halves');
}

/** Inverse of permuteRotaryRows (HF rotate-half rows → llama2.c interleaved rows). */
export function unpermuteRotaryRows(w: Float32Array, numHeads: number, headDim: number, inDim: number): Float32Array {
  return moveRotaryRows(w, numHeads, headDim, inDim, 'to-interleaved');
}

/** Moves each head's rows between the interleaved layout (row 2j + half) and the halves layout (row half·headDim/2 + j). */
function moveRotaryRows(w: Float32Array, numHeads: number, headDim: number, inDim: number, direction: 'to-halves' | 'to-interleaved'): Float32Array {
  const out = new Float32Array(w.length);
  const halfDim = headDim / 2;
  for (let h = 0; h < numHeads; h++) {
    for (let half = 0; half < 2; half++) {
      for (let j = 0; j < halfDim; j++) {
        const interleaved = (h * headDim + 2 * j + half) * inDim;
        const halves = (h * headDim + half * halfDim + j) * inDim;
        const [src, dst] = direction === 'to-halves' ? [interleaved, halves] : [halves, interleaved];
        out.set(w.subarray(src, src + inDim), dst);
      }
    }
  }
  return out;
}

/** Parses and validates the header; `fileSize` is checked against the sizes the header implies. */
export function parseLlama2cHeader(bytes: Uint8Array, fileSize: number, file: string): Llama2cHeader {
  if (bytes.length < HEADER_BYTES || fileSize < HEADER_BYTES) {
    throw new ModelImportError(file, `truncated: ${fileSize} bytes is too short for a llama2.c header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (view.getUint32(0, true) === VERSIONED_EXPORT_MAGIC) {
    throw new ModelImportError(file, 'is a versioned llama2.c export (magic "ak42"); only the legacy run.c format (version 0) is supported');
  }
  const [dim, hiddenDim, numLayers, numHeads, numKvHeads, rawVocab, seqLen] = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const vocabSize = Math.abs(rawVocab);
  const positive = { dim, hiddenDim, numLayers, numHeads, numKvHeads, vocabSize, seqLen };
  for (const [key, value] of Object.entries(positive)) {
    if (value <= 0 || value > 1 << 24) throw new ModelImportError(file, `not a llama2.c checkpoint (header ${key} = ${value})`);
  }
  if (dim % numHeads !== 0 || (dim / numHeads) % 2 !== 0) {
    throw new ModelImportError(file, `not a llama2.c checkpoint (dim ${dim} is not divisible into ${numHeads} heads of even size)`);
  }
  if (numHeads % numKvHeads !== 0) {
    throw new ModelImportError(file, `not a llama2.c checkpoint (n_heads ${numHeads} is not a multiple of n_kv_heads ${numKvHeads})`);
  }
  const header: Llama2cHeader = { dim, hiddenDim, numLayers, numHeads, numKvHeads, vocabSize, seqLen, sharedClassifier: rawVocab > 0 };
  const expected = expectedFileSize(header);
  if (fileSize < expected) {
    throw new ModelImportError(file, `truncated: the header implies ${expected} bytes but the file has ${fileSize}`);
  }
  if (fileSize > expected) {
    throw new ModelImportError(file, `has ${fileSize - expected} unexpected trailing bytes (header implies ${expected}); not a legacy llama2.c checkpoint?`);
  }
  return header;
}

function expectedFileSize(h: Llama2cHeader): number {
  const headDim = h.dim / h.numHeads;
  const kvDim = h.numKvHeads * headDim;
  const floats =
    h.vocabSize * h.dim +
    h.numLayers * (2 * h.dim + 2 * h.dim * h.dim + 2 * h.dim * kvDim + 3 * h.dim * h.hiddenDim) +
    h.dim +
    h.seqLen * headDim + // freq_cis_real + freq_cis_imag, seq_len × head/2 each
    (h.sharedClassifier ? 0 : h.vocabSize * h.dim);
  return HEADER_BYTES + floats * 4;
}

export function llama2cModelConfig(h: Llama2cHeader): ModelConfig {
  return {
    architecture: 'llama',
    sourceArchitecture: 'llama2.c',
    vocabSize: h.vocabSize,
    hiddenSize: h.dim,
    intermediateSize: h.hiddenDim,
    numLayers: h.numLayers,
    numHeads: h.numHeads,
    numKvHeads: h.numKvHeads,
    headDim: h.dim / h.numHeads,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    maxPositions: h.seqLen,
    tieWordEmbeddings: h.sharedClassifier,
    qkvBias: false,
    qkNorm: false,
    bosTokenId: 1,
    eosTokenIds: [2],
  };
}

export interface Llama2cCheckpoint {
  header: Llama2cHeader;
  config: ModelConfig;
  weights: Weights;
}

/** Reads a llama2.c checkpoint, converting names, layouts and RoPE row order to HF's. */
export async function readLlama2cCheckpoint(file: string, options: { hash?: Hash; signal?: AbortSignal } = {}): Promise<Llama2cCheckpoint> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    throw new ModelImportError(file, `cannot read llama2.c checkpoint (${describeError(err)})`, { cause: err });
  }
  try {
    const { size } = await handle.stat();
    const headerBytes = new Uint8Array(HEADER_BYTES);
    await handle.read(headerBytes, 0, HEADER_BYTES, 0);
    const header = parseLlama2cHeader(headerBytes, size, file);
    options.hash?.update(headerBytes);
    const config = llama2cModelConfig(header);
    const { dim, hiddenDim, numLayers, numHeads, numKvHeads, vocabSize } = header;
    const headDim = config.headDim;
    const kvDim = numKvHeads * headDim;

    const weights: Weights = new Map();
    let position = HEADER_BYTES;
    /** Reads the next `count` floats of the file (the layout is strictly sequential). */
    const next = async (count: number): Promise<Float32Array> => {
      throwIfAborted(options.signal);
      const data = new Float32Array(count);
      const bytes = new Uint8Array(data.buffer);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, position + done);
        if (bytesRead === 0) throw new ModelImportError(file, `truncated: unexpected end of file at byte ${position + done}`);
        done += bytesRead;
      }
      options.hash?.update(bytes);
      position += bytes.length;
      return data;
    };
    /** Reads a (layer, ...) stacked tensor and stores each layer's slice under its HF name. */
    const perLayer = async (name: string, shape: number[], transform?: (w: Float32Array) => Float32Array): Promise<void> => {
      const size = shape.reduce((a, b) => a * b, 1);
      for (let i = 0; i < numLayers; i++) {
        const raw = await next(size);
        weights.set(`${layerPrefix(i)}.${name}`, { shape: [...shape], data: transform ? transform(raw) : raw });
      }
    };

    weights.set('model.embed_tokens.weight', { shape: [vocabSize, dim], data: await next(vocabSize * dim) });
    await perLayer('input_layernorm.weight', [dim]);
    await perLayer('self_attn.q_proj.weight', [dim, dim], (w) => permuteRotaryRows(w, numHeads, headDim, dim));
    await perLayer('self_attn.k_proj.weight', [kvDim, dim], (w) => permuteRotaryRows(w, numKvHeads, headDim, dim));
    await perLayer('self_attn.v_proj.weight', [kvDim, dim]);
    await perLayer('self_attn.o_proj.weight', [dim, dim]);
    await perLayer('post_attention_layernorm.weight', [dim]);
    await perLayer('mlp.gate_proj.weight', [hiddenDim, dim]); // w1
    await perLayer('mlp.down_proj.weight', [dim, hiddenDim]); // w2
    await perLayer('mlp.up_proj.weight', [hiddenDim, dim]); // w3
    weights.set('model.norm.weight', { shape: [dim], data: await next(dim) });
    position += header.seqLen * headDim * 4; // skip the legacy precomputed freq_cis tables
    if (!header.sharedClassifier) {
      weights.set('lm_head.weight', { shape: [vocabSize, dim], data: await next(vocabSize * dim) });
    }
    return { header, config, weights };
  } finally {
    await handle.close();
  }
}
