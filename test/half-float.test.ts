// fp32 ⇄ fp16 conversion (model/halfFloat.ts): known values, rounding ties, subnormals, specials, the array path
// against the scalar one, and a round trip of every fp16 bit pattern. The fp16 KV cache and fp16 weights rely on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float32ToFp16Bits, fp16BitsToFloat32, narrowFp16, widenFp16 } from '../server/src/model/halfFloat';

test('known values encode to their fp16 bits and back', () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2.5, 0xc100],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [value, bits] of cases) {
    assert.equal(float32ToFp16Bits(value), bits, `${value} → 0x${bits.toString(16)}`);
    assert.ok(Object.is(fp16BitsToFloat32(bits), value), `0x${bits.toString(16)} → ${value}`);
  }
});

test('rounding is to nearest, ties to even, in the normal and the subnormal range', () => {
  assert.equal(float32ToFp16Bits(1 + 2 ** -11), 0x3c00); // tie between 1 and 1+2^-10: even is down
  assert.equal(float32ToFp16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie: even is up
  assert.equal(float32ToFp16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01); // just above the tie: up
  assert.equal(float32ToFp16Bits(2 ** -25), 0x0000); // half the smallest subnormal: tie to even (0)
  assert.equal(float32ToFp16Bits(3 * 2 ** -25), 0x0002); // 1.5 subnormal steps: tie to even (2)
  assert.equal(float32ToFp16Bits(2 ** -25 + 2 ** -35), 0x0001); // above the tie: up to the smallest subnormal
  assert.equal(float32ToFp16Bits(65519), 0x7bff); // below the overflow tie: stays finite
  assert.equal(float32ToFp16Bits(65520), 0x7c00); // the tie above 65504 rounds to even: Infinity
  assert.equal(float32ToFp16Bits(1e-9), 0x0000); // underflow to zero
  assert.equal(float32ToFp16Bits(-1e-9), 0x8000);
});

test('NaN stays NaN both ways', () => {
  const bits = float32ToFp16Bits(NaN);
  assert.equal(bits & 0x7c00, 0x7c00);
  assert.notEqual(bits & 0x3ff, 0);
  assert.ok(Number.isNaN(fp16BitsToFloat32(0x7e00)));
  assert.ok(Number.isNaN(fp16BitsToFloat32(0xfc01)));
});

test('every fp16 bit pattern survives fp16 → fp32 → fp16', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const wide = new Float32Array(65536);
  widenFp16(all, wide, 0);
  const back = new Uint16Array(65536);
  narrowFp16(wide, back, 0);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(wide[h])) assert.ok(Number.isNaN(fp16BitsToFloat32(back[h])), `NaN 0x${h.toString(16)}`);
    else assert.equal(back[h], h, `0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
  }
});

test('the array path (narrowFp16) equals the scalar path on random, tie and special values, at an offset', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const values: number[] = [];
  for (let i = 0; i < 4000; i++) values.push(random() * 2 ** Math.floor(random() * 40 - 20));
  values.push(1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -25, 3 * 2 ** -25, 65504, 65519, 65520, 1e6, -1e6, 0, -0, NaN, Infinity, -Infinity, 2 ** -14, 2 ** -15);
  const src = Float32Array.from(values);
  const dest = new Uint16Array(src.length + 3);
  narrowFp16(src, dest, 3);
  for (let i = 0; i < src.length; i++) {
    const expected = float32ToFp16Bits(src[i]);
    if (Number.isNaN(src[i])) assert.ok(Number.isNaN(fp16BitsToFloat32(dest[3 + i])));
    else assert.equal(dest[3 + i], expected, `value ${src[i]}`);
  }
  // Rounding error is at most half an fp16 step (relative 2^-11) in the normal range.
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    if (!Number.isFinite(x) || Math.abs(x) < 2 ** -14 || Math.abs(x) > 65504) continue;
    assert.ok(Math.abs(fp16BitsToFloat32(dest[3 + i]) - x) <= Math.abs(x) * 2 ** -11, `value ${x}`);
  }
});
