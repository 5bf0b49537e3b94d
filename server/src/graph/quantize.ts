// Weight packing for the formats the builder emits: fp16 bit patterns, and block-quantized ints in the layout of
// onnxruntime's com.microsoft MatMulNBits:
//   B      uint8 [N, blocksPerRow, blockSize * bits / 8]  row n = output channel; 4-bit: element 2j in the low nibble
//   scales float [N * blocksPerRow]
//   value  = (q - 2^(bits-1)) * scale            (symmetric: no zero_points input, the op's default zero point)
// K is padded with zeros up to a whole number of blocks, as the op expects.

import { narrowFp16 } from '../model/halfFloat.js';

/** fp32 → fp16 bits for a whole tensor, round to nearest even (see narrowFp16). */
export function toFp16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  narrowFp16(data, out, 0);
  return out;
}

/** [rows, cols] → [cols, rows] (onnxruntime-genai exports store MatMul weights [in, out]; HF is [out, in]). */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const rowOffset = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[rowOffset + c];
  }
  return out;
}

export type QuantBits = 4 | 8;
export const QUANT_BLOCK_SIZE = 32;

export interface BlockQuantized {
  /** uint8 [N, blocksPerRow, blobSize] */
  packed: Uint8Array;
  /** [N * blocksPerRow] */
  scales: Float32Array;
  n: number;
  k: number;
  blocksPerRow: number;
  blobSize: number;
}

/** Quantizes a [N, K] weight (HF [out, in]) per block of `blockSize` inputs, symmetric around 2^(bits-1). */
export function quantizeBlocks(data: Float32Array, n: number, k: number, bits: QuantBits, blockSize = QUANT_BLOCK_SIZE): BlockQuantized {
  if (data.length !== n * k) throw new Error(`quantizeBlocks: data has ${data.length} values, expected ${n}x${k}`);
  const blocksPerRow = Math.ceil(k / blockSize);
  const blobSize = (blockSize * bits) / 8;
  const packed = new Uint8Array(n * blocksPerRow * blobSize);
  const scales = new Float32Array(n * blocksPerRow);
  const zero = 1 << (bits - 1);
  const maxLevel = zero - 1; // symmetric range [-maxLevel, maxLevel] keeps 0 exact
  for (let row = 0; row < n; row++) {
    for (let block = 0; block < blocksPerRow; block++) {
      const start = row * k + block * blockSize;
      const count = Math.min(blockSize, k - block * blockSize);
      let absMax = 0;
      for (let j = 0; j < count; j++) absMax = Math.max(absMax, Math.abs(data[start + j]));
      const scale = absMax / maxLevel;
      const inverse = scale > 0 ? 1 / scale : 0;
      const blockIndex = row * blocksPerRow + block;
      scales[blockIndex] = scale;
      const blobOffset = blockIndex * blobSize;
      // |value * inverse| ≤ maxLevel, so value * inverse + zero + 0.5 lies in (0, 2^bits) and truncation rounds
      // half up like Math.round, without clamping. Padding columns (j ≥ count) encode 0 as `zero`.
      const bias = zero + 0.5;
      if (bits === 8) {
        for (let j = 0; j < count; j++) packed[blobOffset + j] = (data[start + j] * inverse + bias) | 0;
        for (let j = count; j < blockSize; j++) packed[blobOffset + j] = zero;
      } else {
        for (let j = 0; j < blockSize; j += 2) {
          const low = j < count ? (data[start + j] * inverse + bias) | 0 : zero;
          const high = j + 1 < count ? (data[start + j + 1] * inverse + bias) | 0 : zero;
          packed[blobOffset + (j >> 1)] = low | (high << 4);
        }
      }
    }
  }
  return { packed, scales, n, k, blocksPerRow, blobSize };
}

/** Inverse of quantizeBlocks, back to [N, K] fp32: what MatMulNBits multiplies by (used by parity tests). */
export function dequantizeBlocks(q: BlockQuantized, bits: QuantBits, blockSize = QUANT_BLOCK_SIZE): Float32Array {
  const out = new Float32Array(q.n * q.k);
  const zero = 1 << (bits - 1);
  for (let row = 0; row < q.n; row++) {
    for (let col = 0; col < q.k; col++) {
      const block = Math.floor(col / blockSize);
      const j = col % blockSize;
      const blockIndex = row * q.blocksPerRow + block;
      const byte = q.packed[blockIndex * q.blobSize + (bits === 8 ? j : j >> 1)];
      const code = bits === 8 ? byte : j & 1 ? byte >> 4 : byte & 0x0f;
      out[row * q.k + col] = (code - zero) * q.scales[blockIndex];
    }
  }
  return out;
}
