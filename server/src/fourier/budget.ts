// The pot's budget in bytes: how many slots a plain cache and a Fourier-tier cache hold in the same
// bytes, and the tier cache a pot of that budget uses.
//
// A plain slot costs every K/V float of every layer. A tier slot costs only its exact (sensitive)
// floats; the tier adds a fixed `m` coefficients per approximated dimension, and the sink and the
// window stay exact. Sizes are counted in the state a pot rests in (the tier settled, window = `window`).

import { kvBytesPerValue, type CacheShape, type KvDtype } from '../engine/kvCache';
import { DEFAULT_TIER, FourierKvCache, type FourierTierOptions } from '../fourier/tier';
import { coefficientsFor } from './basis';
import { keyOffsets, valueOffsets, type FourierLayout } from './layout';

export interface TierGeometry {
  sink: number;
  window: number;
  batch: number;
  /** Slots a chunk adds before the pot compresses (the tier horizon covers budget + chunk). */
  chunk: number;
}

/** Bytes of one plain slot (K and V, every layer) in a cache of `kvDtype` (the tier is always fp32). */
export function plainSlotBytes(shape: CacheShape, kvDtype: KvDtype = 'fp32'): number {
  return shape.numLayers * shape.numKvHeads * shape.headDim * 2 * kvBytesPerValue(kvDtype);
}

export function approximatedFloats(layout: FourierLayout): number {
  let n = 0;
  for (let l = 0; l < layout.shape.numLayers; l++) n += keyOffsets(layout, l).length + valueOffsets(layout, l).length;
  return n;
}

/** Tier options for a pot of `slots` slots. */
export function tierOptionsFor(slots: number, layout: FourierLayout, g: Partial<TierGeometry> = {}): FourierTierOptions {
  const sink = g.sink ?? DEFAULT_TIER.sink;
  const window = g.window ?? DEFAULT_TIER.window;
  // A pot settles once per chunk; a question and its answer (appended to a throwaway clone) rarely reach a settle.
  const batch = g.batch ?? Math.max(DEFAULT_TIER.batch, g.chunk ?? 0);
  const capacity = Math.max(1, slots + (g.chunk ?? 0) - sink - window);
  return { sink, window, batch, capacity, coefficients: coefficientsFor(capacity, layout.coefficientRatio) };
}

/** Bytes a settled tier cache of `slots` slots keeps. */
export function tierBytes(shape: CacheShape, layout: FourierLayout, slots: number, g: Partial<TierGeometry> = {}): number {
  const o = tierOptionsFor(slots, layout, g);
  const full = plainSlotBytes(shape) / 4;
  const dropped = approximatedFloats(layout);
  const tier = Math.max(0, Math.min(o.capacity, slots - o.sink - o.window));
  return ((slots - tier) * full + tier * (full - dropped) + (tier > 0 ? dropped * o.coefficients! : 0)) * 4;
}

/** The most slots a tier cache holds within `bytes` (at least the plain count: the tier never holds fewer). */
export function tierSlotsForBytes(shape: CacheShape, layout: FourierLayout, bytes: number, g: Partial<TierGeometry> = {}): number {
  const plain = Math.floor(bytes / plainSlotBytes(shape));
  let lo = plain;
  let hi = Math.max(plain, 1) * 64;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (tierBytes(shape, layout, mid, g) <= bytes) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function newTierCache<Tag>(shape: CacheShape, layout: FourierLayout, slots: number, g: Partial<TierGeometry> = {}): FourierKvCache<Tag> {
  return new FourierKvCache<Tag>(shape, layout, tierOptionsFor(slots, layout, g), slots + (g.chunk ?? 0) + 64);
}
