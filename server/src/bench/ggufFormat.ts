// The GGUF v3 format's constants, shared by the writer (ggufWriter.ts), the reader (ggufReader.ts) and the
// quantizers (ggufQuantize.ts). See gguf.ts for the layout.

import type { WeightFormat } from '../graph/contract';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** ggml tensor types we write (values are ggml's enum ggml_type). */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

export const QK = 32; // elements per Q4_0/Q8_0 block
export const Q4_0_BLOCK_BYTES = 2 + QK / 2;
export const Q8_0_BLOCK_BYTES = 2 + QK;

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

/** GGUF metadata value type codes. */
export const ValueType = { UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12 } as const;

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
