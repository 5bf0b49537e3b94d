// The KV cache our code owns and edits. The graph reads it as `past.{i}.key` and returns K/V for the new tokens
// only, which we append. Two storage layouts, one meaning (every verb behaves the same in both):
//   'token' (standard graphs): per layer [capacity, kvHeads, headDim]; the graph sees the live prefix
//            [1, length, kvHeads, headDim] without a copy.
//   'head'  (fused graphs):    per layer [kvHeads, capacity, headDim]; GroupQueryAttention reads the whole buffer
//            [1, kvHeads, capacity, headDim] in place (rows past `length` are ignored), so a decode step copies
//            nothing but the one new row per head.
//
// Two storage dtypes (CacheOptions.kvDtype): 'fp32' (Float32Array) or 'fp16' (fp16 bit patterns in Uint16Array: Node
// has no Float16Array), half the bytes. The graph reads the storage as is (fp16 past inputs, cast to fp32 inside the
// graph) and still returns fp32 rows for the new tokens, which `append` rounds to fp16 (a few rows per step). Verbs
// that compute (reposition, addDelta) widen the touched rows to fp32, compute as the fp32 cache does and round back,
// so an fp16 cache's result is the fp32 cache's on the same (rounded) values, rounded; the moves are exact.
// keyView/valueView/readRow always hand out fp32 values (a widened copy for fp16); keyFeed/keyBuffer the storage.
//
// Verbs follow llama.cpp's vocabulary: small, composable, each stating cost and failure.
// Slots are indexed 0..length-1 in cache order; each carries a RoPE position and an opaque tag
// (the distillation layer stores provenance there). Keys are stored already rotated (post-RoPE),
// so changing a slot's position means re-rotating its key by the position delta (CR-RoPE).

import { DEFAULT_KV_DTYPE, KV_DTYPES, type KvDtype } from '../vocab';
import { narrowFp16, widenFp16 } from '../model/halfFloat';

export class CacheError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CacheError';
  }
}

export interface CacheShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  ropeTheta: number;
}

export type CacheLayout = 'token' | 'head';

export type { KvDtype };
/** A layer's K or V storage: Float32Array ('fp32') or fp16 bit patterns ('fp16'). */
export type KvStorage = Float32Array | Uint16Array;

/** Bytes per stored K/V value. */
export function kvBytesPerValue(kvDtype: KvDtype): number {
  return kvDtype === 'fp16' ? 2 : 4;
}

/** Writes `src` into `dest` at `at`: a copy when both have the same dtype, else rounded (fp32 → fp16) or widened. */
function store(dest: KvStorage, src: KvStorage, at: number): void {
  if (dest instanceof Float32Array) {
    if (src instanceof Float32Array) dest.set(src, at);
    else widenFp16(src, dest, at);
  } else if (src instanceof Float32Array) {
    narrowFp16(src, dest, at);
  } else {
    dest.set(src, at);
  }
}

/** fp16 bit patterns → a new Float32Array (exact). */
function widened(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  widenFp16(src, out, 0);
  return out;
}

// Host-side RoPE for re-rotating stored keys (CR-RoPE, steering vectors, the Fourier tier), in float64 so a
// rotation and its inverse cancel to float32 precision. The graphs' own RoPE is in graph/rope.ts.

/** theta^(−2i/headDim) for each rotate-half pair i. */
export function keyRopeFrequencies(shape: Pick<CacheShape, 'headDim' | 'ropeTheta'>): Float64Array {
  const freq = new Float64Array(shape.headDim / 2);
  for (let i = 0; i < freq.length; i++) freq[i] = Math.pow(shape.ropeTheta, (-2 * i) / shape.headDim);
  return freq;
}

/** Fills cos/sin with the turn of each pair for a move of `delta` positions (negative: un-rotates). */
export function fillKeyRotation(freq: Float64Array, delta: number, cos: Float64Array, sin: Float64Array): void {
  for (let i = 0; i < freq.length; i++) {
    const angle = delta * freq[i];
    cos[i] = Math.cos(angle);
    sin[i] = Math.sin(angle);
  }
}

/**
 * Rotates one head's key (headDim floats at `from`) into `target` at `to`: pair (i, i + headDim/2) turns by the
 * angle whose cos/sin are given. `target` may be `source` at the same offset (rotates in place).
 */
export function rotateKeyHead(source: Float32Array, from: number, target: Float32Array, to: number, cos: Float64Array, sin: Float64Array): void {
  const half = cos.length;
  for (let i = 0; i < half; i++) {
    const x1 = source[from + i];
    const x2 = source[from + i + half];
    target[to + i] = x1 * cos[i] - x2 * sin[i];
    target[to + i + half] = x2 * cos[i] + x1 * sin[i];
  }
}

export interface CacheOptions {
  /** Storage layout (default 'token'); the engine picks the one its graphs read. */
  layout?: CacheLayout;
  /** Storage dtype (default DEFAULT_KV_DTYPE); the engine's graphs read this dtype (Engine's kvDtype option). */
  kvDtype?: KvDtype;
}

export interface RestoreOptions {
  /**
   * The dtype the restored cache stores (default: the snapshot's). A snapshot of the other dtype is converted:
   * fp16 → fp32 is exact, fp32 → fp16 rounds to nearest even (as an fp16 cache rounds what it appends).
   */
  kvDtype?: KvDtype;
}

const SNAPSHOT_MAGIC = 'RPKV';
/**
 * 1: float32 K/V. 2: the header names `kvDtype` and K/V are stored in it (fp16: 2 bytes a value). fp32 caches still
 * write version 1, byte for byte as before, so builds without fp16 keep reading them.
 */
const SNAPSHOT_VERSION_FP32 = 1;
const SNAPSHOT_VERSION_DTYPE = 2;

export class KvCache<Tag = unknown> {
  readonly shape: CacheShape;
  /** Floats per slot per layer (kvHeads * headDim). */
  readonly rowSize: number;
  /** Storage dtype: Float32Array per layer for 'fp32', Uint16Array (fp16 bits) for 'fp16'. */
  private dtype: KvDtype;
  private keys: KvStorage[];
  private values: KvStorage[];
  private slotPositions: Int32Array;
  private slotTags: (Tag | undefined)[] = [];
  private size = 0;
  private storageLayout: CacheLayout;
  private readonly invFreq: Float64Array;
  /**
   * Logits of the last appended token, when the last operation was an append; any edit clears it
   * (the context it was computed from no longer exists).
   */
  lastLogits: Float32Array | undefined;

  constructor(shape: CacheShape, initialCapacity = 256, options: CacheOptions = {}) {
    this.shape = { ...shape };
    this.storageLayout = options.layout ?? 'token';
    this.dtype = options.kvDtype ?? DEFAULT_KV_DTYPE;
    if (!(KV_DTYPES as readonly string[]).includes(this.dtype)) throw new CacheError(`kvDtype must be one of ${KV_DTYPES.join(', ')} (got ${String(this.dtype)})`);
    this.rowSize = shape.numKvHeads * shape.headDim;
    const capacity = Math.max(1, initialCapacity);
    this.keys = Array.from({ length: shape.numLayers }, () => this.allocate(capacity * this.rowSize));
    this.values = Array.from({ length: shape.numLayers }, () => this.allocate(capacity * this.rowSize));
    this.slotPositions = new Int32Array(capacity);
    this.invFreq = keyRopeFrequencies(shape);
  }

  get length(): number {
    return this.size;
  }

  get capacity(): number {
    return this.slotPositions.length;
  }

  /** Bytes held by K and V for the live slots (what the gauge shows). */
  get bytes(): number {
    return this.size * this.rowSize * kvBytesPerValue(this.dtype) * 2 * this.shape.numLayers;
  }

  /** How K/V are stored ('fp32' or 'fp16'). */
  get kvDtype(): KvDtype {
    return this.dtype;
  }

  private allocate(length: number): KvStorage {
    return this.dtype === 'fp16' ? new Uint16Array(length) : new Float32Array(length);
  }

  /**
   * Converts the storage to `kvDtype` in place: fp16 → fp32 is exact, fp32 → fp16 rounds every value to nearest even.
   * A no-op when it already is.
   */
  setKvDtype(kvDtype: KvDtype): void {
    if (kvDtype === this.dtype) return;
    if (!(KV_DTYPES as readonly string[]).includes(kvDtype)) throw new CacheError(`kvDtype must be one of ${KV_DTYPES.join(', ')} (got ${String(kvDtype)})`);
    const convert = (buf: KvStorage): KvStorage => {
      if (buf instanceof Uint16Array) return widened(buf);
      const out = new Uint16Array(buf.length);
      narrowFp16(buf, out, 0);
      return out;
    };
    this.keys = this.keys.map(convert);
    this.values = this.values.map(convert);
    this.dtype = kvDtype;
  }

  /**
   * Brings the views up to date before a forward pass reads them (asynchronous work such as a compressed
   * tier's reconstruction; see fourier/tier.ts). The exact cache has nothing to do.
   */
  async prepare(): Promise<void> {}

  get layout(): CacheLayout {
    return this.storageLayout;
  }

  /**
   * Layer `layer`'s keys for the live slots as fp32, token-major [length, kvHeads, headDim]: a zero-copy view of an
   * fp32 cache in the 'token' layout, a copy otherwise (head layout, or fp16 widened).
   */
  keyView(layer: number): Float32Array {
    return this.floats(this.tokenMajor(this.keys[layer]));
  }

  valueView(layer: number): Float32Array {
    return this.floats(this.tokenMajor(this.values[layer]));
  }

  /**
   * Layer `layer`'s keys for the live slots in the storage dtype, token-major: what the standard graphs read as
   * past.{i}.key (zero-copy in the 'token' layout). For an fp32 cache this is keyView (so a subclass that overrides
   * keyView, such as the Fourier tier, is read through its override).
   */
  keyFeed(layer: number): KvStorage {
    return this.dtype === 'fp32' ? this.keyView(layer) : this.tokenMajor(this.keys[layer]);
  }

  valueFeed(layer: number): KvStorage {
    return this.dtype === 'fp32' ? this.valueView(layer) : this.tokenMajor(this.values[layer]);
  }

  /** The whole storage of one layer's keys (capacity rows, in this cache's layout and dtype): what a fused graph reads. */
  keyBuffer(layer: number): KvStorage {
    return this.keys[layer];
  }

  valueBuffer(layer: number): KvStorage {
    return this.values[layer];
  }

  private floats(data: KvStorage): Float32Array {
    return data instanceof Uint16Array ? widened(data) : data;
  }

  /** Converts the storage to `layout` in place (O(length) row moves; a no-op when it already is). */
  setLayout(layout: CacheLayout): void {
    if (layout === this.storageLayout) return;
    const convert = (buf: KvStorage) => {
      const out = this.allocate(buf.length);
      const { numKvHeads, headDim } = this.shape;
      const cap = this.capacity;
      for (let s = 0; s < this.size; s++) {
        for (let h = 0; h < numKvHeads; h++) {
          const token = s * this.rowSize + h * headDim;
          const head = (h * cap + s) * headDim;
          if (layout === 'head') out.set(buf.subarray(token, token + headDim), head);
          else out.set(buf.subarray(head, head + headDim), token);
        }
      }
      return out;
    };
    this.keys = this.keys.map(convert);
    this.values = this.values.map(convert);
    this.storageLayout = layout;
  }

  /** Offset of (slot, kv head)'s headDim floats in a layer's storage. */
  private offset(slot: number, head: number): number {
    return this.storageLayout === 'token' ? slot * this.rowSize + head * this.shape.headDim : (head * this.capacity + slot) * this.shape.headDim;
  }

  /** The live slots of one layer's storage, token-major, in the storage dtype (a view in the 'token' layout). */
  private tokenMajor(buf: KvStorage): KvStorage {
    if (this.storageLayout === 'token') return buf.subarray(0, this.size * this.rowSize);
    const out = this.allocate(this.size * this.rowSize);
    const { numKvHeads, headDim } = this.shape;
    for (let h = 0; h < numKvHeads; h++) {
      for (let s = 0; s < this.size; s++) {
        const from = this.offset(s, h);
        out.set(buf.subarray(from, from + headDim), s * this.rowSize + h * headDim);
      }
    }
    return out;
  }

  position(slot: number): number {
    this.checkSlot(slot, 'position');
    return this.slotPositions[slot];
  }

  positions(): Int32Array {
    return this.slotPositions.slice(0, this.size);
  }

  tag(slot: number): Tag | undefined {
    this.checkSlot(slot, 'tag');
    return this.slotTags[slot];
  }

  tags(): (Tag | undefined)[] {
    return this.slotTags.slice(0, this.size);
  }

  setTag(slot: number, tag: Tag | undefined): void {
    this.checkSlot(slot, 'setTag');
    this.slotTags[slot] = tag;
  }

  /** The position the next appended token gets by default: one past the largest live position. */
  nextPosition(): number {
    let max = -1;
    for (let s = 0; s < this.size; s++) if (this.slotPositions[s] > max) max = this.slotPositions[s];
    return max + 1;
  }

  /**
   * Appends rows computed by the graph. `newKeys[layer]` holds count * rowSize floats.
   * Cost: O(count) copies; amortized O(1) growth. Fails only on shape mismatch.
   */
  append(newKeys: Float32Array[], newValues: Float32Array[], positions: ArrayLike<number>, tags?: readonly (Tag | undefined)[]): void {
    this.appendRows(newKeys, newValues, positions, tags);
  }

  /**
   * append's work for token-major rows of either dtype: rows in the storage dtype are copied as they are (clone,
   * restore), fp32 rows into an fp16 cache are rounded (new rows from the graph).
   */
  private appendRows(newKeys: readonly KvStorage[], newValues: readonly KvStorage[], positions: ArrayLike<number>, tags?: readonly (Tag | undefined)[]): void {
    const count = positions.length;
    if (newKeys.length !== this.shape.numLayers || newValues.length !== this.shape.numLayers) {
      throw new CacheError(`append: expected K/V for ${this.shape.numLayers} layers, got ${newKeys.length}/${newValues.length}`);
    }
    if (tags && tags.length !== count) throw new CacheError(`append: ${tags.length} tags for ${count} tokens`);
    this.reserve(this.size + count);
    for (let l = 0; l < this.shape.numLayers; l++) {
      if (newKeys[l].length !== count * this.rowSize || newValues[l].length !== count * this.rowSize) {
        throw new CacheError(`append: layer ${l} K/V hold ${newKeys[l].length}/${newValues[l].length} values, expected ${count * this.rowSize}`);
      }
      if (this.storageLayout === 'token') {
        store(this.keys[l], newKeys[l], this.size * this.rowSize);
        store(this.values[l], newValues[l], this.size * this.rowSize);
        continue;
      }
      const { numKvHeads, headDim } = this.shape;
      for (let i = 0; i < count; i++) {
        for (let h = 0; h < numKvHeads; h++) {
          const from = i * this.rowSize + h * headDim;
          const to = this.offset(this.size + i, h);
          store(this.keys[l], newKeys[l].subarray(from, from + headDim), to);
          store(this.values[l], newValues[l].subarray(from, from + headDim), to);
        }
      }
    }
    for (let i = 0; i < count; i++) {
      this.slotPositions[this.size + i] = positions[i];
      this.slotTags[this.size + i] = tags ? tags[i] : undefined;
    }
    this.size += count;
  }

  /** Keeps only `slots` (any order, duplicates ignored), preserving cache order. O(kept) row moves. */
  keep(slots: Iterable<number>): void {
    const sorted = [...new Set(slots)].sort((a, b) => a - b);
    for (const s of sorted) this.checkSlot(s, 'keep');
    this.compactTo(sorted);
  }

  /** Removes `slots`; the others keep their order. */
  remove(slots: Iterable<number>): void {
    const drop = new Set<number>();
    for (const s of slots) {
      this.checkSlot(s, 'remove');
      drop.add(s);
    }
    const kept: number[] = [];
    for (let s = 0; s < this.size; s++) if (!drop.has(s)) kept.push(s);
    this.compactTo(kept);
  }

  /** Removes slots in the half-open range [from, to). Removing an empty range never fails. */
  removeRange(from: number, to: number): void {
    if (from < 0 || to > this.size || from > to) {
      throw new CacheError(`removeRange: [${from}, ${to}) is outside the cache of ${this.size} slots`);
    }
    const kept: number[] = [];
    for (let s = 0; s < this.size; s++) if (s < from || s >= to) kept.push(s);
    this.compactTo(kept);
  }

  /** Drops every slot from `length` on (rolls back speculative tokens). Does not allocate. */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.size) {
      throw new CacheError(`truncate: length ${length} is outside 0..${this.size}`);
    }
    for (let s = length; s < this.size; s++) this.slotTags[s] = undefined;
    this.slotTags.length = length;
    this.size = length;
    this.lastLogits = undefined;
  }

  /**
   * Moves slots to new RoPE positions by re-rotating their keys by (new - old) (CR-RoPE).
   * `newPositions[s]` is the position of slot s. O(length * layers * rowSize).
   */
  reposition(newPositions: ArrayLike<number>): void {
    if (newPositions.length !== this.size) {
      throw new CacheError(`reposition: ${newPositions.length} positions for ${this.size} slots`);
    }
    const { headDim, numKvHeads, numLayers } = this.shape;
    const half = headDim / 2;
    const cos = new Float64Array(half);
    const sin = new Float64Array(half);
    const head = new Float32Array(headDim);
    for (let s = 0; s < this.size; s++) {
      const target = newPositions[s];
      if (!Number.isInteger(target) || target < 0) throw new CacheError(`reposition: position ${target} for slot ${s} is not a non-negative integer`);
      const delta = target - this.slotPositions[s];
      if (delta === 0) continue;
      fillKeyRotation(this.invFreq, delta, cos, sin);
      for (let l = 0; l < numLayers; l++) {
        const k = this.keys[l];
        for (let h = 0; h < numKvHeads; h++) {
          const base = this.offset(s, h);
          if (k instanceof Float32Array) {
            rotateKeyHead(k, base, k, base, cos, sin);
          } else {
            // fp16: widen the head, rotate it as the fp32 cache would, round back.
            widenFp16(k.subarray(base, base + headDim), head, 0);
            rotateKeyHead(head, 0, head, 0, cos, sin);
            narrowFp16(head, k, base);
          }
        }
      }
      this.slotPositions[s] = target;
    }
    this.lastLogits = undefined;
  }

  /** CR-RoPE: re-positions all slots to start, start+1, ... in cache order. */
  compactPositions(start = 0): void {
    const target = new Int32Array(this.size);
    for (let s = 0; s < this.size; s++) target[s] = start + s;
    this.reposition(target);
  }

  /**
   * Adds scale·delta to the cached K and/or V of one slot in one layer (KV-cache steering).
   * Deltas hold rowSize floats ([kvHeads, headDim]); null leaves that side unchanged.
   */
  addDelta(slot: number, layer: number, deltaKey: Float32Array | null, deltaValue: Float32Array | null, keyScale = 1, valueScale = 1): void {
    this.checkSlot(slot, 'addDelta');
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.shape.numLayers) {
      throw new CacheError(`addDelta: layer ${layer} does not exist (0..${this.shape.numLayers - 1})`);
    }
    const apply = (storage: KvStorage, delta: Float32Array | null, scale: number, side: string) => {
      if (!delta || scale === 0) return;
      if (delta.length !== this.rowSize) throw new CacheError(`addDelta: ${side} delta has ${delta.length} floats, expected ${this.rowSize}`);
      const { numKvHeads, headDim } = this.shape;
      // fp16: widen the head, add as the fp32 cache would, round back.
      const head = storage instanceof Float32Array ? undefined : new Float32Array(headDim);
      for (let h = 0; h < numKvHeads; h++) {
        const base = this.offset(slot, h);
        const target = head ?? (storage as Float32Array);
        const at = head ? 0 : base;
        if (head) widenFp16((storage as Uint16Array).subarray(base, base + headDim), head, 0);
        for (let i = 0; i < headDim; i++) target[at + i] += scale * delta[h * headDim + i];
        if (head) narrowFp16(head, storage as Uint16Array, base);
      }
    };
    apply(this.keys[layer], deltaKey, keyScale, 'key');
    apply(this.values[layer], deltaValue, valueScale, 'value');
    this.lastLogits = undefined;
  }

  /** Reads one slot's K or V row in one layer (a copy). */
  readRow(kind: 'key' | 'value', layer: number, slot: number): Float32Array {
    this.checkSlot(slot, 'readRow');
    const src = kind === 'key' ? this.keys[layer] : this.values[layer];
    const row = new Float32Array(this.rowSize);
    const { numKvHeads, headDim } = this.shape;
    for (let h = 0; h < numKvHeads; h++) {
      const from = this.offset(slot, h);
      if (src instanceof Uint16Array) widenFp16(src.subarray(from, from + headDim), row, h * headDim);
      else row.set(src.subarray(from, from + headDim), h * headDim);
    }
    return row;
  }

  clone(): KvCache<Tag> {
    const copy = new KvCache<Tag>(this.shape, Math.max(1, this.size), { layout: this.storageLayout, kvDtype: this.dtype });
    copy.appendRows(
      this.keys.map((_, l) => this.tokenMajor(this.keys[l])),
      this.values.map((_, l) => this.tokenMajor(this.values[l])),
      this.positions(),
      this.tags(),
    );
    copy.lastLogits = this.lastLogits?.slice();
    return copy;
  }

  /**
   * Serializes shape, positions, tags (via `encodeTag`, JSON by default) and K/V into one buffer:
   * magic, version, header length, JSON header, then K and V per layer in the storage dtype (token-major).
   * fp32: version 1, float32 values; fp16: version 2, the header names the dtype, fp16 bits (the stored bits exactly).
   */
  snapshot(encodeTag: (tag: Tag | undefined) => unknown = (t) => t): Uint8Array {
    const fp16 = this.dtype === 'fp16';
    const header = JSON.stringify({
      shape: this.shape,
      length: this.size,
      positions: Array.from(this.positions()),
      tags: this.tags().map(encodeTag),
      ...(fp16 ? { kvDtype: this.dtype } : {}),
    });
    const headerBytes = Buffer.from(header, 'utf8');
    const values = this.size * this.rowSize * this.shape.numLayers * 2;
    const out = new Uint8Array(12 + headerBytes.length + values * kvBytesPerValue(this.dtype) + ((4 - ((12 + headerBytes.length) % 4)) % 4));
    const view = new DataView(out.buffer);
    out.set(Buffer.from(SNAPSHOT_MAGIC, 'ascii'), 0);
    view.setUint32(4, fp16 ? SNAPSHOT_VERSION_DTYPE : SNAPSHOT_VERSION_FP32, true);
    view.setUint32(8, headerBytes.length, true);
    out.set(headerBytes, 12);
    let offset = 12 + headerBytes.length;
    offset += (4 - (offset % 4)) % 4;
    for (let l = 0; l < this.shape.numLayers; l++) {
      for (const src of [this.tokenMajor(this.keys[l]), this.tokenMajor(this.values[l])]) {
        out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), offset);
        offset += src.byteLength;
      }
    }
    return out;
  }

  /**
   * Rebuilds a cache from `snapshot()` bytes; fails with a clear error on foreign or damaged input. The cache stores
   * the snapshot's dtype unless `options.kvDtype` asks for the other (then it is converted, see RestoreOptions).
   */
  static restore<Tag>(
    bytes: Uint8Array,
    decodeTag: (raw: unknown) => Tag | undefined = (raw) => raw as Tag | undefined,
    expected?: CacheShape,
    options: RestoreOptions = {},
  ): KvCache<Tag> {
    const fail = (problem: string): never => {
      throw new CacheError(`restore: ${problem}`);
    };
    if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 4)).toString('ascii') !== SNAPSHOT_MAGIC) fail('not a RepoPot cache snapshot');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint32(4, true);
    if (version !== SNAPSHOT_VERSION_FP32 && version !== SNAPSHOT_VERSION_DTYPE) fail(`snapshot version ${version}, this build reads ${SNAPSHOT_VERSION_FP32} and ${SNAPSHOT_VERSION_DTYPE}`);
    const headerLength = view.getUint32(8, true);
    if (12 + headerLength > bytes.length) fail('header is truncated');
    let header: { shape: CacheShape; length: number; positions: number[]; tags: unknown[]; kvDtype?: KvDtype };
    try {
      header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headerLength)).toString('utf8'));
    } catch {
      return fail('header is not valid JSON');
    }
    const { shape, length } = header;
    const kvDtype: KvDtype = version === SNAPSHOT_VERSION_FP32 ? 'fp32' : (header.kvDtype ?? fail('a version-2 snapshot names no kvDtype'));
    if (!(KV_DTYPES as readonly string[]).includes(kvDtype)) fail(`kvDtype ${String(kvDtype)} is not one of ${KV_DTYPES.join(', ')}`);
    if (expected && (shape.numLayers !== expected.numLayers || shape.numKvHeads !== expected.numKvHeads || shape.headDim !== expected.headDim || shape.ropeTheta !== expected.ropeTheta)) {
      fail(`snapshot shape ${JSON.stringify(shape)} does not match the model (${JSON.stringify(expected)})`);
    }
    const cache = new KvCache<Tag>(shape, Math.max(1, length), { kvDtype });
    let offset = 12 + headerLength;
    offset += (4 - (offset % 4)) % 4;
    const rowValues = length * cache.rowSize;
    if (offset + rowValues * kvBytesPerValue(kvDtype) * 2 * shape.numLayers !== bytes.length) fail('K/V data is truncated or has trailing bytes');
    const aligned = bytes.slice(offset); // copy: guarantees alignment for the typed views
    const data: KvStorage = kvDtype === 'fp16' ? new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2) : new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    const keys: KvStorage[] = [];
    const values: KvStorage[] = [];
    for (let l = 0; l < shape.numLayers; l++) {
      keys.push(data.subarray((2 * l) * rowValues, (2 * l + 1) * rowValues));
      values.push(data.subarray((2 * l + 1) * rowValues, (2 * l + 2) * rowValues));
    }
    cache.appendRows(keys, values, header.positions, header.tags.map(decodeTag));
    if (options.kvDtype) cache.setKvDtype(options.kvDtype);
    return cache;
  }

  private compactTo(keptSorted: readonly number[]): void {
    // A row is contiguous in the 'token' layout; the 'head' layout moves one headDim run per head.
    const runs = this.storageLayout === 'token' ? 1 : this.shape.numKvHeads;
    const runLength = this.storageLayout === 'token' ? this.rowSize : this.shape.headDim;
    for (let l = 0; l < this.shape.numLayers; l++) {
      for (const buf of [this.keys[l], this.values[l]]) {
        for (let h = 0; h < runs; h++) {
          let dst = 0;
          for (const src of keptSorted) {
            if (src !== dst) {
              const from = this.offset(src, h);
              buf.copyWithin(this.offset(dst, h), from, from + runLength);
            }
            dst++;
          }
        }
      }
    }
    const newTags: (Tag | undefined)[] = [];
    keptSorted.forEach((src, dst) => {
      this.slotPositions[dst] = this.slotPositions[src];
      newTags.push(this.slotTags[src]);
    });
    this.slotTags = newTags;
    this.size = keptSorted.length;
    this.lastLogits = undefined;
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < needed) capacity *= 2;
    const oldCapacity = this.capacity;
    const { numKvHeads, headDim } = this.shape;
    const grow = (old: KvStorage) => {
      const next = this.allocate(capacity * this.rowSize);
      if (this.storageLayout === 'token') {
        next.set(old.subarray(0, this.size * this.rowSize));
      } else {
        for (let h = 0; h < numKvHeads; h++) next.set(old.subarray(h * oldCapacity * headDim, (h * oldCapacity + this.size) * headDim), h * capacity * headDim);
      }
      return next;
    };
    this.keys = this.keys.map(grow);
    this.values = this.values.map(grow);
    const positions = new Int32Array(capacity);
    positions.set(this.slotPositions.subarray(0, this.size));
    this.slotPositions = positions;
  }

  private checkSlot(slot: number, verb: string): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.size) {
      throw new CacheError(`${verb}: slot ${slot} does not exist (cache holds ${this.size} slots)`);
    }
  }
}
