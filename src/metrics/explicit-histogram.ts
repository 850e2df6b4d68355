/** A cumulative explicit-bucket histogram of one series (Prometheus-style buckets). */
import type { Attributes } from '@opentelemetry/api';
import { ExponentialHistogramState } from './exponential-histogram';
import { SeriesStore, type SeriesLimits } from './series-store';

export class HistogramState {
  readonly counts: number[];
  sum = 0;
  count = 0;
  min = Infinity;
  max = -Infinity;
  /** Kept too when OTLP wants base-2 exponential histograms. */
  readonly exponential?: ExponentialHistogramState;

  constructor(
    readonly boundaries: readonly number[],
    withExponential = false,
  ) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
    if (withExponential) this.exponential = new ExponentialHistogramState();
  }

  record(value: number): void {
    // Upper bounds are inclusive, as in Prometheus (le) and OTel explicit buckets.
    let i = 0;
    while (i < this.boundaries.length && value > this.boundaries[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.exponential?.record(value);
  }
}

export class HistogramStore extends SeriesStore<HistogramState> {
  constructor(limits: SeriesLimits, boundaries: readonly number[], now?: () => number, withExponential = false) {
    super(limits, () => new HistogramState(boundaries, withExponential), undefined, now);
  }

  record(attributes: Attributes, value: number): void {
    this.upsert(attributes).record(value);
  }
}
