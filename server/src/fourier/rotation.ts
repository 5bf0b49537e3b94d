// RoPE turns of the tier's slots, kept between rebuilds. Every rebuild rotates each approximated key pair to
// its slot's position and every projection un-rotates it; on small models Math.cos/Math.sin were most of a
// rebuild's JavaScript time, yet a tier slot's position rarely changes between rebuilds (only reposition and
// the structural verbs move them). The table holds cos/sin of position·freq[i] per tier index and recomputes
// a row only when that index's position changed, so values are exactly those computed on demand.

export class RotationTable {
  private cosines = new Float64Array(0);
  private sines = new Float64Array(0);
  /** Position each row was computed for (NaN: not yet). */
  private rowPositions = new Float64Array(0);

  /** `maxRows`: the most tier indices there will be (the tier's capacity), so growing never overshoots it. */
  constructor(
    private readonly freq: Float64Array,
    private readonly maxRows: number,
  ) {}

  /** cos(position·freq[i]) at `row(...) + i`. */
  get cos(): Float64Array {
    return this.cosines;
  }

  /** sin(position·freq[i]) at `row(...) + i` (un-rotating negates it: sin is odd, bit for bit). */
  get sin(): Float64Array {
    return this.sines;
  }

  /**
   * Offset of tier index `t`'s row (always t·freq.length), brought up to date for `position`. Read cos/sin
   * after this call (it may grow them).
   */
  row(t: number, position: number): number {
    const half = this.freq.length;
    if (t >= this.rowPositions.length) this.grow(t + 1);
    const at = t * half;
    if (this.rowPositions[t] !== position) {
      for (let i = 0; i < half; i++) {
        const angle = position * this.freq[i];
        this.cosines[at + i] = Math.cos(angle);
        this.sines[at + i] = Math.sin(angle);
      }
      this.rowPositions[t] = position;
    }
    return at;
  }

  /** Brings rows 0..count-1 up to date for positions[from + t]. */
  refresh(positions: Int32Array, from: number, count: number): void {
    for (let t = 0; t < count; t++) this.row(t, positions[from + t]);
  }

  /** An independent copy (a cloned cache has the same positions). */
  clone(): RotationTable {
    const copy = new RotationTable(this.freq, this.maxRows);
    copy.cosines = this.cosines.slice();
    copy.sines = this.sines.slice();
    copy.rowPositions = this.rowPositions.slice();
    return copy;
  }

  private grow(rows: number): void {
    const n = Math.max(rows, Math.min(this.maxRows, 2 * this.rowPositions.length));
    const half = this.freq.length;
    const cos = new Float64Array(n * half);
    const sin = new Float64Array(n * half);
    const positions = new Float64Array(n).fill(Number.NaN);
    cos.set(this.cosines);
    sin.set(this.sines);
    positions.set(this.rowPositions);
    this.cosines = cos;
    this.sines = sin;
    this.rowPositions = positions;
  }
}
