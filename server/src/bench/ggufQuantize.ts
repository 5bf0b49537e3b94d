// Q8_0 and Q4_0 block quantization, bit-exact with ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref, and the
// encoding of a tensor as any GGUF type the writer emits.

import { float32ToFp16Bits } from '../model/halfFloat';
import { QK, Q4_0_BLOCK_BYTES, Q8_0_BLOCK_BYTES, type GgmlTypeName } from './ggufFormat';

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

/** `data` as the bytes of a tensor of `type`. */
export function encodeTensor(type: GgmlTypeName, data: Float32Array): Uint8Array {
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
