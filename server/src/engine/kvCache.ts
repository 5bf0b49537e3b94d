// The KV cache our code owns and edits. The graph reads it as `past.{i}.key` and returns K/V for the new tokens
// only, which we append. Two storage layouts, one meaning (every verb behaves the same in both):
//   'token' (standard graphs): per layer [capacity, kvHeads, headDim]; the graph sees the live prefix
//            [1, length, kvHeads, headDim] without a copy.
//   'head'  (fused graphs):    per layer [kvHeads, capacity, headDim]; GroupQueryAttention reads the whole buffer
//            [1, kvHeads, capacity, headDim] in place (rows past `length` are ignored), so a decode step copies
//            nothing but the one new row per head.
//   'headT' (standard graphs with pastLayout 'headT', graph/headMajorAttention.ts): per layer K transposed
//            [kvHeads, headDim, capacity] and V [kvHeads, capacity, headDim], the two MatMul operands the attention
//            needs, read in place whole (rows past `length` are masked). Its capacity tracks the length in steps of
//            HEAD_T_CAPACITY_STEP rows, since the graph computes over every capacity row.
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
import { float32ToFp16Bits, fp16BitsToFloat32, narrowFp16, widenFp16 } from '../model/halfFloat';

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

export type CacheLayout = 'token' | 'head' | 'headT';

/**
 * 'headT' capacity grows (and shrinks) in steps of this many rows. The head-major graph computes over every capacity
 * row, so slack costs attention work each step (step/2 rows on average), while each growth copies the whole cache
 * once: per step that is about length/step rows of copying. The sum is smallest near step = sqrt(2 · length), 64–128
 * for 1k–4k caches; 128 keeps both under ~3% of the cache's traffic at 4k.
 */
export const HEAD_T_CAPACITY_STEP = 128;
/** 'headT' storage shrinks back to fit after edits leave this much slack (more than a distillation chunk, so a pot that
 * grows by a chunk and keeps its budget does not re-allocate every chunk). */
const HEAD_T_SHRINK_SLACK = 4 * HEAD_T_CAPACITY_STEP;

function roundUpToStep(rows: number): number {
  return Math.max(1, Math.ceil(rows / HEAD_T_CAPACITY_STEP)) * HEAD_T_CAPACITY_STEP;
}

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

/**
 * Copies `count` values from `src` (at `from`, every `srcStride`) to `dest` (at `to`, every `destStride`), rounding or
 * widening between dtypes as `store` does (float32ToFp16Bits rounds exactly as narrowFp16).
 */
function copyStrided(src: KvStorage, from: number, srcStride: number, dest: KvStorage, to: number, destStride: number, count: number): void {
  if (srcStride === 1 && destStride === 1) {
    store(dest, src.subarray(from, from + count), to);
  } else if (src instanceof Float32Array === dest instanceof Float32Array) {
    for (let i = 0; i < count; i++) dest[to + i * destStride] = src[from + i * srcStride];
  } else if (dest instanceof Uint16Array) {
    for (let i = 0; i < count; i++) dest[to + i * destStride] = float32ToFp16Bits(src[from + i * srcStride]);
  } else {
    for (let i = 0; i < count; i++) dest[to + i * destStride] = fp16BitsToFloat32(src[from + i * srcStride]);
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
  /** Storage layout (default 'token'); the engine picks the one its graphs read. 'headT' sizes its capacity itself. */
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
    // 'headT' ignores the hint: capacity follows the length (HEAD_T_CAPACITY_STEP), not the size a caller expects.
    const capacity = this.storageLayout === 'headT' ? roundUpToStep(1) : Math.max(1, initialCapacity);
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
    return this.floats(this.tokenMajor(this.keys[layer], true));
  }

  valueView(layer: number): Float32Array {
    return this.floats(this.tokenMajor(this.values[layer], false));
  }

  /**
   * Layer `layer`'s keys for the live slots in the storage dtype, token-major: what the standard graphs read as
   * past.{i}.key (zero-copy in the 'token' layout). For an fp32 cache this is keyView (so a subclass that overrides
   * keyView, such as the Fourier tier, is read through its override).
   */
  keyFeed(layer: number): KvStorage {
    return this.dtype === 'fp32' ? this.keyView(layer) : this.tokenMajor(this.keys[layer], true);
  }

  valueFeed(layer: number): KvStorage {
    return this.dtype === 'fp32' ? this.valueView(layer) : this.tokenMajor(this.values[layer], false);
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

  /**
   * Whether this cache can take `layout` (setLayout would not refuse it). A cache that cannot (the Fourier tier
   * rewrites token-major views) is run by the engine through the token-major graph.
   */
  acceptsLayout(_layout: CacheLayout): boolean {
    return true;
  }

  /**
   * Converts the storage to `layout` in place (O(length) row moves; a no-op when it already is). 'headT' fits the
   * capacity to the length; other layouts keep it.
   */
  setLayout(layout: CacheLayout): void {
    if (layout === this.storageLayout) return;
    const capacity = layout === 'headT' ? roundUpToStep(this.size) : this.capacity;
    this.relocate(layout, capacity);
  }

  /** Offset of (slot, kv head)'s first value in a layer's K (`key`) or V storage; dims follow every `stride(key)`. */
  private offset(slot: number, head: number, key: boolean, layout = this.storageLayout, capacity = this.capacity): number {
    const { headDim } = this.shape;
    if (layout === 'token') return slot * this.rowSize + head * headDim;
    if (layout === 'headT' && key) return head * headDim * capacity + slot;
    return (head * capacity + slot) * headDim;
  }

  /** Distance between consecutive dims of one head: 1, or the capacity for 'headT' keys (stored transposed). */
  private stride(key: boolean, layout = this.storageLayout, capacity = this.capacity): number {
    return layout === 'headT' && key ? capacity : 1;
  }

  /**
   * A layout's storage as runs: `runs` runs of `capacity * width` values, where slot s holds `width` values at
   * s * width (token: one run of whole rows; head and headT V: one run per head; headT K: one run per (head, dim)).
   */
  private runs(key: boolean, layout = this.storageLayout): { runs: number; width: number } {
    const { numKvHeads, headDim } = this.shape;
    if (layout === 'token') return { runs: 1, width: this.rowSize };
    if (layout === 'headT' && key) return { runs: numKvHeads * headDim, width: 1 };
    return { runs: numKvHeads, width: headDim };
  }

  /** Re-allocates the storage as `layout` with `capacity` rows, moving the live slots (a growth, a shrink or a conversion). */
  private relocate(layout: CacheLayout, capacity: number): void {
    const { numKvHeads, headDim } = this.shape;
    const oldLayout = this.storageLayout;
    const oldCapacity = this.capacity;
    const move = (old: KvStorage, key: boolean): KvStorage => {
      const next = this.allocate(capacity * this.rowSize);
      if (layout === oldLayout) {
        // Same layout: each run's live prefix is contiguous.
        const { runs, width } = this.runs(key, layout);
        for (let r = 0; r < runs; r++) next.set(old.subarray(r * oldCapacity * width, (r * oldCapacity + this.size) * width), r * capacity * width);
        return next;
      }
      for (let s = 0; s < this.size; s++) {
        for (let h = 0; h < numKvHeads; h++) {
          copyStrided(old, this.offset(s, h, key, oldLayout, oldCapacity), this.stride(key, oldLayout, oldCapacity), next, this.offset(s, h, key, layout, capacity), this.stride(key, layout, capacity), headDim);
        }
      }
      return next;
    };
    this.keys = this.keys.map((k) => move(k, true));
    this.values = this.values.map((v) => move(v, false));
    if (capacity !== oldCapacity) {
      const positions = new Int32Array(capacity);
      positions.set(this.slotPositions.subarray(0, this.size));
      this.slotPositions = positions;
    }
    this.storageLayout = layout;
  }

  /** The live slots of one layer's K or V storage, token-major, in the storage dtype (a view in the 'token' layout). */
  private tokenMajor(buf: KvStorage, key: boolean): KvStorage {
    if (this.storageLayout === 'token') return buf.subarray(0, this.size * this.rowSize);
    const out = this.allocate(this.size * this.rowSize);
    const { numKvHeads, headDim } = this.shape;
    const stride = this.stride(key);
    for (let h = 0; h < numKvHeads; h++) {
      for (let s = 0; s < this.size; s++) copyStrided(buf, this.offset(s, h, key), stride, out, s * this.rowSize + h * headDim, 1, headDim);
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
      const keyStride = this.stride(true);
      for (let i = 0; i < count; i++) {
        for (let h = 0; h < numKvHeads; h++) {
          const from = i * this.rowSize + h * headDim;
          copyStrided(newKeys[l], from, 1, this.keys[l], this.offset(this.size + i, h, true), keyStride, headDim);
          copyStrided(newValues[l], from, 1, this.values[l], this.offset(this.size + i, h, false), 1, headDim);
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
    const stride = this.stride(true);
    for (let s = 0; s < this.size; s++) {
      const target = newPositions[s];
      if (!Number.isInteger(target) || target < 0) throw new CacheError(`reposition: position ${target} for slot ${s} is not a non-negative integer`);
      const delta = target - this.slotPositions[s];
      if (delta === 0) continue;
      fillKeyRotation(this.invFreq, delta, cos, sin);
      for (let l = 0; l < numLayers; l++) {
        const k = this.keys[l];
        for (let h = 0; h < numKvHeads; h++) {
          const base = this.offset(s, h, true);
          if (k instanceof Float32Array && stride === 1) {
            rotateKeyHead(k, base, k, base, cos, sin);
          } else {
            // fp16 or transposed: gather the head as fp32, rotate it as the fp32 cache would, put it back (rounded).
            copyStrided(k, base, stride, head, 0, 1, headDim);
            rotateKeyHead(head, 0, head, 0, cos, sin);
            copyStrided(head, 0, 1, k, base, stride, headDim);
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
    const apply = (storage: KvStorage, key: boolean, delta: Float32Array | null, scale: number) => {
      if (!delta || scale === 0) return;
      if (delta.length !== this.rowSize) throw new CacheError(`addDelta: ${key ? 'key' : 'value'} delta has ${delta.length} floats, expected ${this.rowSize}`);
      const { numKvHeads, headDim } = this.shape;
      const stride = this.stride(key);
      // fp16 or transposed: gather the head as fp32, add as the fp32 cache would, put it back (rounded).
      const head = storage instanceof Float32Array && stride === 1 ? undefined : new Float32Array(headDim);
      for (let h = 0; h < numKvHeads; h++) {
        const base = this.offset(slot, h, key);
        const target = head ?? (storage as Float32Array);
        const at = head ? 0 : base;
        if (head) copyStrided(storage, base, stride, head, 0, 1, headDim);
        for (let i = 0; i < headDim; i++) target[at + i] += scale * delta[h * headDim + i];
        if (head) copyStrided(head, 0, 1, storage, base, stride, headDim);
      }
    };
    apply(this.keys[layer], true, deltaKey, keyScale);
    apply(this.values[layer], false, deltaValue, valueScale);
    this.lastLogits = undefined;
  }

  /** Reads one slot's K or V row in one layer (a copy). */
  readRow(kind: 'key' | 'value', layer: number, slot: number): Float32Array {
    this.checkSlot(slot, 'readRow');
    const src = kind === 'key' ? this.keys[layer] : this.values[layer];
    const row = new Float32Array(this.rowSize);
    const { numKvHeads, headDim } = this.shape;
    const key = kind === 'key';
    for (let h = 0; h < numKvHeads; h++) copyStrided(src, this.offset(slot, h, key), this.stride(key), row, h * headDim, 1, headDim);
    return row;
  }

  /**
   * An independent copy with the same capacity: a clone is usually made to decode from (an answer from a pot, a
   * bench run), and a copy cut to its length would re-allocate and copy itself whole on its first append.
   */
  clone(): KvCache<Tag> {
    const copy = new KvCache<Tag>(this.shape, Math.max(1, this.capacity), { layout: this.storageLayout, kvDtype: this.dtype });
    copy.appendRows(
      this.keys.map((k) => this.tokenMajor(k, true)),
      this.values.map((v) => this.tokenMajor(v, false)),
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
      for (const src of [this.tokenMajor(this.keys[l], true), this.tokenMajor(this.values[l], false)]) {
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
    // Kept slots move in spans (consecutive slots that shift by the same amount), each span one copyWithin per run:
    // a row is one run in the 'token' layout, 'head' moves one headDim run per head, 'headT' keys one value per dim.
    const spans: { from: number; to: number; count: number }[] = [];
    keptSorted.forEach((src, dst) => {
      const last = spans[spans.length - 1];
      if (last && last.from + last.count === src && last.to + last.count === dst) last.count++;
      else spans.push({ from: src, to: dst, count: 1 });
    });
    const capacity = this.capacity;
    for (let l = 0; l < this.shape.numLayers; l++) {
      for (const [buf, key] of [[this.keys[l], true], [this.values[l], false]] as const) {
        const { runs, width } = this.runs(key);
        for (let r = 0; r < runs; r++) {
          const base = r * capacity * width;
          for (const { from, to, count } of spans) {
            if (from !== to) buf.copyWithin(base + to * width, base + from * width, base + (from + count) * width);
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
    if (this.storageLayout === 'headT' && this.capacity - roundUpToStep(this.size) >= HEAD_T_SHRINK_SLACK) this.relocate('headT', roundUpToStep(this.size));
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    let capacity = this.capacity;
    if (this.storageLayout === 'headT') capacity = roundUpToStep(needed);
    else while (capacity < needed) capacity *= 2;
    this.relocate(this.storageLayout, capacity);
  }

  private checkSlot(slot: number, verb: string): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.size) {
      throw new CacheError(`${verb}: slot ${slot} does not exist (cache holds ${this.size} slots)`);
    }
  }
}
