// Conversions between fp32 and the two 16-bit float formats found in checkpoints (IEEE fp16 and bfloat16), also used
// by the fp16 KV cache (engine/kvCache.ts), which stores fp16 bit patterns in Uint16Arrays (Node has no Float16Array).
// Widening works on whole arrays through integer views: it runs once per tensor on import, over up to billions of values.

let fp16Table: Float32Array | undefined;

/** All 65,536 fp16 bit patterns as fp32 (256 KiB), built on first use: a lookup beats per-value bit twiddling. */
function fp16ToFloat32Table(): Float32Array {
  if (fp16Table) return fp16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24; // zero and subnormals
    else if (exponent === 0x1f) table[h] = mantissa ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  fp16Table = table;
  return table;
}

/** One fp16 bit pattern as a number (exact: every fp16 value is an fp32 value). */
export function fp16BitsToFloat32(bits: number): number {
  return fp16ToFloat32Table()[bits & 0xffff];
}

/** Widens `count` fp16 values from `src` into `dest` starting at `destOffset`. */
export function widenFp16(src: Uint16Array, dest: Float32Array, destOffset: number): void {
  const table = fp16ToFloat32Table();
  for (let i = 0; i < src.length; i++) dest[destOffset + i] = table[src[i]];
}

/** Widens bf16 values: a bf16 is the top half of an fp32, so shifting the bits is exact. */
export function widenBf16(src: Uint16Array, dest: Float32Array, destOffset: number): void {
  const destBits = new Uint32Array(dest.buffer, dest.byteOffset + destOffset * 4, src.length);
  for (let i = 0; i < src.length; i++) destBits[i] = src[i] << 16;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** fp32 → bf16 bits, round to nearest even; NaN stays a (quiet) NaN. */
export function float32ToBf16Bits(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0];
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** fp32 → fp16 bits, round to nearest even, overflow to ±Infinity, underflow through subnormals to ±0. */
export function float32ToFp16Bits(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000; // restore the implicit leading 1, then shift into subnormal range
    const shift = 14 - halfExponent;
    const halfMantissa = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const roundUp = remainder > halfway || (remainder === halfway && halfMantissa & 1) ? 1 : 0;
    return sign | (halfMantissa + roundUp);
  }
  const halfMantissa = mantissa >>> 13;
  const remainder = mantissa & 0x1fff;
  const roundUp = remainder > 0x1000 || (remainder === 0x1000 && halfMantissa & 1) ? 1 : 0;
  // A carry out of the mantissa correctly bumps the exponent (and may reach Infinity).
  return sign | ((halfExponent << 10) + halfMantissa + roundUp);
}

/**
 * Narrows `src` into fp16 bits in `dest` from `destOffset`, round to nearest even (as float32ToFp16Bits). Values in
 * fp16's normal range take an inlined bit path (this runs over every weight of a 0.5B model, and over every K/V row
 * the fp16 cache appends); zeros, subnormals, overflow and NaN go through float32ToFp16Bits.
 */
export function narrowFp16(src: Float32Array, dest: Uint16Array, destOffset = 0): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    const exponent = ((x >>> 23) & 0xff) - 112; // rebias 127 → 15
    if (exponent > 0 && exponent < 31) {
      const mantissa = x & 0x7fffff;
      let half = ((x >>> 16) & 0x8000) | (exponent << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent is still correct
      dest[destOffset + i] = half;
    } else {
      dest[destOffset + i] = float32ToFp16Bits(src[i]);
    }
  }
}
