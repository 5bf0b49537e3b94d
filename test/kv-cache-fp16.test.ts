// The fp16 KV cache (kvDtype 'fp16') against the fp32 one, verb by verb, in every storage layout: moves give the fp32
// cache's values rounded to fp16; computing verbs (reposition, addDelta) give the fp32 cache's result on the same
// rounded values, rounded; snapshots keep the stored bits exactly, convert between dtypes on request, and fp32
// snapshots keep their version-1 bytes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KvCache, type CacheLayout, type KvStorage } from '../server/src/engine/kvCache';
import { toFp16 } from '../server/src/graph/quantize';
import { widenFp16 } from '../server/src/model/halfFloat';

const shape = { numLayers: 2, numKvHeads: 2, headDim: 8, ropeTheta: 10000 };
const row = shape.numKvHeads * shape.headDim;

/** Rows with values spread over several binades (so rounding matters), deterministic per (slot, layer, side). */
function raw(slot: number, layer: number, side: number): Float32Array {
  return Float32Array.from({ length: row }, (_, i) => Math.sin(slot * 31 + layer * 7 + side * 3 + i) * 2 ** ((i % 5) - 2));
}

function rounded(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  widenFp16(toFp16(x), out, 0);
  return out;
}

/** n slots at positions 0..n-1 (keys are just rows here: the verbs do not care what they mean). */
function filled(n: number, kvDtype: 'fp32' | 'fp16', layout: CacheLayout, round = false): KvCache<string> {
  const cache = new KvCache<string>(shape, 2, { kvDtype, layout });
  const prep = round ? rounded : (x: Float32Array) => x;
  for (let s = 0; s < n; s++) {
    cache.append(
      [0, 1].map((l) => prep(raw(s, l, 0))),
      [0, 1].map((l) => prep(raw(s, l, 1))),
      [s],
      [`t${s}`],
    );
  }
  return cache;
}

function bits(data: KvStorage): Uint16Array {
  assert.ok(data instanceof Uint16Array, 'an fp16 cache feeds fp16 bits');
  return data;
}

/** `half` holds exactly `full`'s values rounded to fp16, with the same positions and tags. */
function assertRounded(half: KvCache<string>, full: KvCache<string>, what: string): void {
  assert.equal(half.kvDtype, 'fp16');
  assert.equal(full.kvDtype, 'fp32');
  assert.deepEqual(half.tags(), full.tags(), `${what}: tags`);
  assert.deepEqual(half.positions(), full.positions(), `${what}: positions`);
  for (let l = 0; l < shape.numLayers; l++) {
    assert.deepEqual(bits(half.keyFeed(l)), toFp16(full.keyView(l)), `${what}: layer ${l} keys`);
    assert.deepEqual(bits(half.valueFeed(l)), toFp16(full.valueView(l)), `${what}: layer ${l} values`);
  }
}

for (const layout of ['token', 'head', 'headT'] as const) {
  describe(`fp16 cache, ${layout} layout`, () => {
    test('append rounds to fp16; keep, remove, removeRange, truncate move the bits', () => {
      const half = filled(11, 'fp16', layout);
      const full = filled(11, 'fp32', layout);
      assertRounded(half, full, 'append');
      for (const c of [half, full]) {
        c.keep([10, 0, 3, 3, 4, 5, 6, 7, 8]);
        c.remove([1, 5]);
        c.removeRange(2, 3);
        c.truncate(5);
      }
      assertRounded(half, full, 'moves');
      assert.equal(half.bytes * 2, full.bytes, 'fp16 holds half the bytes');
    });

    test('reposition (CR-RoPE) equals the fp32 cache on the rounded values, rounded; there and back stays within fp16 error', () => {
      const half = filled(9, 'fp16', layout);
      const reference = filled(9, 'fp32', layout, true);
      assertRounded(half, reference, 'before');
      for (const c of [half, reference]) {
        c.remove([0, 4]);
        c.compactPositions(3);
      }
      assertRounded(half, reference, 'after compactPositions');
      // The fp16 cache rounded after that rotation; round the reference too before the next one.
      reference.setKvDtype('fp16');
      reference.setKvDtype('fp32');
      for (const c of [half, reference]) c.reposition([100, 7, 5, 2000, 9, 11, 12]);
      assertRounded(half, reference, 'after reposition');

      const original = filled(9, 'fp16', layout);
      const moved = original.clone();
      moved.reposition([50, 51, 52, 53, 54, 55, 56, 57, 500]);
      moved.reposition([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      let worst = 0;
      for (let l = 0; l < shape.numLayers; l++) {
        const a = original.keyView(l);
        const b = moved.keyView(l);
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        assert.deepEqual(moved.valueFeed(l), original.valueFeed(l), 'values never move');
      }
      // Values reach 2 (2^-10 fp16 spacing there, 2^-11 for 1..2): two roundings stay within a few spacings.
      assert.ok(worst > 0 && worst < 4 * 2 ** -10, `there and back differs by ${worst}`);
    });

    test('addDelta equals the fp32 cache on the rounded values, rounded', () => {
      const half = filled(5, 'fp16', layout);
      const reference = filled(5, 'fp32', layout, true);
      const dk = Float32Array.from({ length: row }, (_, i) => 0.1 * i - 0.37);
      const dv = Float32Array.from({ length: row }, (_, i) => 0.01 * i);
      for (const c of [half, reference]) {
        c.addDelta(3, 1, dk, dv, 2, 0.25);
        c.addDelta(0, 0, null, dv, 1, -3);
      }
      assertRounded(half, reference, 'addDelta');
    });

    test('readRow and keyView widen the stored bits; setLayout and clone keep them', () => {
      const half = filled(6, 'fp16', layout);
      const full = filled(6, 'fp32', layout);
      for (let l = 0; l < shape.numLayers; l++) {
        assert.deepEqual(half.keyView(l), rounded(full.keyView(l)));
        for (let s = 0; s < 6; s++) assert.deepEqual(half.readRow('value', l, s), rounded(full.readRow('value', l, s)));
      }
      const copy = half.clone();
      assert.equal(copy.kvDtype, 'fp16');
      assert.equal(copy.layout, layout);
      copy.setLayout(layout === 'token' ? 'head' : 'token');
      full.setLayout(layout === 'token' ? 'head' : 'token');
      assertRounded(copy, full, 'clone + setLayout');
      copy.addDelta(0, 0, new Float32Array(row).fill(1), null);
      assert.deepEqual(bits(half.keyFeed(0)), toFp16(filled(6, 'fp32', layout).keyView(0)), 'the clone is independent');
      // The buffer a fused graph reads is the fp16 storage itself.
      assert.ok(half.keyBuffer(0) instanceof Uint16Array);
    });

    test('snapshot round-trips the fp16 bits exactly; restore converts between dtypes on request', () => {
      const half = filled(7, 'fp16', layout);
      half.remove([2]);
      half.compactPositions(0);
      const bytes = half.snapshot();
      assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true), 2, 'fp16 snapshots are version 2');
      const back = KvCache.restore<string>(bytes, (t) => t as string, shape);
      assert.equal(back.kvDtype, 'fp16');
      assert.deepEqual(back.tags(), half.tags());
      assert.deepEqual(back.positions(), half.positions());
      for (let l = 0; l < shape.numLayers; l++) {
        assert.deepEqual(back.keyFeed(l), half.keyFeed(l));
        assert.deepEqual(back.valueFeed(l), half.valueFeed(l));
      }
      assert.deepEqual(back.snapshot(), bytes, 'snapshot → restore → snapshot is the same bytes');

      const wide = KvCache.restore<string>(bytes, (t) => t as string, shape, { kvDtype: 'fp32' });
      assert.equal(wide.kvDtype, 'fp32');
      for (let l = 0; l < shape.numLayers; l++) assert.deepEqual(wide.keyView(l), half.keyView(l), 'fp16 → fp32 is exact');

      const full = filled(7, 'fp32', layout);
      const fullBytes = full.snapshot();
      const view = new DataView(fullBytes.buffer, fullBytes.byteOffset);
      assert.equal(view.getUint32(4, true), 1, 'fp32 snapshots stay version 1');
      assert.ok(!Buffer.from(fullBytes.subarray(12, 12 + view.getUint32(8, true))).toString('utf8').includes('kvDtype'));
      const narrowed = KvCache.restore<string>(fullBytes, (t) => t as string, shape, { kvDtype: 'fp16' });
      assertRounded(narrowed, full, 'fp32 snapshot restored as fp16');

      assert.throws(() => KvCache.restore(bytes.subarray(0, bytes.length - 2)), /truncated/);
    });
  });
}

test('an fp16 snapshot whose header lost its kvDtype, or names another, fails clearly', () => {
  const bytes = filled(2, 'fp16', 'token').snapshot();
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const header = Buffer.from(bytes.subarray(12, 12 + headerLength)).toString('utf8');
  for (const [from, to, message] of [
    ['"kvDtype":"fp16"', '"kvDtyp_":"fp16"', /names no kvDtype/],
    ['"kvDtype":"fp16"', '"kvDtype":"bf16"', /kvDtype bf16 is not one of fp32, fp16/],
  ] as const) {
    const damaged = bytes.slice();
    damaged.set(Buffer.from(header.replace(from, to), 'utf8'), 12);
    assert.throws(() => KvCache.restore(damaged), message);
  }
});

test('setKvDtype converts in place; an unknown dtype is refused', () => {
  const cache = filled(4, 'fp32', 'token');
  const reference = filled(4, 'fp32', 'token');
  cache.setKvDtype('fp16');
  assertRounded(cache, reference, 'fp32 → fp16');
  cache.setKvDtype('fp32');
  for (let l = 0; l < shape.numLayers; l++) assert.deepEqual(cache.keyView(l), rounded(reference.keyView(l)));
  assert.throws(() => new KvCache(shape, 4, { kvDtype: 'fp8' as never }), /kvDtype must be one of fp32, fp16/);
});
