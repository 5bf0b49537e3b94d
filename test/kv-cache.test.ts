// KvCache verbs on their own (no graph): bookkeeping, CR-RoPE arithmetic, deltas, snapshots, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheError, KvCache } from '../server/src/engine/kvCache';

const shape = { numLayers: 2, numKvHeads: 2, headDim: 8, ropeTheta: 10000 };
const row = shape.numKvHeads * shape.headDim;

/** Rotate-half RoPE of one head vector at `pos` (the convention the graph uses). */
function rope(x: Float32Array, pos: number): Float32Array {
  const half = x.length / 2;
  const out = new Float32Array(x.length);
  for (let i = 0; i < half; i++) {
    const angle = pos * Math.pow(shape.ropeTheta, (-2 * i) / x.length);
    out[i] = x[i] * Math.cos(angle) - x[i + half] * Math.sin(angle);
    out[i + half] = x[i + half] * Math.cos(angle) + x[i] * Math.sin(angle);
  }
  return out;
}

function raw(slot: number, layer: number): Float32Array {
  return Float32Array.from({ length: row }, (_, i) => Math.sin(slot * 31 + layer * 7 + i));
}

/** A cache of n slots whose keys are raw(slot) rotated to position `slot`, values raw(slot). */
function filled(n: number, tags = true): KvCache<string> {
  const cache = new KvCache<string>(shape, 2);
  for (let s = 0; s < n; s++) {
    const keys = [0, 1].map((l) => {
      const r = raw(s, l);
      const k = new Float32Array(row);
      for (let h = 0; h < shape.numKvHeads; h++) k.set(rope(r.subarray(h * 8, h * 8 + 8), s), h * 8);
      return k;
    });
    cache.append(keys, [0, 1].map((l) => raw(s, l)), [s], tags ? [`t${s}`] : undefined);
  }
  return cache;
}

test('append grows capacity and keeps positions and tags', () => {
  const cache = filled(10);
  assert.equal(cache.length, 10);
  assert.ok(cache.capacity >= 10);
  assert.deepEqual(Array.from(cache.positions()), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(cache.tag(7), 't7');
  assert.equal(cache.nextPosition(), 10);
  assert.equal(cache.bytes, 10 * row * 4 * 2 * 2);
});

test('a clone is independent and keeps the capacity, so decoding from it does not re-allocate', () => {
  const cache = filled(10); // capacity 16 after doubling from 2
  const copy = cache.clone();
  assert.equal(copy.capacity, cache.capacity);
  assert.deepEqual(copy.tags(), cache.tags());
  const k = [0, 1].map(() => new Float32Array(row).fill(1));
  copy.append(k, k, [10]);
  assert.equal(copy.capacity, cache.capacity, 'an append within the capacity keeps the storage');
  assert.equal(cache.length, 10);
  assert.deepEqual(Array.from(copy.readRow('key', 1, 3)), Array.from(cache.readRow('key', 1, 3)));
});

test('remove + compactPositions equals keys rotated directly to the new positions (CR-RoPE)', () => {
  const cache = filled(12);
  cache.remove([0, 3, 4, 11]);
  cache.compactPositions(0);
  const keptOriginal = [1, 2, 5, 6, 7, 8, 9, 10];
  assert.deepEqual(cache.tags(), keptOriginal.map((s) => `t${s}`));
  assert.deepEqual(Array.from(cache.positions()), keptOriginal.map((_, i) => i));
  keptOriginal.forEach((orig, slot) => {
    for (const layer of [0, 1]) {
      const r = raw(orig, layer);
      const expected = new Float32Array(row);
      for (let h = 0; h < 2; h++) expected.set(rope(r.subarray(h * 8, h * 8 + 8), slot), h * 8);
      const got = cache.readRow('key', layer, slot);
      for (let i = 0; i < row; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-5, `slot ${slot} layer ${layer} i ${i}`);
      assert.deepEqual(cache.readRow('value', layer, slot), r);
    }
  });
});

test('keep, removeRange and truncate', () => {
  const cache = filled(8);
  cache.keep([6, 1, 1, 3]);
  assert.deepEqual(cache.tags(), ['t1', 't3', 't6']);
  const c2 = filled(8);
  c2.removeRange(2, 5);
  assert.deepEqual(c2.tags(), ['t0', 't1', 't5', 't6', 't7']);
  c2.removeRange(1, 1);
  assert.equal(c2.length, 5);
  c2.truncate(2);
  assert.deepEqual(c2.tags(), ['t0', 't1']);
  assert.equal(c2.nextPosition(), 2);
});

test('addDelta touches only the intended slot and layer', () => {
  const cache = filled(5);
  const before = cache.clone();
  const dk = new Float32Array(row).fill(0.5);
  const dv = new Float32Array(row).fill(-1);
  cache.addDelta(3, 1, dk, dv, 2, 0.25);
  for (let s = 0; s < 5; s++) {
    for (const layer of [0, 1]) {
      const k = cache.readRow('key', layer, s);
      const v = cache.readRow('value', layer, s);
      const k0 = before.readRow('key', layer, s);
      const v0 = before.readRow('value', layer, s);
      for (let i = 0; i < row; i++) {
        const hit = s === 3 && layer === 1;
        assert.ok(Math.abs(k[i] - (k0[i] + (hit ? 1 : 0))) < 1e-6);
        assert.ok(Math.abs(v[i] - (v0[i] + (hit ? -0.25 : 0))) < 1e-6);
      }
    }
  }
});

test('snapshot round-trips bit-exactly; damaged snapshots fail clearly', () => {
  const cache = filled(9);
  cache.remove([2]);
  cache.compactPositions(0);
  const bytes = cache.snapshot();
  const back = KvCache.restore<string>(bytes, (raw) => raw as string, shape);
  assert.deepEqual(back.tags(), cache.tags());
  assert.deepEqual(back.positions(), cache.positions());
  for (const layer of [0, 1]) {
    assert.deepEqual(back.keyView(layer), cache.keyView(layer));
    assert.deepEqual(back.valueView(layer), cache.valueView(layer));
  }
  assert.throws(() => KvCache.restore(bytes.subarray(0, bytes.length - 4)), /truncated/);
  assert.throws(() => KvCache.restore(new Uint8Array(20)), /not a RepoPot cache snapshot/);
  assert.throws(() => KvCache.restore(bytes, undefined, { ...shape, numLayers: 3 }), /does not match/);
});

test('edits on slots that do not exist fail with the slot named', () => {
  const cache = filled(3);
  assert.throws(() => cache.remove([3]), (e: unknown) => e instanceof CacheError && /slot 3 does not exist/.test(e.message));
  assert.throws(() => cache.addDelta(-1, 0, null, null), /slot -1/);
  assert.throws(() => cache.addDelta(0, 5, null, null), /layer 5/);
  assert.throws(() => cache.truncate(4), /outside 0..3/);
  assert.throws(() => cache.removeRange(2, 9), /outside/);
  assert.throws(() => cache.reposition([0, 1]), /2 positions for 3 slots/);
  assert.equal(cache.length, 3, 'a failed edit leaves the cache unchanged');
});
