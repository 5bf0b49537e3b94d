// The GGUF v3 writer for Llama-family models, so llama.cpp can run the very same
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

import { closeSync, openSync, writeSync } from 'node:fs';
import type { ModelConfig, Weights } from '../model/config';
import { GGUF_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, GgmlType, QK, ValueType, alignUp, ggmlTensorBytes, type GgmlTypeName } from './ggufFormat';
import { encodeTensor } from './ggufQuantize';

/** llama_ftype values for general.file_type. */
const fileTypeOf: Record<GgmlTypeName, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

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
  /** Appends `size` bytes that `write` puts at the offset it is given. */
  private put(size: number, write: (buffer: Buffer, offset: number) => unknown): void {
    this.ensure(size);
    write(this.buffer, this.length);
    this.length += size;
  }
  u8(v: number): void {
    this.put(1, (b, o) => b.writeUInt8(v, o));
  }
  u32(v: number): void {
    this.put(4, (b, o) => b.writeUInt32LE(v, o));
  }
  i32(v: number): void {
    this.put(4, (b, o) => b.writeInt32LE(v, o));
  }
  f32(v: number): void {
    this.put(4, (b, o) => b.writeFloatLE(v, o));
  }
  u64(v: bigint | number): void {
    this.put(8, (b, o) => b.writeBigUInt64LE(BigInt(v), o));
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.put(bytes.length, (b, o) => bytes.copy(b, o));
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.put(pad, (b, o) => b.fill(0, o, o + pad));
  }
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** The GGUF type code of each kind of item, and how one is written. */
const ITEMS = {
  u32: { code: ValueType.UINT32, write: (w: ByteWriter, v: number) => w.u32(v) },
  i32: { code: ValueType.INT32, write: (w: ByteWriter, v: number) => w.i32(v) },
  f32: { code: ValueType.FLOAT32, write: (w: ByteWriter, v: number) => w.f32(v) },
  u64: { code: ValueType.UINT64, write: (w: ByteWriter, v: bigint) => w.u64(v) },
  bool: { code: ValueType.BOOL, write: (w: ByteWriter, v: boolean) => w.u8(v ? 1 : 0) },
  string: { code: ValueType.STRING, write: (w: ByteWriter, v: string) => w.string(v) },
} as const;

function writeValue(w: ByteWriter, value: GgufValue): void {
  switch (value.type) {
    case 'string[]':
      return writeArray(w, ITEMS.string, value.value);
    case 'f32[]':
      return writeArray(w, ITEMS.f32, value.value);
    case 'i32[]':
      return writeArray(w, ITEMS.i32, value.value);
    default: {
      const item = ITEMS[value.type] as { code: number; write: (w: ByteWriter, v: typeof value.value) => void };
      w.u32(item.code);
      item.write(w, value.value);
    }
  }
}

function writeArray<T>(w: ByteWriter, item: { code: number; write: (w: ByteWriter, v: T) => void }, values: ArrayLike<T>): void {
  w.u32(ValueType.ARRAY);
  w.u32(item.code);
  w.u64(values.length);
  for (let i = 0; i < values.length; i++) item.write(w, values[i]);
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
