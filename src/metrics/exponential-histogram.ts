/**
 * A base-2 exponential histogram (OTel's ExponentialHistogram data model): buckets are
 * (base^i, base^(i+1)] with base = 2^(2^-scale). It starts at the finest scale and
 * halves its resolution whenever the recorded range needs more than MAX_BUCKETS, so
 * it needs no configured boundaries.
 */
const MAX_SCALE = 20;
const MAX_BUCKETS = 160;

export class ExponentialHistogramState {
  scale = MAX_SCALE;
  zeroCount = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  /** Index of counts[0]. */
  offset = 0;
  counts: number[] = [];

  record(value: number): void {
    if (!(value >= 0) || !Number.isFinite(value)) return; // durations and RTTs only
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value === 0) {
      this.zeroCount++;
      return;
    }
    let index = indexOf(value, this.scale);
    if (this.counts.length === 0) {
      this.offset = index;
      this.counts = [0];
    }
    let low = Math.min(this.offset, index);
    let high = Math.max(this.offset + this.counts.length - 1, index);
    let shift = 0;
    while (high - low + 1 > MAX_BUCKETS) {
      low >>= 1;
      high >>= 1;
      shift++;
    }
    if (shift > 0) {
      this.downscale(shift);
      index = indexOf(value, this.scale);
    }
    if (index < this.offset) {
      this.counts = [...new Array<number>(this.offset - index).fill(0), ...this.counts];
      this.offset = index;
    }
    while (index >= this.offset + this.counts.length) this.counts.push(0);
    this.counts[index - this.offset]!++;
  }

  private downscale(by: number): void {
    const merged = new Map<number, number>();
    this.counts.forEach((n, i) => {
      const idx = (this.offset + i) >> by;
      merged.set(idx, (merged.get(idx) ?? 0) + n);
    });
    this.scale -= by;
    const indexes = [...merged.keys()];
    this.offset = Math.min(...indexes);
    this.counts = new Array<number>(Math.max(...indexes) - this.offset + 1).fill(0);
    for (const [idx, n] of merged) this.counts[idx - this.offset] = n;
  }
}

/** The bucket index of a positive value at a scale: base^index < value <= base^(index+1). */
export function indexOf(value: number, scale: number): number {
  return Math.ceil(Math.log2(value) * 2 ** scale) - 1;
}

/** The lower bound of a bucket. */
export function lowerBound(index: number, scale: number): number {
  return 2 ** (index * 2 ** -scale);
}
