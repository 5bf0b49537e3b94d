// The Fourier tier (FourierAttention, Liu et al. 2025): a KvCache whose middle slots keep only their
// long-context-sensitive head dimensions exactly; the insensitive dimensions of those slots are held
// as a fixed number of spectral coefficients per dimension and reconstructed for attention.
//
//   slots:  [0, sink)            exact (attention sinks)
//           [sink, sink + tier)  the tier: sensitive dims exact, insensitive dims = Σ_n c_n φ_n(t)
//           [sink + tier, len)   exact (the recent window; new tokens land here)
//
// Update rule (streaming, as the paper's): when the exact window outgrows `window + batch` slots, its
// oldest slots join the tier at tier indices t, each adding x_t·φ_n(t) to every coefficient c_n
// (φ = the orthonormal DCT-II over a fixed horizon of `capacity` slots, fourier/basis.ts). Because the
// basis is orthonormal, the coefficients are always the exact projection of everything that joined.
// The joining values wait in the dense view and are projected before the next read: in `prepare()`
// (awaited by the engine before a forward pass) as one GEMM in onnxruntime, otherwise in JavaScript.
//
// Re-positioning (CR-RoPE): the tier holds keys *before* RoPE. A joining key pair is un-rotated by its
// position; reconstruction rotates it to the slot's current position. So `reposition` never touches
// the coefficients: it only changes positions (the exact dims are re-rotated by the base cache as
// usual) and marks the tier for reconstruction. Keys are chosen by RoPE pair (fourier/layout.ts), so
// an exact dimension never shares a rotation with an approximated one.
//
// Edits that remove slots (keep, remove, removeRange, truncate) re-fit the tier from what attention saw:
// the tier is reconstructed, the slots are edited, and the surviving tier slots are projected again at
// their new tier indices (this is where repeated compressions can add error; lossIncrease measures it).
// addDelta (steering) adds the delta's sensitive part exactly and projects its insensitive part.
//
// The graph takes dense past K/V, so the base cache's arrays stay as the working view: the tier's
// insensitive entries there are scratch, rewritten from the coefficients before any read (lazily).
// `bytes` and snapshots count only what the tier keeps: exact rows, sensitive dims, coefficients.

import { CacheError, KvCache, keyRopeFrequencies, type CacheLayout, type CacheShape, type KvDtype } from '../engine/kvCache';
import { SpectralBasis, coefficientsFor } from './basis';
import { keyOffsets, valueOffsets, type FourierLayout } from './layout';
import { gemm } from './gemm';
import { RotationTable } from './rotation';

export interface FourierTierOptions {
  /** Leading slots always exact (attention sinks). */
  sink: number;
  /** Newest slots always exact. */
  window: number;
  /** The window may grow this much past `window` before its oldest slots join the tier (so decoding does not re-fit every token). */
  batch: number;
  /** Tier horizon: the most slots the tier holds (the basis length). Extra slots stay exact. */
  capacity: number;
  /** Coefficients per dimension; default: layout.coefficientRatio × capacity. */
  coefficients?: number;
}

export const DEFAULT_TIER = { sink: 4, window: 32, batch: 32 } as const;

const SNAPSHOT_MAGIC = 'RPFT';
const SNAPSHOT_VERSION = 1;

/** Time spent reconstructing (ms) and how often, for the benchmarks' reconstruction share. */
export interface TierTimings {
  reconstructMs: number;
  reconstructions: number;
  projectMs: number;
}

/** Why a tier cannot run with GroupQueryAttention's head-major cache (see FourierKvCache.setLayout). */
export const TIER_NEEDS_TOKEN_LAYOUT = 'the Fourier tier needs the token-major cache; GroupQueryAttention (REPOPOT_ATTENTION=gqa) cannot run with it: unset REPOPOT_ATTENTION or turn the tier off';

/** Why a tier cannot hold fp16 K/V (see FourierKvCache.setKvDtype). */
export const TIER_NEEDS_FP32 = "the Fourier tier needs the fp32 KV cache; it cannot run with kvDtype 'fp16' (repopot.cache.kvDtype, --kv-dtype): set kvDtype to fp32 or turn the tier off";

export class FourierKvCache<Tag = unknown> extends KvCache<Tag> {
  readonly fourierLayout: FourierLayout;
  readonly tierOptions: Required<FourierTierOptions>;
  readonly basis: SpectralBasis;
  readonly timings: TierTimings = { reconstructMs: 0, reconstructions: 0, projectMs: 0 };
  /** Row offsets of approximated dims per layer: keys (both halves of each pair), values. */
  private readonly kDims: Int32Array[];
  private readonly vDims: Int32Array[];
  /** Per layer, the first half of each approximated key pair (row offset h·hd + i, i < hd/2). */
  private readonly kPairs: Int32Array[];
  /** Per layer, for pair p of kPairs: the stacked key columns of its two halves at [2p] and [2p + 1] (indices into kDims). */
  private readonly kPairCols: Int32Array[];
  /** Coefficients per layer: [dim][n], float32 (what is stored). */
  private kCoef: Float32Array[];
  private vCoef: Float32Array[];
  private tier = 0;
  /** Tier slots already projected into the coefficients (the rest wait in the dense view). */
  private projected = 0;
  private dirty = false;
  private bulk = false;
  /** Bumped by every edit, so an asynchronous reconstruction can tell it went stale. */
  private edits = 0;
  /** cos/sin of each tier slot's position, memoized (positions rarely change between rebuilds). */
  private rotations: RotationTable;

  constructor(shape: CacheShape, layout: FourierLayout, options: FourierTierOptions, initialCapacity = 256) {
    super(shape, initialCapacity, { kvDtype: 'fp32' });
    if (layout.shape.numLayers !== shape.numLayers || layout.shape.numKvHeads !== shape.numKvHeads || layout.shape.headDim !== shape.headDim) {
      throw new CacheError(`fourier tier: layout for ${JSON.stringify(layout.shape)} on a cache of ${JSON.stringify(shape)}`);
    }
    for (const k of ['sink', 'window', 'batch', 'capacity'] as const) {
      if (!Number.isInteger(options[k]) || options[k] < 0) throw new CacheError(`fourier tier: ${k} must be a non-negative integer (got ${options[k]})`);
    }
    if (options.capacity < 1) throw new CacheError('fourier tier: capacity must be at least 1');
    this.fourierLayout = layout;
    const m = options.coefficients ?? coefficientsFor(options.capacity, layout.coefficientRatio);
    this.tierOptions = { ...options, coefficients: m };
    this.basis = new SpectralBasis(options.capacity, m);
    this.kDims = Array.from({ length: shape.numLayers }, (_, l) => keyOffsets(layout, l));
    this.vDims = Array.from({ length: shape.numLayers }, (_, l) => valueOffsets(layout, l));
    const half = shape.headDim / 2;
    this.kPairs = this.kDims.map((dims) => dims.filter((o) => o % shape.headDim < half));
    this.kPairCols = this.kPairs.map((pairs, l) => Int32Array.from(Array.from(pairs).flatMap((o) => [this.kDims[l].indexOf(o), this.kDims[l].indexOf(o + half)])));
    this.kCoef = this.kDims.map((d) => new Float32Array(d.length * m));
    this.vCoef = this.vDims.map((d) => new Float32Array(d.length * m));
    this.rotations = new RotationTable(keyRopeFrequencies(shape), options.capacity);
  }

  /** Slots currently in the tier ([sink, sink + tierLength)). */
  get tierLength(): number {
    return this.tier;
  }

  get tierStart(): number {
    return Math.min(this.tierOptions.sink, this.length);
  }

  /** Floats per slot the tier drops (approximated dims, keys + values, all layers). */
  get approximatedPerSlot(): number {
    let n = 0;
    for (let l = 0; l < this.shape.numLayers; l++) n += this.kDims[l].length + this.vDims[l].length;
    return n;
  }

  /** Bytes of what the tier keeps: exact rows, sensitive dims of tier slots, the fixed coefficients. */
  override get bytes(): number {
    const full = this.rowSize * 2 * this.shape.numLayers;
    const dropped = this.approximatedPerSlot;
    const coefficients = this.tier > 0 ? dropped * this.basis.m : 0;
    return ((this.length - this.tier) * full + this.tier * (full - dropped) + coefficients) * 4;
  }

  override keyView(layer: number): Float32Array {
    this.materialize();
    return super.keyView(layer);
  }

  override valueView(layer: number): Float32Array {
    this.materialize();
    return super.valueView(layer);
  }

  override readRow(kind: 'key' | 'value', layer: number, slot: number): Float32Array {
    this.materialize();
    return super.readRow(kind, layer, slot);
  }

  override append(newKeys: Float32Array[], newValues: Float32Array[], positions: ArrayLike<number>, tags?: readonly (Tag | undefined)[]): void {
    super.append(newKeys, newValues, positions, tags);
    if (!this.bulk) this.settle(false);
  }

  /**
   * Moves the oldest exact-window slots into the tier. `force`: down to `window` now; otherwise only
   * once the window exceeds window + batch (so single decoded tokens do not re-fit the tier).
   */
  settle(force = true): void {
    const { sink, window, batch, capacity } = this.tierOptions;
    const start = this.tierStart;
    const exactTail = this.length - start - this.tier;
    if (this.tier >= capacity || exactTail <= window || (!force && exactTail < window + batch)) return;
    const join = Math.min(exactTail - window, capacity - this.tier);
    if (start < sink) return;
    // The joining slots' values stay in the dense view until they are projected (before the next read).
    this.tier += join;
    this.touch();
  }

  /** Tier slots whose values are not yet in the coefficients ([projected, tier)). */
  get pendingProjection(): number {
    return this.tier - this.projected;
  }

  /** Projects the pending tier slots in JavaScript (reads outside a forward pass). */
  private flushJs(): void {
    if (this.projected >= this.tier) return;
    const started = performance.now();
    const start = this.tierStart;
    const m = this.basis.m;
    const table = this.basis.table;
    const pre = new Float64Array(this.rowSize);
    for (let l = 0; l < this.shape.numLayers; l++) {
      const keys = super.keyView(l);
      const values = super.valueView(l);
      for (let t = this.projected; t < this.tier; t++) {
        const slot = start + t;
        const phi = t * m;
        this.unrotate(keys, slot * this.rowSize, t, this.position(slot), l, pre);
        addProjection(this.kCoef[l], this.kDims[l], pre, 0, table, phi, m);
        addProjection(this.vCoef[l], this.vDims[l], values, slot * this.rowSize, table, phi, m);
      }
    }
    this.projected = this.tier;
    this.timings.projectMs += performance.now() - started;
  }

  /** The same projection as one GEMM in onnxruntime: C[m, D] += Φ[pending, m]ᵀ · X[pending, D]. */
  private async flushGemm(): Promise<boolean> {
    const from = this.projected;
    const rows = this.tier - from;
    if (rows <= 0) return true;
    const started = performance.now();
    const version = this.edits;
    const m = this.basis.m;
    const d = this.stackedDims;
    const start = this.tierStart;
    const phiT = new Float32Array(m * rows);
    for (let j = 0; j < rows; j++) for (let n = 0; n < m; n++) phiT[n * rows + j] = this.basis.table[(from + j) * m + n];
    const x = new Float32Array(rows * d);
    const pre = new Float64Array(this.rowSize);
    const keys = Array.from({ length: this.shape.numLayers }, (_, l) => super.keyView(l));
    const values = Array.from({ length: this.shape.numLayers }, (_, l) => super.valueView(l));
    for (let j = 0; j < rows; j++) {
      const slot = start + from + j;
      const base = slot * this.rowSize;
      let col = j * d;
      for (let l = 0; l < this.shape.numLayers; l++) {
        this.unrotate(keys[l], base, from + j, this.position(slot), l, pre);
        const kd = this.kDims[l];
        for (let i = 0; i < kd.length; i++) x[col++] = pre[kd[i]];
        const vd = this.vDims[l];
        const v = values[l];
        for (let i = 0; i < vd.length; i++) x[col++] = v[base + vd[i]];
      }
    }
    const add = await gemm(phiT, m, rows, x, d);
    if (version !== this.edits || from !== this.projected) return false; // edited meanwhile: a read flushes in JavaScript
    let col = 0;
    for (let l = 0; l < this.shape.numLayers; l++) {
      for (const coef of [this.kCoef[l], this.vCoef[l]]) {
        const dims = coef.length / m;
        for (let j = 0; j < dims; j++, col++) for (let n = 0; n < m; n++) coef[j * m + n] += add[n * d + col];
      }
    }
    this.projected = this.tier;
    this.timings.projectMs += performance.now() - started;
    return true;
  }

  override keep(slots: Iterable<number>): void {
    this.materialize();
    super.keep(slots);
    this.refit();
  }

  override remove(slots: Iterable<number>): void {
    this.materialize();
    super.remove(slots);
    this.refit();
  }

  override removeRange(from: number, to: number): void {
    this.materialize();
    super.removeRange(from, to);
    this.refit();
  }

  override truncate(length: number): void {
    if (length >= this.tierStart + this.tier) {
      // Only exact window slots go: the tier is untouched.
      super.truncate(length);
      return;
    }
    this.materialize();
    super.truncate(length);
    this.refit();
  }

  /**
   * The tier writes its rebuilt rows into the token-major views; head-major storage (GroupQueryAttention,
   * REPOPOT_ATTENTION=gqa, or the standard graph's 'headT' past layout) hands out copies, so the rebuild would be lost:
   * refused with the reason. The engine runs tier caches through the token-major standard graph (acceptsLayout).
   */
  override acceptsLayout(layout: CacheLayout): boolean {
    return layout === 'token';
  }

  override setLayout(layout: CacheLayout): void {
    if (layout !== 'token') throw new CacheError(TIER_NEEDS_TOKEN_LAYOUT);
    super.setLayout(layout);
  }

  /**
   * The tier reads and rewrites the dense fp32 views in place (reconstruction, projection): an fp16 cache has no such
   * views, so the tier refuses fp16 (kvDtype) with the reason.
   */
  override setKvDtype(kvDtype: KvDtype): void {
    if (kvDtype !== 'fp32') throw new CacheError(TIER_NEEDS_FP32);
    super.setKvDtype(kvDtype);
  }

  override reposition(newPositions: ArrayLike<number>): void {
    super.reposition(newPositions);
    if (this.tier > 0) this.touch();
  }

  override addDelta(slot: number, layer: number, deltaKey: Float32Array | null, deltaValue: Float32Array | null, keyScale = 1, valueScale = 1): void {
    this.materialize();
    super.addDelta(slot, layer, deltaKey, deltaValue, keyScale, valueScale);
    const t = slot - this.tierStart;
    if (t < 0 || t >= this.projected) return; // exact, or waiting to be projected with its delta
    // The delta's approximated part enters the slot's spectrum (it is spread like any tier value).
    const m = this.basis.m;
    if (deltaKey && keyScale !== 0 && this.kDims[layer].length) {
      const scaled = new Float32Array(this.rowSize);
      for (let i = 0; i < this.rowSize; i++) scaled[i] = keyScale * deltaKey[i];
      const pre = new Float64Array(this.rowSize);
      this.unrotate(scaled, 0, t, this.position(slot), layer, pre);
      addProjection(this.kCoef[layer], this.kDims[layer], pre, 0, this.basis.table, t * m, m);
    }
    if (deltaValue && valueScale !== 0 && this.vDims[layer].length) {
      const scaled = new Float64Array(this.rowSize);
      for (let i = 0; i < this.rowSize; i++) scaled[i] = valueScale * deltaValue[i];
      addProjection(this.vCoef[layer], this.vDims[layer], scaled, 0, this.basis.table, t * m, m);
    }
    this.touch();
  }

  override clone(): FourierKvCache<Tag> {
    const copy = new FourierKvCache<Tag>(this.shape, this.fourierLayout, this.tierOptions, Math.max(1, this.length));
    copy.bulk = true;
    copy.append(
      Array.from({ length: this.shape.numLayers }, (_, l) => super.keyView(l)),
      Array.from({ length: this.shape.numLayers }, (_, l) => super.valueView(l)),
      this.positions(),
      this.tags(),
    );
    copy.bulk = false;
    copy.kCoef = this.kCoef.map((c) => c.slice());
    copy.vCoef = this.vCoef.map((c) => c.slice());
    copy.tier = this.tier;
    copy.projected = this.projected;
    copy.dirty = this.dirty;
    copy.rotations = this.rotations.clone();
    copy.lastLogits = this.lastLogits?.slice();
    return copy;
  }

  /** Rewrites the tier's approximated entries of the dense view from the coefficients (if stale). */
  materialize(): void {
    this.flushJs();
    if (!this.dirty) return;
    this.dirty = false;
    if (this.tier === 0) return;
    const started = performance.now();
    this.reconstructInto();
    this.timings.reconstructMs += performance.now() - started;
    this.timings.reconstructions++;
  }

  /** Forces a full reconstruction (benchmarks: the cost a query pays when the dense view is not kept). */
  reconstructAll(): number {
    this.dirty = this.tier > 0;
    const started = performance.now();
    this.materialize();
    return performance.now() - started;
  }

  /**
   * Snapshot in the tier's own form: header JSON, then per layer the exact rows, the sensitive dims of
   * tier slots and the coefficients (float32). Restoring gives back the same dense view bit for bit.
   */
  override snapshot(encodeTag: (tag: Tag | undefined) => unknown = (t) => t): Uint8Array {
    this.flushJs();
    const start = this.tierStart;
    const header = Buffer.from(JSON.stringify({
      shape: this.shape,
      length: this.length,
      positions: Array.from(this.positions()),
      tags: this.tags().map(encodeTag),
      tier: { ...this.tierOptions, start, length: this.tier },
      layout: { ...this.fourierLayout, evidence: undefined },
    }), 'utf8');
    const parts: Float32Array[] = [];
    for (let l = 0; l < this.shape.numLayers; l++) {
      for (const [dense, dims, coef] of [[super.keyView(l), this.kDims[l], this.kCoef[l]], [super.valueView(l), this.vDims[l], this.vCoef[l]]] as const) {
        parts.push(dense.subarray(0, start * this.rowSize));
        parts.push(gatherKept(dense, start, this.tier, this.rowSize, dims));
        parts.push(dense.subarray((start + this.tier) * this.rowSize, this.length * this.rowSize));
        if (this.tier > 0) parts.push(coef);
      }
    }
    const floats = parts.reduce((a, p) => a + p.length, 0);
    const headOffset = 12 + header.length;
    const pad = (4 - (headOffset % 4)) % 4;
    const out = new Uint8Array(headOffset + pad + floats * 4);
    out.set(Buffer.from(SNAPSHOT_MAGIC, 'ascii'), 0);
    const view = new DataView(out.buffer);
    view.setUint32(4, SNAPSHOT_VERSION, true);
    view.setUint32(8, header.length, true);
    out.set(header, 12);
    let offset = headOffset + pad;
    for (const p of parts) {
      out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
      offset += p.byteLength;
    }
    return out;
  }

  static isSnapshot(bytes: Uint8Array): boolean {
    return bytes.length >= 4 && Buffer.from(bytes.subarray(0, 4)).toString('ascii') === SNAPSHOT_MAGIC;
  }

  /** Rebuilds a tier cache from `snapshot()` bytes. */
  static restoreTier<Tag>(bytes: Uint8Array, decodeTag: (raw: unknown) => Tag | undefined = (raw) => raw as Tag | undefined, expected?: CacheShape): FourierKvCache<Tag> {
    const fail = (problem: string): never => {
      throw new CacheError(`restore: ${problem}`);
    };
    if (!FourierKvCache.isSnapshot(bytes) || bytes.length < 12) fail('not a RepoPot Fourier-tier snapshot');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint32(4, true);
    if (version !== SNAPSHOT_VERSION) fail(`Fourier-tier snapshot version ${version}, this build reads ${SNAPSHOT_VERSION}`);
    const headerLength = view.getUint32(8, true);
    if (12 + headerLength > bytes.length) fail('header is truncated');
    let header: { shape: CacheShape; length: number; positions: number[]; tags: unknown[]; tier: Required<FourierTierOptions> & { start: number; length: number }; layout: FourierLayout };
    try {
      header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headerLength)).toString('utf8'));
    } catch {
      return fail('header is not valid JSON');
    }
    const { shape, length, tier } = header;
    if (expected && (shape.numLayers !== expected.numLayers || shape.numKvHeads !== expected.numKvHeads || shape.headDim !== expected.headDim || shape.ropeTheta !== expected.ropeTheta)) {
      fail(`snapshot shape ${JSON.stringify(shape)} does not match the model (${JSON.stringify(expected)})`);
    }
    const cache = new FourierKvCache<Tag>(shape, header.layout, tier, Math.max(1, length));
    if (tier.start !== cache.tierStart && length > 0 && tier.start !== Math.min(tier.sink, length)) fail('tier start does not match its sink');
    let offset = 12 + headerLength;
    offset += (4 - (offset % 4)) % 4;
    const aligned = bytes.slice(offset);
    if (aligned.byteLength % 4 !== 0) fail('K/V data is not whole floats');
    const floats = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    let at = 0;
    const take = (n: number): Float32Array => {
      if (at + n > floats.length) fail('K/V data is truncated');
      const out = floats.subarray(at, at + n);
      at += n;
      return out;
    };
    const row = cache.rowSize;
    const m = cache.basis.m;
    const keys: Float32Array[] = [];
    const values: Float32Array[] = [];
    for (let l = 0; l < shape.numLayers; l++) {
      const sides: Float32Array[] = [];
      for (const [dims, coefs] of [[cache.kDims[l], cache.kCoef], [cache.vDims[l], cache.vCoef]] as const) {
        const dense = new Float32Array(length * row);
        dense.set(take(tier.start * row), 0);
        scatterKept(take(tier.length * (row - dims.length)), dense, tier.start, tier.length, row, dims);
        dense.set(take((length - tier.start - tier.length) * row), (tier.start + tier.length) * row);
        if (tier.length > 0) coefs[l].set(take(dims.length * m));
        sides.push(dense);
      }
      keys.push(sides[0]);
      values.push(sides[1]);
    }
    if (at !== floats.length) fail('K/V data has trailing bytes');
    cache.bulk = true;
    cache.append(keys, values, header.positions, header.tags.map(decodeTag));
    cache.bulk = false;
    cache.tier = tier.length;
    cache.projected = tier.length;
    cache.dirty = tier.length > 0;
    return cache;
  }

  /** After a structural edit: the dense view is current; project the new tier range again. */
  private refit(): void {
    for (const c of this.kCoef) c.fill(0);
    for (const c of this.vCoef) c.fill(0);
    this.tier = 0;
    this.projected = 0;
    this.dirty = false;
    this.settle(true);
  }

  /**
   * Pre-RoPE copy of the approximated key pairs of the row at `base` (tier index `t`, rotated to `pos`) into
   * `out` (row layout; other entries untouched). Turning by −pos: same cos, negated sin.
   */
  private unrotate(keys: ArrayLike<number>, base: number, t: number, pos: number, layer: number, out: Float64Array): void {
    const r = this.rotations.row(t, pos);
    unrotatePairs(keys, base, this.kPairs[layer], this.shape.headDim, this.rotations.cos, this.rotations.sin, r, out);
  }

  private touch(): void {
    this.dirty = true;
    this.edits++;
  }

  /** Approximated dims in the stacked order (per layer: key dims, then value dims). */
  private get stackedDims(): number {
    let d = 0;
    for (let l = 0; l < this.shape.numLayers; l++) d += this.kDims[l].length + this.vDims[l].length;
    return d;
  }

  /** Every layer's coefficients as one [m, D] matrix (the GEMM's right operand). */
  private stackedCoefficients(): Float32Array {
    return stackCoefficients(this.kCoef, this.vCoef, this.basis.m, this.stackedDims);
  }

  /**
   * Reconstruction through onnxruntime (one SGEMM for all layers); the engine awaits it before each forward
   * pass. Reads outside a forward pass fall back to the JavaScript path in `materialize`.
   */
  override async prepare(): Promise<void> {
    if (!(await this.flushGemm())) return;
    if (!this.dirty || this.tier === 0) {
      this.dirty = false;
      return;
    }
    const started = performance.now();
    const version = ++this.edits;
    const rows = this.tier;
    const d = this.stackedDims;
    const x = await gemm(this.basis.table.subarray(0, rows * this.basis.m), rows, this.basis.m, this.stackedCoefficients(), d);
    if (version !== this.edits || rows !== this.tier || !this.dirty) return; // edited meanwhile: the next read rebuilds
    this.scatter(x, d);
    this.dirty = false;
    this.timings.reconstructMs += performance.now() - started;
    this.timings.reconstructions++;
  }

  /** Full reconstruction the way a forward pass gets it (GEMM), timed (benchmarks). */
  async reconstructAllAsync(): Promise<number> {
    this.dirty = this.tier > 0;
    const started = performance.now();
    await this.prepare();
    return performance.now() - started;
  }

  private reconstructInto(): void {
    const m = this.basis.m;
    const table = this.basis.table;
    const d = this.stackedDims;
    const x = new Float32Array(this.tier * d);
    for (let t = 0; t < this.tier; t++) {
      const phi = t * m;
      let col = 0;
      for (let l = 0; l < this.shape.numLayers; l++) {
        for (const coef of [this.kCoef[l], this.vCoef[l]]) {
          const dims = coef.length / m;
          for (let j = 0; j < dims; j++, col++) x[t * d + col] = dot(coef, j * m, table, phi, m);
        }
      }
    }
    this.scatter(x, d);
  }

  /** Writes X[t, stacked dims] into the dense view: values as they are, keys rotated to each slot's position. */
  private scatter(x: Float32Array, d: number): void {
    this.edits++;
    const start = this.tierStart;
    this.rotations.refresh(this.positions(), start, this.tier);
    const keys = Array.from({ length: this.shape.numLayers }, (_, l) => super.keyView(l));
    const values = Array.from({ length: this.shape.numLayers }, (_, l) => super.valueView(l));
    scatterRows(x, d, start, this.tier, this.rowSize, this.shape.headDim, this.kPairs, this.kPairCols, this.kDims, this.vDims, keys, values, this.rotations.cos, this.rotations.sin);
  }
}

// The rebuild's loops are free functions over typed arrays: optimized code for a method is tied to the cache
// object's hidden class, and a pot's clone (what a query runs on) deoptimized them, so the first rebuilds on
// every clone ran unoptimized (1-2 ms instead of 0.2 on the random llama shape).

/** Every layer's key then value coefficients ([dim][n] each) as one [m, d] matrix. */
function stackCoefficients(kCoef: Float32Array[], vCoef: Float32Array[], m: number, d: number): Float32Array {
  const out = new Float32Array(m * d);
  let col = 0;
  for (let l = 0; l < kCoef.length; l++) {
    for (const coef of [kCoef[l], vCoef[l]]) {
      const dims = coef.length / m;
      for (let j = 0; j < dims; j++, col++) for (let n = 0; n < m; n++) out[n * d + col] = coef[j * m + n];
    }
  }
  return out;
}

/**
 * X[t, stacked dims] into rows start..start+rows of each layer's dense K/V. Layer by layer, so each inner loop runs
 * over one layer's index arrays; key pairs come straight from their two stacked columns, turned by row t of cos/sin.
 */
function scatterRows(
  x: Float32Array,
  d: number,
  start: number,
  rows: number,
  row: number,
  hd: number,
  kPairs: Int32Array[],
  kPairCols: Int32Array[],
  kDims: Int32Array[],
  vDims: Int32Array[],
  keys: Float32Array[],
  values: Float32Array[],
  cos: Float64Array,
  sin: Float64Array,
): void {
  const half = hd / 2;
  let first = 0;
  for (let l = 0; l < keys.length; l++) {
    const pairs = kPairs[l];
    const cols = kPairCols[l];
    const k = keys[l];
    const vd = vDims[l];
    const v = values[l];
    const vFirst = first + kDims[l].length;
    for (let t = 0; t < rows; t++) {
      const r = t * half;
      const base = (start + t) * row;
      const kCol = t * d + first;
      for (let p = 0; p < pairs.length; p++) {
        const o = pairs[p];
        const i = r + (o % hd);
        const x1 = x[kCol + cols[2 * p]];
        const x2 = x[kCol + cols[2 * p + 1]];
        k[base + o] = x1 * cos[i] - x2 * sin[i];
        k[base + o + half] = x2 * cos[i] + x1 * sin[i];
      }
      const vCol = t * d + vFirst;
      for (let j = 0; j < vd.length; j++) v[base + vd[j]] = x[vCol + j];
    }
    first = vFirst + vd.length;
  }
}

/** Pairs (o, o + hd/2) of the row at `base`, turned back by row `r` of cos/sin (same cos, negated sin), into `out` at o and o + hd/2. */
function unrotatePairs(keys: ArrayLike<number>, base: number, pairs: Int32Array, hd: number, cos: Float64Array, sin: Float64Array, r: number, out: Float64Array): void {
  const half = hd / 2;
  for (let p = 0; p < pairs.length; p++) {
    const o = pairs[p];
    const i = r + (o % hd);
    const x1 = keys[base + o];
    const x2 = keys[base + o + half];
    out[o] = x1 * cos[i] + x2 * sin[i];
    out[o + half] = x2 * cos[i] - x1 * sin[i];
  }
}

function dot(coef: Float32Array, at: number, table: Float32Array, phi: number, m: number): number {
  let s = 0;
  for (let n = 0; n < m; n++) s += coef[at + n] * table[phi + n];
  return s;
}

/** coef[j][n] += src[base + dims[j]] · φ_n(t), for the row at `base` (φ row at `phi`). */
function addProjection(coef: Float32Array, dims: Int32Array, src: ArrayLike<number>, base: number, table: Float32Array, phi: number, m: number): void {
  for (let j = 0; j < dims.length; j++) {
    const x = src[base + dims[j]];
    if (x === 0) continue;
    const at = j * m;
    for (let n = 0; n < m; n++) coef[at + n] += x * table[phi + n];
  }
}

/** The non-approximated dims of `count` rows from slot `start`, packed. */
function gatherKept(dense: Float32Array, start: number, count: number, row: number, dims: Int32Array): Float32Array {
  const skip = new Uint8Array(row);
  for (const d of dims) skip[d] = 1;
  const out = new Float32Array(count * (row - dims.length));
  let k = 0;
  for (let t = 0; t < count; t++) {
    const base = (start + t) * row;
    for (let i = 0; i < row; i++) if (!skip[i]) out[k++] = dense[base + i];
  }
  return out;
}

function scatterKept(packed: Float32Array, dense: Float32Array, start: number, count: number, row: number, dims: Int32Array): void {
  const skip = new Uint8Array(row);
  for (const d of dims) skip[d] = 1;
  let k = 0;
  for (let t = 0; t < count; t++) {
    const base = (start + t) * row;
    for (let i = 0; i < row; i++) if (!skip[i]) dense[base + i] = packed[k++];
  }
}
