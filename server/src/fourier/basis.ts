// The spectral basis of the Fourier tier: the first `m` vectors of the orthonormal DCT-II over a fixed
// horizon of `length` points,
//
//   φ_0(t) = √(1/L),   φ_n(t) = √(2/L) · cos(π n (2t + 1) / (2L)),   t = 0..L-1.
//
// FourierAttention (Liu et al., 2025) projects each long-context-insensitive dimension's history onto
// orthogonal Fourier (cos/sin) bases over a fixed horizon and keeps a fixed number of coefficients. We
// use the cosine-only DCT-II: it is orthonormal on the discrete grid (so the streaming update
// c_n += x_t·φ_n(t) is the exact projection of the zero-padded history, whatever order the points
// arrive in), and its implicit even extension has no jump between the end and the start of the
// horizon, so a smooth non-periodic signal is not blurred by a Gibbs ripple at the wrap-around that
// a periodic cos/sin basis has.
//
// Truncation error is Parseval's: ‖x − x̂‖² = Σ_{n ≥ m} ⟨x, φ_n⟩² for a full horizon.

export class SpectralBasis {
  /** table[t * m + n] = φ_n(t), float32 (what the reconstruction multiplies). */
  readonly table: Float32Array;

  constructor(
    readonly length: number,
    readonly m: number,
  ) {
    if (!Number.isInteger(length) || length < 1) throw new RangeError(`spectral basis: horizon must be a positive integer (got ${length})`);
    if (!Number.isInteger(m) || m < 1 || m > length) throw new RangeError(`spectral basis: ${m} coefficients for a horizon of ${length}`);
    this.table = new Float32Array(length * m);
    const a0 = Math.sqrt(1 / length);
    const a = Math.sqrt(2 / length);
    for (let t = 0; t < length; t++) {
      this.table[t * m] = a0;
      for (let n = 1; n < m; n++) this.table[t * m + n] = a * Math.cos((Math.PI * n * (2 * t + 1)) / (2 * length));
    }
  }

  /** φ_n(t) as a float64 (for analysis; the tier uses `table`). */
  phi(n: number, t: number): number {
    return n === 0 ? Math.sqrt(1 / this.length) : Math.sqrt(2 / this.length) * Math.cos((Math.PI * n * (2 * t + 1)) / (2 * this.length));
  }

  /** Coefficients of a signal sampled at t = 0..x.length-1 (the rest of the horizon is zero). */
  project(x: ArrayLike<number>, out = new Float64Array(this.m)): Float64Array {
    if (x.length > this.length) throw new RangeError(`spectral basis: ${x.length} samples for a horizon of ${this.length}`);
    out.fill(0);
    for (let t = 0; t < x.length; t++) {
      const v = x[t];
      const row = t * this.m;
      for (let n = 0; n < this.m; n++) out[n] += v * this.table[row + n];
    }
    return out;
  }

  /** x̂(t) = Σ_n c_n φ_n(t) for t = 0..count-1. */
  reconstruct(c: ArrayLike<number>, count: number, out = new Float64Array(count)): Float64Array {
    for (let t = 0; t < count; t++) {
      let s = 0;
      const row = t * this.m;
      for (let n = 0; n < this.m; n++) s += c[n] * this.table[row + n];
      out[t] = s;
    }
    return out;
  }

  /** Bytes one dimension's coefficients take (float32). */
  get bytesPerDim(): number {
    return this.m * 4;
  }
}

/** Coefficient count for a horizon: ratio × length, at least 1 (the mean). */
export function coefficientsFor(length: number, ratio: number): number {
  if (!(ratio > 0 && ratio <= 1)) throw new RangeError(`coefficient ratio must be in (0, 1] (got ${ratio})`);
  return Math.max(1, Math.min(length, Math.round(ratio * length)));
}
