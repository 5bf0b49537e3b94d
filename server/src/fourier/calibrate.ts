// Fourier calibration: which head dimensions of each layer and KV head are insensitive to long context,
// judged by what approximating them does to the attention output (not only to K/V).
//
// For each held-out code sequence we run the reference forward pass and capture every layer's
// post-RoPE queries and its K/V. The sequence is laid out as the tier lays out a pot: `sink` exact
// slots, the tier, `window` exact slots. For every unit — a key RoPE pair (dims i, i + hd/2, approximated
// pre-RoPE and rotated back, as the tier does) or a value dimension — we replace that unit's tier
// history by its truncated spectral approximation (DCT-II, ratio × horizon coefficients) and measure
// the relative error of the attention output of the last `queryRows` queries of every query head that
// reads the KV head:  Σ‖o′ − o‖² / Σ‖o‖².  Units are ranked by their mean error over the sequences; the
// cheapest are chosen until `share` of the K/V floats is approximated. The file keeps every unit's error, the chosen set's joint error,
// the error of choosing as many units by index (what ranking buys), and a sweep of spectrum lengths.
// Ranking is global (error per float saved over all layers and heads), as the paper compresses
// different shares of dims in different layers.

import type { ModelConfig, Weights } from '../model/config';
import { referenceForward } from '../reference/forward';
import { SpectralBasis, coefficientsFor } from './basis';
import { FOURIER_FORMAT_VERSION, type CalibrationObjective, type FourierEvidence, type FourierLayout } from './layout';

export interface CalibrationOptions {
  sink?: number;
  window?: number;
  queryRows?: number;
  /** Coefficients as a share of the tier horizon. */
  coefficientRatio?: number;
  /**
   * Share of all K/V floats per slot to approximate. Units are ranked over the whole model by error per
   * float (a key pair counts two), so sensitive layers and heads keep more dims exact than insensitive ones.
   */
  share?: number;
  /** Recorded in the evidence: what the sequences' scored rows are (default 'code'). */
  objective?: CalibrationObjective;
  /** Spectrum lengths to report the chosen set's error at. */
  sweep?: number[];
  log?: (message: string) => void;
}

export interface CalibrationSequence {
  source: string;
  tokens: number[];
  /**
   * The last rows whose attention output is scored (default options.queryRows). A lookup sequence (repository,
   * question, answer) scores its question and answer only: the rows that must find the evidence in the tier.
   */
  queryRows?: number;
}

/**
 * Relative attention-output error of one head: rows are the last `rows` positions of a causal sequence of
 * `total` (row r sees columns ≤ total − rows + r). q: [rows, hd]; k, v (reference) and k2, v2 (approximated): [total, hd].
 */
export function attentionError(q: Float32Array, rows: number, k: ArrayLike<number>, v: ArrayLike<number>, k2: ArrayLike<number>, v2: ArrayLike<number>, total: number, hd: number): number {
  const a = attend(q, rows, k, v, total, hd);
  const b = attend(q, rows, k2, v2, total, hd);
  let err = 0;
  let energy = 0;
  for (let i = 0; i < a.length; i++) {
    err += (a[i] - b[i]) ** 2;
    energy += a[i] ** 2;
  }
  return energy > 0 ? err / energy : err;
}

/** Single-head causal attention output of the last `rows` positions. */
export function attend(q: ArrayLike<number>, rows: number, k: ArrayLike<number>, v: ArrayLike<number>, total: number, hd: number): Float64Array {
  const out = new Float64Array(rows * hd);
  const scale = 1 / Math.sqrt(hd);
  const p = new Float64Array(total);
  for (let r = 0; r < rows; r++) {
    const last = total - rows + r;
    let max = -Infinity;
    for (let c = 0; c <= last; c++) {
      let s = 0;
      for (let i = 0; i < hd; i++) s += q[r * hd + i] * k[c * hd + i];
      p[c] = s * scale;
      if (p[c] > max) max = p[c];
    }
    let sum = 0;
    for (let c = 0; c <= last; c++) sum += p[c] = Math.exp(p[c] - max);
    for (let c = 0; c <= last; c++) {
      const w = p[c] / sum;
      for (let i = 0; i < hd; i++) out[r * hd + i] += w * v[c * hd + i];
    }
  }
  return out;
}

interface HeadData {
  /** Per query head of the group: [rows, hd] post-RoPE queries. */
  queries: Float32Array[];
  /** [total, hd] post-RoPE keys, values, and pre-RoPE keys. */
  keys: Float64Array;
  values: Float64Array;
  preKeys: Float64Array;
  positions: number[];
}

/** One head's data from the captured layer tensors. */
function headData(config: ModelConfig, qs: Float32Array, keys: Float32Array, values: Float32Array, total: number, h: number, rows: number): HeadData {
  const { numHeads, numKvHeads, headDim: hd } = config;
  const group = numHeads / numKvHeads;
  const half = hd / 2;
  const k = new Float64Array(total * hd);
  const v = new Float64Array(total * hd);
  const pre = new Float64Array(total * hd);
  const positions = Array.from({ length: total }, (_, i) => i);
  for (let t = 0; t < total; t++) {
    const src = (t * numKvHeads + h) * hd;
    for (let i = 0; i < hd; i++) {
      k[t * hd + i] = keys[src + i];
      v[t * hd + i] = values[src + i];
    }
    for (let i = 0; i < half; i++) {
      const angle = -t * Math.pow(config.ropeTheta, (-2 * i) / hd);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      pre[t * hd + i] = k[t * hd + i] * c - k[t * hd + i + half] * s;
      pre[t * hd + i + half] = k[t * hd + i + half] * c + k[t * hd + i] * s;
    }
  }
  const queries: Float32Array[] = [];
  for (let g = 0; g < group; g++) {
    const qh = h * group + g;
    const out = new Float32Array(rows * hd);
    for (let r = 0; r < rows; r++) {
      const t = total - rows + r;
      out.set(qs.subarray((t * numHeads + qh) * hd, (t * numHeads + qh + 1) * hd), r * hd);
    }
    queries.push(out);
  }
  return { queries, keys: k, values: v, preKeys: pre, positions };
}

/** Column `dim` of a [total, hd] array over the tier slots, approximated; written into `target`. */
function approximateColumn(src: Float64Array, target: Float64Array, dim: number, hd: number, start: number, count: number, basis: SpectralBasis): void {
  const x = new Float64Array(count);
  for (let t = 0; t < count; t++) x[t] = src[(start + t) * hd + dim];
  const xh = basis.reconstruct(basis.project(x), count);
  for (let t = 0; t < count; t++) target[(start + t) * hd + dim] = xh[t];
}

/** Keys with the given pairs approximated pre-RoPE over the tier, rotated back. */
function approximateKeys(d: HeadData, pairs: readonly number[], hd: number, theta: number, start: number, count: number, basis: SpectralBasis): Float64Array {
  if (pairs.length === 0) return d.keys;
  const half = hd / 2;
  const pre = d.preKeys.slice();
  for (const i of pairs) {
    approximateColumn(d.preKeys, pre, i, hd, start, count, basis);
    approximateColumn(d.preKeys, pre, i + half, hd, start, count, basis);
  }
  const out = d.keys.slice();
  for (const i of pairs) {
    const f = Math.pow(theta, (-2 * i) / hd);
    for (let t = start; t < start + count; t++) {
      const c = Math.cos(t * f);
      const s = Math.sin(t * f);
      const x1 = pre[t * hd + i];
      const x2 = pre[t * hd + i + half];
      out[t * hd + i] = x1 * c - x2 * s;
      out[t * hd + i + half] = x2 * c + x1 * s;
    }
  }
  return out;
}

function approximateValues(d: HeadData, dims: readonly number[], hd: number, start: number, count: number, basis: SpectralBasis): Float64Array {
  if (dims.length === 0) return d.values;
  const out = d.values.slice();
  for (const dim of dims) approximateColumn(d.values, out, dim, hd, start, count, basis);
  return out;
}

function groupError(d: HeadData, rows: number, k2: Float64Array, v2: Float64Array, total: number, hd: number, reference: Float64Array[]): number {
  let err = 0;
  let energy = 0;
  d.queries.forEach((q, g) => {
    const b = attend(q, rows, k2, v2, total, hd);
    const a = reference[g];
    for (let i = 0; i < a.length; i++) {
      err += (a[i] - b[i]) ** 2;
      energy += a[i] ** 2;
    }
  });
  return energy > 0 ? err / energy : err;
}

export async function calibrate(config: ModelConfig, weights: Weights, sequences: readonly CalibrationSequence[], options: CalibrationOptions = {}): Promise<FourierLayout> {
  const { numLayers, numKvHeads, headDim: hd } = config;
  const half = hd / 2;
  const sink = options.sink ?? 4;
  const window = options.window ?? 32;
  const ratio = options.coefficientRatio ?? 0.125;
  const share = options.share ?? 0.75;
  const sweep = options.sweep ?? [0.03125, 0.0625, 0.125, 0.25];
  if (sequences.length === 0) throw new Error('fourier calibrate: no held-out sequences');
  const zeros = () => Array.from({ length: numLayers }, () => Array.from({ length: numKvHeads }, () => ({ keyPairs: new Array<number>(half).fill(0), valueDims: new Array<number>(hd).fill(0) })));
  const unitErrors = zeros();

  // Pass 1: every unit on its own. Pass 2 needs the choice, so keep the captured heads per sequence.
  const captured: { total: number; rows: number; heads: HeadData[][] }[] = [];
  for (const [si, seq] of sequences.entries()) {
    const total = seq.tokens.length;
    const rows = Math.min(seq.queryRows ?? options.queryRows ?? 32, window);
    if (total < sink + window + 8) throw new Error(`fourier calibrate: sequence ${seq.source} has ${total} tokens, needs more than sink + window + 8`);
    const heads: HeadData[][] = [];
    referenceForward(config, weights, {
      tokens: seq.tokens,
      positions: seq.tokens.map((_, i) => i),
      onAttention: (layer, qs, keys, values) => {
        heads[layer] = Array.from({ length: numKvHeads }, (_, h) => headData(config, qs, keys, values, total, h, rows));
      },
    });
    const count = total - sink - window;
    const basis = new SpectralBasis(count, coefficientsFor(count, ratio));
    for (let l = 0; l < numLayers; l++) {
      for (let h = 0; h < numKvHeads; h++) {
        const d = heads[l][h];
        const reference = d.queries.map((q) => attend(q, rows, d.keys, d.values, total, hd));
        for (let i = 0; i < half; i++) unitErrors[l][h].keyPairs[i] += groupError(d, rows, approximateKeys(d, [i], hd, config.ropeTheta, sink, count, basis), d.values, total, hd, reference) / sequences.length;
        for (let dim = 0; dim < hd; dim++) unitErrors[l][h].valueDims[dim] += groupError(d, rows, d.keys, approximateValues(d, [dim], hd, sink, count, basis), total, hd, reference) / sequences.length;
      }
      options.log?.(`sequence ${si + 1}/${sequences.length} (${seq.source}, ${total} tokens): layer ${l + 1}/${numLayers}`);
      await new Promise((r) => setImmediate(r));
    }
    captured.push({ total, rows, heads });
  }

  // Global ranking by error per float saved, until `share` of all floats are approximated.
  const units: { l: number; h: number; kind: 'k' | 'v'; i: number; perFloat: number; floats: number }[] = [];
  unitErrors.forEach((heads, l) => heads.forEach((e, h) => {
    e.keyPairs.forEach((err, i) => units.push({ l, h, kind: 'k', i, perFloat: err / 2, floats: 2 }));
    e.valueDims.forEach((err, i) => units.push({ l, h, kind: 'v', i, perFloat: err, floats: 1 }));
  }));
  units.sort((a, b) => a.perFloat - b.perFloat || a.l - b.l || a.h - b.h || a.i - b.i);
  const totalFloats = numLayers * numKvHeads * hd * 2;
  const keyPairs = Array.from({ length: numLayers }, () => Array.from({ length: numKvHeads }, () => [] as number[]));
  const valueDims = Array.from({ length: numLayers }, () => Array.from({ length: numKvHeads }, () => [] as number[]));
  let taken = 0;
  for (const u of units) {
    if (taken + u.floats > share * totalFloats + 1e-9) continue;
    (u.kind === 'k' ? keyPairs : valueDims)[u.l][u.h].push(u.i);
    taken += u.floats;
  }
  for (const t of [keyPairs, valueDims]) for (const heads of t) for (const list of heads) list.sort((a, b) => a - b);
  const first = (n: number) => Array.from({ length: n }, (_, i) => i);

  const jointError = (r: number, pick: (l: number, h: number) => [number[], number[]]): number[][] => {
    const out = Array.from({ length: numLayers }, () => new Array<number>(numKvHeads).fill(0));
    for (const { total, rows, heads } of captured) {
      const count = total - sink - window;
      const basis = new SpectralBasis(count, coefficientsFor(count, r));
      for (let l = 0; l < numLayers; l++) {
        for (let h = 0; h < numKvHeads; h++) {
          const d = heads[l][h];
          const reference = d.queries.map((q) => attend(q, rows, d.keys, d.values, total, hd));
          const [kp, vd] = pick(l, h);
          out[l][h] += groupError(d, rows, approximateKeys(d, kp, hd, config.ropeTheta, sink, count, basis), approximateValues(d, vd, hd, sink, count, basis), total, hd, reference) / captured.length;
        }
      }
    }
    return out;
  };
  const chosen = (l: number, h: number): [number[], number[]] => [keyPairs[l][h], valueDims[l][h]];
  const chosenError = jointError(ratio, chosen);
  // The same count per head, taken by index (dims 0..): what the ranking buys.
  const byIndexError = jointError(ratio, (l, h) => [first(keyPairs[l][h].length), first(valueDims[l][h].length)]);
  const mean = (t: number[][]) => t.flat().reduce((a, b) => a + b, 0) / Math.max(1, t.flat().length);
  const ratioSweep = sweep.map((r) => ({ ratio: r, error: r === ratio ? mean(chosenError) : mean(jointError(r, chosen)) }));

  const evidence: FourierEvidence = {
    sequences: sequences.map((s) => ({ source: s.source, tokens: s.tokens.length })),
    sink,
    window,
    queryRows: Math.min(options.queryRows ?? 32, window),
    objective: options.objective ?? 'code',
    unitErrors: unitErrors.map((heads) => heads.map((e) => ({ keyPairs: e.keyPairs.map(round), valueDims: e.valueDims.map(round) }))),
    chosenError: chosenError.map((r) => r.map(round)),
    byIndexError: byIndexError.map((r) => r.map(round)),
    ratioSweep: ratioSweep.map((s) => ({ ratio: s.ratio, error: round(s.error) })),
  };
  return {
    format: 'repopot-fourier',
    version: FOURIER_FORMAT_VERSION,
    shape: { numLayers, numKvHeads, headDim: hd },
    coefficientRatio: ratio,
    share,
    keyPairs,
    valueDims,
    evidence,
    createdAt: new Date().toISOString(),
  };
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}
