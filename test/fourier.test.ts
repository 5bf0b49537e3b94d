// The Fourier tier on its own (no graph): the spectral basis, bit-exactness when nothing is approximated,
// the expected error on smooth signals, snapshots, and the cache verbs on tier slots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvCache, type CacheShape } from '../server/src/engine/kvCache';
import { FourierKvCache } from '../server/src/fourier/tier';
import { SpectralBasis } from '../server/src/fourier/basis';
import { emptyLayout, fullLayout, type FourierLayout } from '../server/src/fourier/layout';
import { attentionError } from '../server/src/fourier/calibrate';
import { RotationTable } from '../server/src/fourier/rotation';
import { keyRopeFrequencies } from '../server/src/engine/kvCache';

const shape: CacheShape = { numLayers: 2, numKvHeads: 2, headDim: 8, ropeTheta: 10000 };
const row = shape.numKvHeads * shape.headDim;
const tierOptions = { sink: 2, window: 4, batch: 4, capacity: 64, coefficients: 16 };

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

/** Pre-RoPE K/V rows: smooth in the slot index (low frequencies), or rough (pseudo-random). */
function rawRow(slot: number, layer: number, smooth: boolean): Float32Array {
  return Float32Array.from({ length: row }, (_, i) =>
    smooth ? Math.cos((2 * Math.PI * slot * (1 + (i % 3))) / 200 + layer + i) + 0.5 * Math.sin(slot / 37 + i) : Math.sin(slot * 12.9898 + i * 78.233 + layer) * 43758.5453 % 1,
  );
}

function fill<T, C extends KvCache<T>>(cache: C, n: number, smooth = true, from = 0, tag: (slot: number) => T = (slot) => `t${slot}` as T): C {
  for (let s = from; s < from + n; s++) {
    const keys = [0, 1].map((l) => {
      const r = rawRow(s, l, smooth);
      const k = new Float32Array(row);
      for (let h = 0; h < shape.numKvHeads; h++) k.set(rope(r.subarray(h * 8, h * 8 + 8), s), h * 8);
      return k;
    });
    cache.append(keys, [0, 1].map((l) => rawRow(s, l, smooth)), [s], [tag(s)]);
  }
  return cache;
}

function views(cache: KvCache<string>): Float32Array[] {
  return [0, 1].flatMap((l) => [cache.keyView(l).slice(), cache.valueView(l).slice()]);
}

/** A layout approximating key pair 1 and value dims 2, 5 of every head. */
function partialLayout(): FourierLayout {
  const layout = emptyLayout(shape);
  layout.keyPairs = [0, 1].map(() => [[1], [1]]);
  layout.valueDims = [0, 1].map(() => [[2, 5], [2, 5]]);
  return layout;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** The same verbs, in the same order, on any cache. */
function exercise(cache: KvCache<string>): void {
  fill(cache, 40);
  cache.keep([0, 1, 3, 5, 8, 9, 10, 15, 20, 21, 22, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
  cache.compactPositions(0);
  fill(cache, 12, true, 100);
  cache.addDelta(6, 1, Float32Array.from({ length: row }, (_, i) => 0.01 * i), Float32Array.from({ length: row }, (_, i) => -0.02 * i), 1.5, 0.5);
  cache.remove([2, 7]);
  cache.reposition(Array.from({ length: cache.length }, (_, s) => 3 + 2 * s));
  cache.removeRange(0, 1);
  cache.truncate(cache.length - 2);
}

test('spectral basis is orthonormal and exact on signals inside its span', () => {
  const b = new SpectralBasis(64, 16);
  for (const [p, q] of [[0, 0], [3, 3], [2, 7], [0, 15]]) {
    let s = 0;
    for (let t = 0; t < 64; t++) s += b.phi(p, t) * b.phi(q, t);
    assert.ok(Math.abs(s - (p === q ? 1 : 0)) < 1e-12, `⟨φ${p}, φ${q}⟩ = ${s}`);
  }
  const x = Float64Array.from({ length: 64 }, (_, t) => 2 * b.phi(0, t) - 0.7 * b.phi(3, t) + 0.2 * b.phi(15, t));
  const back = b.reconstruct(b.project(x), 64);
  for (let t = 0; t < 64; t++) assert.ok(Math.abs(back[t] - x[t]) < 1e-6);
});

test('a smooth signal is reconstructed to the error Parseval predicts', () => {
  const L = 256;
  const m = 16;
  const x = Float64Array.from({ length: L }, (_, t) => Math.exp(-(((t - 90) / 40) ** 2)) + 0.3 * Math.cos(t / 50));
  const full = new SpectralBasis(L, L);
  const c = full.project(x);
  let tail = 0;
  for (let n = m; n < L; n++) tail += c[n] ** 2;
  const b = new SpectralBasis(L, m);
  const xh = b.reconstruct(b.project(x), L);
  let err = 0;
  let energy = 0;
  for (let t = 0; t < L; t++) {
    err += (x[t] - xh[t]) ** 2;
    energy += x[t] ** 2;
  }
  assert.ok(Math.abs(err - tail) <= 1e-6 * energy, `error ${err} vs discarded energy ${tail}`);
  assert.ok(err / energy < 1e-4, `relative error ${err / energy} for a smooth signal with ${m}/${L} coefficients`);
  // A rough signal with the same coefficient count loses most of its energy: the test can fail.
  const rough = Float64Array.from({ length: L }, (_, t) => ((Math.sin(t * 12.9898) * 43758.5453) % 1) - 0.0);
  const rh = b.reconstruct(b.project(rough), L);
  let rerr = 0;
  let renergy = 0;
  for (let t = 0; t < L; t++) {
    rerr += (rough[t] - rh[t]) ** 2;
    renergy += rough[t] ** 2;
  }
  assert.ok(rerr / renergy > 0.5, `rough signal relative error ${rerr / renergy}`);
});

test('the tier with every dimension sensitive equals the exact cache bit for bit, under every verb', () => {
  const exact = new KvCache<string>(shape, 4);
  const tier = new FourierKvCache<string>(shape, emptyLayout(shape), tierOptions, 4);
  exercise(exact);
  exercise(tier);
  assert.ok(tier.tierLength > 0, 'slots entered the tier');
  assert.deepEqual(Array.from(tier.positions()), Array.from(exact.positions()));
  assert.deepEqual(tier.tags(), exact.tags());
  const a = views(exact);
  const b = views(tier);
  a.forEach((v, i) => assert.ok(sameBits(v, b[i]), `view ${i} differs`));
  assert.equal(tier.bytes, exact.bytes);
  // And the check can fail: with every dimension approximated the views differ.
  const lossy = new FourierKvCache<string>(shape, fullLayout(shape), tierOptions, 4);
  exercise(lossy);
  assert.ok(views(lossy).some((v, i) => !sameBits(v, a[i])));
});

test('smooth K/V through the tier: approximated dims close, sensitive dims and exact slots bit for bit', () => {
  const exact = fill(new KvCache<string>(shape, 4), 60);
  const tier = fill(new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4), 60);
  assert.ok(tier.tierLength >= 60 - tierOptions.sink - tierOptions.window - tierOptions.batch, 'the window joins the tier in batches');
  tier.settle();
  assert.equal(tier.tierLength, 60 - tierOptions.sink - tierOptions.window);
  const approxK = new Set([1, 5, 9, 13]);
  const approxV = new Set([2, 5, 10, 13]);
  let err = 0;
  let energy = 0;
  for (let l = 0; l < 2; l++) {
    for (const [side, approx] of [['key', approxK], ['value', approxV]] as const) {
      const e = side === 'key' ? exact.keyView(l) : exact.valueView(l);
      const f = side === 'key' ? tier.keyView(l) : tier.valueView(l);
      for (let s = 0; s < 60; s++) {
        const inTier = s >= tierOptions.sink && s < tierOptions.sink + tier.tierLength;
        for (let i = 0; i < row; i++) {
          const at = s * row + i;
          if (inTier && approx.has(i)) {
            err += (e[at] - f[at]) ** 2;
            energy += e[at] ** 2;
          } else {
            assert.ok(Object.is(e[at], f[at]), `exact entry ${side} l${l} s${s} i${i}`);
          }
        }
      }
    }
  }
  assert.ok(err / energy < 0.02, `relative error of approximated entries ${err / energy}`);
  assert.ok(tier.bytes < exact.bytes, 'the tier keeps fewer bytes');
});

test('re-positioning tier slots equals re-positioning the exact cache (to the approximation error)', () => {
  const exact = fill(new KvCache<string>(shape, 4), 60);
  const tier = fill(new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4), 60);
  const before = tier.keyView(0).slice();
  const target = Array.from({ length: 60 }, (_, s) => 2 * s + 7);
  exact.reposition(target);
  tier.reposition(target);
  const e = exact.keyView(0);
  const f = tier.keyView(0);
  let err = 0;
  let energy = 0;
  for (let i = 0; i < e.length; i++) {
    err += (e[i] - f[i]) ** 2;
    energy += e[i] ** 2;
  }
  assert.ok(err / energy < 0.01, `after reposition: relative error ${err / energy}`);
  // Moving back restores the original tier view (the coefficients are position-free).
  tier.reposition(Array.from({ length: 60 }, (_, s) => s));
  const again = tier.keyView(0);
  for (let i = 0; i < again.length; i++) assert.ok(Math.abs(again[i] - before[i]) < 1e-5);
});

test('snapshots round-trip bit for bit and are smaller on disk', () => {
  const tier = new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4);
  exercise(tier);
  fill(tier, 30, true, 300);
  const bytes = tier.snapshot();
  const back = FourierKvCache.restoreTier<string>(bytes, (t) => t as string, shape);
  assert.deepEqual(Array.from(back.positions()), Array.from(tier.positions()));
  assert.deepEqual(back.tags(), tier.tags());
  assert.equal(back.tierLength, tier.tierLength);
  const a = views(tier);
  const b = views(back);
  a.forEach((v, i) => assert.ok(sameBits(v, b[i]), `view ${i} differs after restore`));
  assert.equal(back.bytes, tier.bytes);
  const plain = KvCache.prototype.snapshot.call(tier);
  assert.ok(bytes.length < plain.length, `tier snapshot ${bytes.length} B vs plain ${plain.length} B`);
  // Damaged input fails clearly.
  assert.throws(() => FourierKvCache.restoreTier(bytes.subarray(0, bytes.length - 4)), /truncated|trailing/);
  assert.throws(() => FourierKvCache.restoreTier(new Uint8Array(16)), /not a RepoPot Fourier-tier snapshot/);
  // Continuing after restore behaves like continuing the original.
  fill(tier, 10, true, 500);
  fill(back, 10, true, 500);
  views(tier).forEach((v, i) => assert.ok(sameBits(v, views(back)[i])));
});

test('clone is independent and equal', () => {
  const tier = fill(new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4), 50);
  const copy = tier.clone();
  views(tier).forEach((v, i) => assert.ok(sameBits(v, views(copy)[i])));
  fill(copy, 20, true, 900);
  assert.equal(tier.length, 50);
  assert.notEqual(copy.tierLength, tier.tierLength);
});

test('memoized RoPE turns: exactly Math.cos/Math.sin of the current position, recomputed when it changes', () => {
  const freq = keyRopeFrequencies(shape);
  const table = new RotationTable(freq, 64);
  const check = (t: number, pos: number) => {
    const r = table.row(t, pos);
    assert.equal(r, t * freq.length);
    for (let i = 0; i < freq.length; i++) {
      assert.equal(table.cos[r + i], Math.cos(pos * freq[i]));
      assert.equal(table.sin[r + i], Math.sin(pos * freq[i]));
    }
  };
  check(0, 5);
  check(40, 123); // grows past the first rows
  check(0, 5); // still there after growing
  check(0, 6); // position moved: recomputed
  const copy = table.clone();
  check(40, 7);
  assert.equal(copy.cos[copy.row(40, 123) + 1], Math.cos(123 * freq[1])); // the copy kept its own rows
});

test('rebuilds after re-positioning use the new positions, whatever the memoized turns held', async () => {
  const warm = fill(new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4), 60);
  await warm.prepare(); // turns memoized at the old positions
  const cold = FourierKvCache.restoreTier<string>(warm.snapshot(), (t) => t as string, shape); // none memoized
  const moved = Array.from({ length: warm.length }, (_, s) => 11 + 3 * s);
  for (const c of [warm, cold]) c.reposition(moved);
  await warm.prepare();
  await cold.prepare();
  views(warm).forEach((v, i) => assert.ok(sameBits(v, views(cold)[i]), `view ${i}: warm and cold rebuilds differ`));
  const js = FourierKvCache.restoreTier<string>(warm.snapshot(), (t) => t as string, shape);
  js.reposition(moved);
  const jsViews = views(js); // JavaScript path
  views(warm).forEach((v, i) => v.forEach((x, j) => assert.ok(Math.abs(x - jsViews[i][j]) < 1e-5, `view ${i}[${j}]`)));
});

test('attention error: zero for identical K/V, positive when a dimension is perturbed', () => {
  const q = Float32Array.from({ length: 3 * 8 }, (_, i) => Math.sin(i));
  const k = Float32Array.from({ length: 10 * 8 }, (_, i) => Math.cos(i * 0.3));
  const v = Float32Array.from({ length: 10 * 8 }, (_, i) => Math.sin(i * 0.7));
  assert.equal(attentionError(q, 3, k, v, k, v, 10, 8), 0);
  const v2 = v.slice();
  v2[8 * 4 + 2] += 1;
  assert.ok(attentionError(q, 3, k, v, k, v2, 10, 8) > 0);
});

test('the forward-pass reconstruction (onnxruntime GEMM) matches the JavaScript one', async () => {
  const a = fill(new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4), 60);
  const b = a.clone();
  const js = views(a); // keyView → JavaScript path
  await b.prepare(); // the engine's path
  const gemmViews = [0, 1].flatMap((l) => [b.keyView(l).slice(), b.valueView(l).slice()]);
  js.forEach((v, i) => v.forEach((x, j) => assert.ok(Math.abs(x - gemmViews[i][j]) < 1e-5, `view ${i}[${j}]: ${x} vs ${gemmViews[i][j]}`)));
  assert.ok(b.timings.reconstructions >= 1);
});

test('a saved pot keeps its tier: encodePot/decodePot round-trip, smaller than the plain form', async () => {
  const { encodePot, decodePot, POT_FORMAT_VERSION } = await import('../server/src/distill/potStore');
  const cache = fill(new FourierKvCache<{ file: string; line: number }>(shape, partialLayout(), tierOptions, 4), 60, true, 0, (s) => ({ file: 'a.ts', line: s }));
  const n = cache.length;
  const meta = { formatVersion: POT_FORMAT_VERSION, modelHash: 'm', policy: 'infinipot', budget: 64, fileHashes: {}, tokensSeen: n, compressions: 0, skipped: {}, savedAt: 'now' };
  const stats = { nll: new Array<number>(n).fill(1), accumulated: new Array<number>(n).fill(0), recent: new Array<number>(n).fill(0), tokens: [] };
  const bytes = encodePot({ meta, cache, stats });
  const back = decodePot(bytes, 'p.pot', { modelHash: 'm', shape });
  assert.ok(back.cache instanceof FourierKvCache);
  for (let l = 0; l < 2; l++) assert.ok(sameBits(back.cache.keyView(l), cache.keyView(l)) && sameBits(back.cache.valueView(l), cache.valueView(l)));
  assert.deepEqual(back.cache.tag(5), { file: 'a.ts', line: 5 });
  const plain = encodePot({ meta, cache: KvCache.restore(KvCache.prototype.snapshot.call(cache, (t) => (t ? [t.file, t.line] : null))), stats });
  assert.ok(bytes.length < plain.length);
});

test('every verb on a lossy tier: sensitive dims bit for bit as on the exact cache, approximated dims close', () => {
  const exact = new KvCache<string>(shape, 4);
  const tier = new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4);
  exercise(exact);
  exercise(tier);
  assert.ok(tier.tierLength > 0);
  assert.deepEqual(Array.from(tier.positions()), Array.from(exact.positions()));
  assert.deepEqual(tier.tags(), exact.tags());
  const approxK = new Set([1, 5, 9, 13]);
  const approxV = new Set([2, 5, 10, 13]);
  let err = 0;
  let energy = 0;
  const a = views(exact);
  const b = views(tier);
  a.forEach((e, vi) => {
    const approx = vi % 2 === 0 ? approxK : approxV;
    for (let s = 0; s < exact.length; s++) {
      for (let i = 0; i < row; i++) {
        const at = s * row + i;
        if (approx.has(i)) {
          err += (e[at] - b[vi][at]) ** 2;
          energy += e[at] ** 2;
        } else assert.ok(Object.is(e[at], b[vi][at]), `sensitive entry view ${vi} slot ${s} dim ${i}: ${e[at]} vs ${b[vi][at]}`);
      }
    }
  });
  // keep() leaves gaps in the smooth history, and the re-fit projects what attention saw: a few % more error.
  assert.ok(err > 0 && err / energy < 0.1, `approximated entries: relative error ${err / energy}`);
});

test('a calibration made on other weights is refused, a matching one loads', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { findLayout, saveLayout, FOURIER_FILE } = await import('../server/src/fourier/layout');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repopot-fourier-'));
  const layout = { ...partialLayout(), weightsHash: 'abc' };
  saveLayout(path.join(dir, FOURIER_FILE), layout);
  assert.deepEqual(findLayout(dir, shape, 'abc')?.keyPairs, layout.keyPairs);
  assert.throws(() => findLayout(dir, shape, 'retrained'), /other weights/);
  assert.throws(() => findLayout(dir, { ...shape, headDim: 16 }), /calibrated for/);
  assert.equal(findLayout(path.join(dir, 'none'), shape), undefined);
});

test('the tier refuses the head-major (GroupQueryAttention) layout with the reason instead of losing its rebuilt rows', () => {
  const tier = new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4);
  assert.throws(() => tier.setLayout('head'), /Fourier tier needs the token-major cache.*REPOPOT_ATTENTION/);
  assert.doesNotThrow(() => tier.setLayout('token'));
  const plain = new KvCache<string>(shape, 4);
  assert.doesNotThrow(() => plain.setLayout('head'), 'a plain cache converts');
});

test('lookup calibration sequences: a repository then the question and answer, scored on those rows only, packages split by parity', async () => {
  const path = await import('node:path');
  const { heldOutLookupSequences } = await import('../server/src/bench/fourierHeldOut');
  const { loadModel } = await import('../server/src/model/import');
  const root = path.resolve(__dirname, '..');
  const model = await loadModel(path.join(root, 'models', 'repopot-tiny-code'));
  const tokenizer = model.tokenizer!;
  const evalDir = path.join(root, 'data', 'eval');
  const bos = model.config.bosTokenId;
  const calibration = heldOutLookupSequences(tokenizer, evalDir, 'calibration', 6, 700, bos);
  const evaluation = heldOutLookupSequences(tokenizer, evalDir, 'evaluation', 6, 700, bos);
  assert.equal(calibration.length, 6);
  assert.ok(evaluation.length > 0);
  const pkg = (s: { source: string }) => s.source.slice(0, s.source.indexOf(': '));
  const calibrationPackages = new Set(calibration.map(pkg));
  for (const s of evaluation) assert.ok(!calibrationPackages.has(pkg(s)), `${pkg(s)} is in both splits`);
  const question = tokenizer.tokenToId('<|question|>')!;
  for (const s of calibration) {
    assert.ok(s.tokens.length <= 700);
    assert.equal(s.tokens[0], bos);
    // queryRows counts exactly the tail from <|question|> through <|end|>.
    assert.equal(s.tokens[s.tokens.length - s.queryRows!], question);
    assert.equal(s.tokens[s.tokens.length - 1], tokenizer.tokenToId('<|end|>'));
  }
  // Both kinds asked by bench distill --suite lookup, in turn.
  assert.ok(calibration.some((s) => s.source.includes('Where is')) && calibration.some((s) => s.source.includes('constant')));
});

test('the tier stays fp32: converting it to fp16 is refused with the option named', () => {
  const tier = fill(new FourierKvCache<string>(shape, partialLayout(), tierOptions, 4), 12);
  assert.equal(tier.kvDtype, 'fp32');
  assert.throws(() => tier.setKvDtype('fp16'), /Fourier tier needs the fp32 KV cache.*kvDtype 'fp16'/);
  tier.setKvDtype('fp32');
  assert.equal(tier.kvDtype, 'fp32');
});
