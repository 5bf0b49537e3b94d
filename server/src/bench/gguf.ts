// A GGUF v3 writer (and a header reader for tests) for Llama-family models, so llama.cpp can run the very same
// weights our engine runs. Layout (all little-endian):
//   "GGUF" u32 version=3, u64 tensorCount, u64 metadataCount
//   metadata: { string key, u32 valueType, value }*
//   tensor infos: { string name, u32 nDims, u64 dims[nDims] (ggml ne order: fastest axis first), u32 ggmlType, u64 offset }*
//   zero padding to `general.alignment` (32), then tensor data, each tensor starting at an aligned offset.
// Strings are u64 length + UTF-8 bytes. Arrays are u32 itemType, u64 count, items.
//
// Tensor names follow llama.cpp's (token_embd.weight, blk.N.attn_q.weight, ...). Linear weights keep HF's [out, in]
// row-major bytes, which are ggml's ne = [in, out]. For architecture "llama", llama.cpp applies RoPE to adjacent
// pairs (GGML_ROPE_TYPE_NORM) while HF rotates halves, so Q/K rows are permuted per head exactly as llama.cpp's
// convert_hf_to_gguf.py does; qwen2/qwen3 use NEOX RoPE (halves), so no permutation.

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { ModelConfig, Weights } from '../model/config.js';
import { float32ToFp16Bits } from '../model/halfFloat.js';
import type { WeightFormat } from '../graph/contract.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** ggml tensor types we write (values are ggml's enum ggml_type). */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

/** llama_ftype values for general.file_type. */
const fileTypeOf: Record<GgmlTypeName, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

export const QK = 32; // elements per Q4_0/Q8_0 block
const Q4_0_BLOCK_BYTES = 2 + QK / 2;
const Q8_0_BLOCK_BYTES = 2 + QK;

/** Our engine's weight format → the GGUF type with the same bits per weight (fp32 keeps F32). */
export function ggmlTypeForWeightFormat(format: WeightFormat): GgmlTypeName {
  switch (format) {
    case 'int4':
      return 'Q4_0';
    case 'int8':
      return 'Q8_0';
    case 'fp16':
      return 'F16';
    case 'fp32':
      return 'F32';
  }
}

/** Bytes of a tensor of `elements` values stored as `type`. */
export function ggmlTensorBytes(type: GgmlTypeName, elements: number): number {
  switch (type) {
    case 'F32':
      return elements * 4;
    case 'F16':
      return elements * 2;
    case 'Q8_0':
      return (elements / QK) * Q8_0_BLOCK_BYTES;
    case 'Q4_0':
      return (elements / QK) * Q4_0_BLOCK_BYTES;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Quantization (bit-exact with ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref)

/** fp16 bits → fp32 (only for block scales: a handful per 32 values, so no table). */
function fp16BitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Q8_0: per block of 32, d = absmax/127 (stored fp16), q = round(x/d) as int8. */
export function quantizeQ8_0(data: Float32Array): Uint8Array {
  if (data.length % QK !== 0) throw new Error(`Q8_0 needs a multiple of ${QK} values, got ${data.length}`);
  const blocks = data.length / QK;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const start = b * QK;
    let absMax = 0;
    for (let j = 0; j < QK; j++) absMax = Math.max(absMax, Math.abs(data[start + j]));
    const d = Math.fround(absMax / 127); // ggml computes in fp32
    const inverse = d ? Math.fround(1 / d) : 0;
    const offset = b * Q8_0_BLOCK_BYTES;
    view.setUint16(offset, float32ToFp16Bits(d), true);
    for (let j = 0; j < QK; j++) {
      // roundf rounds half away from zero; Math.round rounds half up, so mirror negatives.
      const scaled = Math.fround(data[start + j] * inverse);
      const q = scaled < 0 ? -Math.round(-scaled) : Math.round(scaled);
      out[offset + 2 + j] = q & 0xff;
    }
  }
  return out;
}

/**
 * Q4_0: per block of 32, the signed value of largest magnitude `max` gives d = max / -8 (fp16);
 * q = min(15, trunc(x/d + 8.5)); byte j (0..15) holds element j in its low nibble and element j+16 in its high nibble.
 */
export function quantizeQ4_0(data: Float32Array): Uint8Array {
  if (data.length % QK !== 0) throw new Error(`Q4_0 needs a multiple of ${QK} values, got ${data.length}`);
  const blocks = data.length / QK;
  const out = new Uint8Array(blocks * Q4_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  const half = QK / 2;
  for (let b = 0; b < blocks; b++) {
    const start = b * QK;
    let absMax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = data[start + j];
      if (absMax < Math.abs(v)) {
        absMax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const inverse = d ? Math.fround(1 / d) : 0;
    const offset = b * Q4_0_BLOCK_BYTES;
    view.setUint16(offset, float32ToFp16Bits(d), true);
    for (let j = 0; j < half; j++) {
      // (int8_t)(x + 8.5f) truncates toward zero; values are >= 0 here except rounding noise, clamp like ggml.
      const low = Math.min(15, Math.trunc(Math.fround(data[start + j] * inverse) + 8.5));
      const high = Math.min(15, Math.trunc(Math.fround(data[start + half + j] * inverse) + 8.5));
      out[offset + 2 + j] = (low & 0x0f) | ((high & 0x0f) << 4);
    }
  }
  return out;
}

export function dequantizeQ8_0(bytes: Uint8Array, elements: number): Float32Array {
  const out = new Float32Array(elements);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < elements / QK; b++) {
    const offset = b * Q8_0_BLOCK_BYTES;
    const d = fp16BitsToFloat(view.getUint16(offset, true));
    for (let j = 0; j < QK; j++) out[b * QK + j] = view.getInt8(offset + 2 + j) * d;
  }
  return out;
}

export function dequantizeQ4_0(bytes: Uint8Array, elements: number): Float32Array {
  const out = new Float32Array(elements);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const half = QK / 2;
  for (let b = 0; b < elements / QK; b++) {
    const offset = b * Q4_0_BLOCK_BYTES;
    const d = fp16BitsToFloat(view.getUint16(offset, true));
    for (let j = 0; j < half; j++) {
      const byte = bytes[offset + 2 + j];
      out[b * QK + j] = ((byte & 0x0f) - 8) * d;
      out[b * QK + half + j] = ((byte >> 4) - 8) * d;
    }
  }
  return out;
}

function encodeTensor(type: GgmlTypeName, data: Float32Array): Uint8Array {
  switch (type) {
    case 'F32':
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    case 'F16': {
      const half = new Uint16Array(data.length);
      for (let i = 0; i < data.length; i++) half[i] = float32ToFp16Bits(data[i]);
      return new Uint8Array(half.buffer);
    }
    case 'Q8_0':
      return quantizeQ8_0(data);
    case 'Q4_0':
      return quantizeQ4_0(data);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Names and layout

/** Maps a Hugging Face tensor name onto llama.cpp's; undefined for names llama.cpp has no slot for. */
export function llamaCppTensorName(hfName: string): string | undefined {
  if (hfName === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hfName === 'model.norm.weight') return 'output_norm.weight';
  if (hfName === 'lm_head.weight') return 'output.weight';
  const match = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (!match) return undefined;
  const suffixes: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight',
    'self_attn.q_proj.weight': 'attn_q.weight',
    'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.v_proj.weight': 'attn_v.weight',
    'self_attn.q_proj.bias': 'attn_q.bias',
    'self_attn.k_proj.bias': 'attn_k.bias',
    'self_attn.v_proj.bias': 'attn_v.bias',
    'self_attn.q_norm.weight': 'attn_q_norm.weight',
    'self_attn.k_norm.weight': 'attn_k_norm.weight',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  };
  const suffix = suffixes[match[2]];
  return suffix === undefined ? undefined : `blk.${match[1]}.${suffix}`;
}

/**
 * HF rotate-half Q/K rows → llama.cpp's interleaved-pair rows, per head (convert_hf_to_gguf.py's permute):
 * within each head, new row 2i = old row i, new row 2i+1 = old row i + headDim/2.
 */
export function permuteForInterleavedRope(data: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const base = h * headDim;
      out.set(data.subarray((base + i) * cols, (base + i + 1) * cols), (base + 2 * i) * cols);
      out.set(data.subarray((base + half + i) * cols, (base + half + i + 1) * cols), (base + 2 * i + 1) * cols);
    }
  }
  return out;
}

/** Same permutation for a bias vector (one value per row). */
function permuteBias(data: Float32Array, heads: number): Float32Array {
  return permuteForInterleavedRope(data, data.length, 1, heads);
}

// ---------------------------------------------------------------------------------------------------------------
// Metadata values

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'u64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: string[] }
  | { type: 'f32[]'; value: Float32Array }
  | { type: 'i32[]'; value: Int32Array };

const ValueType = { UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12 } as const;

/** Growable little-endian byte sink for the header (metadata can be a few MB with a large fake vocab). */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buffer.writeUInt8(v, this.length);
    this.length += 1;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buffer.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.buffer.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.ensure(4);
    this.buffer.writeFloatLE(v, this.length);
    this.length += 4;
  }
  u64(v: bigint | number): void {
    this.ensure(8);
    this.buffer.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.ensure(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.ensure(pad);
    this.buffer.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeValue(w: ByteWriter, value: GgufValue): void {
  switch (value.type) {
    case 'u32':
      w.u32(ValueType.UINT32);
      w.u32(value.value);
      return;
    case 'i32':
      w.u32(ValueType.INT32);
      w.i32(value.value);
      return;
    case 'f32':
      w.u32(ValueType.FLOAT32);
      w.f32(value.value);
      return;
    case 'u64':
      w.u32(ValueType.UINT64);
      w.u64(value.value);
      return;
    case 'bool':
      w.u32(ValueType.BOOL);
      w.u8(value.value ? 1 : 0);
      return;
    case 'string':
      w.u32(ValueType.STRING);
      w.string(value.value);
      return;
    case 'string[]':
      w.u32(ValueType.ARRAY);
      w.u32(ValueType.STRING);
      w.u64(value.value.length);
      for (const s of value.value) w.string(s);
      return;
    case 'f32[]':
      w.u32(ValueType.ARRAY);
      w.u32(ValueType.FLOAT32);
      w.u64(value.value.length);
      for (const v of value.value) w.f32(v);
      return;
    case 'i32[]':
      w.u32(ValueType.ARRAY);
      w.u32(ValueType.INT32);
      w.u64(value.value.length);
      for (const v of value.value) w.i32(v);
      return;
  }
}

/**
 * A stand-in SentencePiece vocabulary of `vocabSize` unique pieces: <unk>, <s>, </s>, the 256 byte tokens
 * (llama.cpp looks up <0x0A> for the newline id), then "t259", "t260", ... Random weights have no real
 * tokenizer, and the benchmark feeds token ids directly, so only the count and uniqueness matter.
 */
export function fakeSpmVocab(vocabSize: number): { tokens: string[]; scores: Float32Array; types: Int32Array } {
  const tokens: string[] = [];
  const types = new Int32Array(vocabSize);
  const special = ['<unk>', '<s>', '</s>'];
  for (let id = 0; id < vocabSize; id++) {
    if (id < special.length) {
      tokens.push(special[id]);
      types[id] = id === 0 ? 2 : 3; // UNKNOWN, CONTROL
    } else if (id < special.length + 256) {
      tokens.push(`<0x${(id - special.length).toString(16).toUpperCase().padStart(2, '0')}>`);
      types[id] = 6; // BYTE
    } else {
      tokens.push(`t${id}`);
      types[id] = 1; // NORMAL
    }
  }
  return { tokens, scores: new Float32Array(vocabSize), types };
}

/** The llama.cpp architecture name for our config (qwen2 needs its own: q/k/v biases; qwen3: q/k norms). */
export function llamaCppArchitecture(config: ModelConfig): 'llama' | 'qwen2' | 'qwen3' {
  return config.architecture;
}

export interface GgufWriteOptions {
  /** Type of the 2-D weights (all of them, embeddings and lm_head included, like llama-quantize --pure). */
  type: GgmlTypeName;
  /** Written as <arch>.context_length; llama.cpp caps contexts to it only with a warning. */
  contextLength?: number;
  name?: string;
}

export interface GgufWriteResult {
  path: string;
  fileBytes: number;
  /** Bytes of tensor data (weights only), for bytes-per-token accounting. */
  tensorBytes: number;
  tensorCount: number;
}

interface PlannedTensor {
  hfName: string;
  ggufName: string;
  /** ggml ne order (fastest axis first): HF [out, in] → [in, out]. */
  dims: number[];
  type: GgmlTypeName;
  offset: number;
  bytes: number;
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Writes `weights` (HF names, fp32) as a GGUF file llama.cpp can load. Streams one tensor at a time. */
export function writeGgufModel(path: string, config: ModelConfig, weights: Weights, options: GgufWriteOptions): GgufWriteResult {
  const arch = llamaCppArchitecture(config);
  const metadata: [string, GgufValue][] = [
    ['general.architecture', { type: 'string', value: arch }],
    ['general.name', { type: 'string', value: options.name ?? `repopot-random-${arch}` }],
    ['general.file_type', { type: 'u32', value: fileTypeOf[options.type] }],
    ['general.quantization_version', { type: 'u32', value: 2 }],
    ['general.alignment', { type: 'u32', value: GGUF_ALIGNMENT }],
    [`${arch}.context_length`, { type: 'u32', value: options.contextLength ?? config.maxPositions }],
    [`${arch}.embedding_length`, { type: 'u32', value: config.hiddenSize }],
    [`${arch}.block_count`, { type: 'u32', value: config.numLayers }],
    [`${arch}.feed_forward_length`, { type: 'u32', value: config.intermediateSize }],
    [`${arch}.attention.head_count`, { type: 'u32', value: config.numHeads }],
    [`${arch}.attention.head_count_kv`, { type: 'u32', value: config.numKvHeads }],
    [`${arch}.attention.key_length`, { type: 'u32', value: config.headDim }],
    [`${arch}.attention.value_length`, { type: 'u32', value: config.headDim }],
    [`${arch}.rope.dimension_count`, { type: 'u32', value: config.headDim }],
    [`${arch}.rope.freq_base`, { type: 'f32', value: config.ropeTheta }],
    [`${arch}.attention.layer_norm_rms_epsilon`, { type: 'f32', value: config.rmsNormEps }],
    [`${arch}.vocab_size`, { type: 'u32', value: config.vocabSize }],
  ];
  const vocab = fakeSpmVocab(config.vocabSize);
  metadata.push(
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32[]', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  );

  // Plan tensors in HF order; 1-D tensors (norms, biases) stay F32 as llama.cpp's converter keeps them.
  const planned: PlannedTensor[] = [];
  let offset = 0;
  for (const [hfName, tensor] of weights) {
    const ggufName = llamaCppTensorName(hfName);
    if (ggufName === undefined) throw new Error(`GGUF: no llama.cpp name for tensor ${hfName}`);
    const dims = [...tensor.shape].reverse();
    const elements = tensor.data.length;
    let type: GgmlTypeName = tensor.shape.length >= 2 ? options.type : 'F32';
    if ((type === 'Q4_0' || type === 'Q8_0') && dims[0] % QK !== 0) type = 'F16'; // rows must hold whole blocks
    const bytes = ggmlTensorBytes(type, elements);
    offset = alignUp(offset, GGUF_ALIGNMENT);
    planned.push({ hfName, ggufName, dims, type, offset, bytes });
    offset += bytes;
  }

  const header = new ByteWriter();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(planned.length);
  header.u64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, value);
  }
  for (const t of planned) {
    header.string(t.ggufName);
    header.u32(t.dims.length);
    for (const d of t.dims) header.u64(d);
    header.u32(GgmlType[t.type]);
    header.u64(t.offset);
  }
  header.padTo(GGUF_ALIGNMENT);

  const fd = openSync(path, 'w');
  let tensorBytes = 0;
  try {
    writeSync(fd, header.bytes());
    let written = 0;
    const zeros = Buffer.alloc(GGUF_ALIGNMENT);
    for (const t of planned) {
      const pad = t.offset - written;
      if (pad > 0) writeSync(fd, zeros, 0, pad);
      const data = ropeLayout(config, t.hfName, weights.get(t.hfName)!.data);
      const bytes = encodeTensor(t.type, data);
      if (bytes.byteLength !== t.bytes) throw new Error(`GGUF: ${t.ggufName} encoded to ${bytes.byteLength} bytes, planned ${t.bytes}`);
      writeSync(fd, bytes);
      written = t.offset + t.bytes;
      tensorBytes += t.bytes;
    }
  } finally {
    closeSync(fd);
  }
  return { path, fileBytes: header.length + offset, tensorBytes, tensorCount: planned.length };
}

/** Applies the llama-architecture Q/K row permutation where llama.cpp needs it; other tensors pass through. */
function ropeLayout(config: ModelConfig, hfName: string, data: Float32Array): Float32Array {
  if (llamaCppArchitecture(config) !== 'llama') return data;
  const match = /^model\.layers\.\d+\.self_attn\.([qk])_proj\.(weight|bias)$/.exec(hfName);
  if (!match) return data;
  const heads = match[1] === 'q' ? config.numHeads : config.numKvHeads;
  if (match[2] === 'bias') return permuteBias(data, heads);
  const rows = heads * config.headDim;
  return permuteForInterleavedRope(data, rows, data.length / rows, heads);
}

// ---------------------------------------------------------------------------------------------------------------
// Reader (header, metadata and tensor infos; tests and sanity checks)

export type GgufReadValue = number | bigint | boolean | string | GgufReadValue[];

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: number;
  /** Absolute file offset of the tensor's data. */
  fileOffset: number;
}

export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufReadValue>;
  tensors: GgufTensorInfo[];
  dataStart: number;
}

/** Parses a GGUF file's header. Reads the whole header into memory (the tensor data is not touched). */
export function readGgufHeader(path: string, maxHeaderBytes = 64 << 20): GgufHeader {
  const fd = openSync(path, 'r');
  let buffer: Buffer;
  try {
    buffer = Buffer.alloc(maxHeaderBytes);
    const read = readSync(fd, buffer, 0, maxHeaderBytes, 0);
    buffer = buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
  let pos = 0;
  const u32 = (): number => {
    const v = buffer.readUInt32LE(pos);
    pos += 4;
    return v;
  };
  const u64 = (): bigint => {
    const v = buffer.readBigUInt64LE(pos);
    pos += 8;
    return v;
  };
  const str = (): string => {
    const length = Number(u64());
    const s = buffer.toString('utf8', pos, pos + length);
    pos += length;
    return s;
  };
  const scalar = (type: number): GgufReadValue => {
    switch (type) {
      case ValueType.UINT8:
        return buffer.readUInt8(pos++);
      case ValueType.INT8:
        return buffer.readInt8(pos++);
      case ValueType.UINT16:
        pos += 2;
        return buffer.readUInt16LE(pos - 2);
      case ValueType.INT16:
        pos += 2;
        return buffer.readInt16LE(pos - 2);
      case ValueType.UINT32:
        return u32();
      case ValueType.INT32:
        pos += 4;
        return buffer.readInt32LE(pos - 4);
      case ValueType.FLOAT32:
        pos += 4;
        return buffer.readFloatLE(pos - 4);
      case ValueType.BOOL:
        return buffer.readUInt8(pos++) !== 0;
      case ValueType.STRING:
        return str();
      case ValueType.UINT64:
        return u64();
      case ValueType.INT64:
        pos += 8;
        return buffer.readBigInt64LE(pos - 8);
      case ValueType.FLOAT64:
        pos += 8;
        return buffer.readDoubleLE(pos - 8);
      case ValueType.ARRAY: {
        const itemType = u32();
        const count = Number(u64());
        const items: GgufReadValue[] = [];
        for (let i = 0; i < count; i++) items.push(scalar(itemType));
        return items;
      }
      default:
        throw new Error(`GGUF: unknown value type ${type} at byte ${pos}`);
    }
  };
  if (u32() !== GGUF_MAGIC) throw new Error(`${path} is not a GGUF file`);
  const version = u32();
  const tensorCount = Number(u64());
  const kvCount = Number(u64());
  const metadata = new Map<string, GgufReadValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    metadata.set(key, scalar(u32()));
  }
  const infos: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(Number(u64()));
    infos.push({ name, dims, type: u32(), offset: Number(u64()) });
  }
  const alignment = metadata.get('general.alignment');
  const dataStart = alignUp(pos, typeof alignment === 'number' ? alignment : GGUF_ALIGNMENT);
  return {
    version,
    metadata,
    tensors: infos.map((t) => ({ name: t.name, dims: t.dims, type: t.type, fileOffset: dataStart + t.offset })),
    dataStart,
  };
}

/** Reads one tensor's raw bytes (tests: dequantize and compare). */
export function readGgufTensorBytes(path: string, tensor: GgufTensorInfo, bytes: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const out = new Uint8Array(bytes);
    readSync(fd, out, 0, bytes, tensor.fileOffset);
    return out;
  } finally {
    closeSync(fd);
  }
}
