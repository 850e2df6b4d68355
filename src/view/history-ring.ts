/**
 * The bounded history of samples: at most `capacity` samples, and at most
 * `maxRowSamples` rows summed over all samples and groupings, so that thousands of
 * rows shorten the time the history covers instead of growing memory. The newest
 * two samples are always kept (a rate needs two).
 */
import type { Sample } from './sample';
import { GROUPINGS } from './snapshot';

export interface HistoryBounds {
  capacity: number;
  maxRowSamples: number;
}

function rowCount(sample: Sample): number {
  let n = 0;
  for (const g of GROUPINGS) n += sample.groups[g].rows.identities.length;
  return n;
}

export class HistoryRing {
  private readonly samples: Sample[] = [];
  private readonly rowCounts: number[] = [];
  private rows = 0;

  constructor(private readonly bounds: HistoryBounds) {
    if (bounds.capacity < 2) throw new Error(`history capacity must be at least 2 samples, got ${bounds.capacity}`);
  }

  push(sample: Sample): void {
    const rows = rowCount(sample);
    this.samples.push(sample);
    this.rowCounts.push(rows);
    this.rows += rows;
    while (this.samples.length > this.bounds.capacity || (this.rows > this.bounds.maxRowSamples && this.samples.length > 2)) {
      this.samples.shift();
      this.rows -= this.rowCounts.shift()!;
    }
  }

  clear(): void {
    this.samples.length = 0;
    this.rowCounts.length = 0;
    this.rows = 0;
  }

  get latest(): Sample | undefined {
    return this.samples[this.samples.length - 1];
  }

  /** Oldest first. */
  all(): readonly Sample[] {
    return this.samples;
  }

  /** Rows held over all samples and groupings (what maxRowSamples bounds). */
  get rowSamples(): number {
    return this.rows;
  }

  /**
   * The sample to measure a window of `seconds` back from the latest: the newest one
   * at least that old (half an interval of slack for timer jitter), else the oldest
   * held. Undefined when only the latest is held.
   */
  baseFor(seconds: number, slackMs: number): Sample | undefined {
    const latest = this.latest;
    if (!latest || this.samples.length < 2) return undefined;
    const target = latest.timeMs - seconds * 1000 + slackMs;
    for (let i = this.samples.length - 2; i >= 0; i--) if (this.samples[i]!.timeMs <= target) return this.samples[i];
    return this.samples[0];
  }

  /** The samples after `base` (all when undefined), oldest first. */
  after(base: Sample | undefined): readonly Sample[] {
    if (!base) return this.samples;
    return this.samples.slice(this.samples.indexOf(base) + 1);
  }

  /** The samples within `seconds` of the latest (same slack), oldest first. */
  within(seconds: number, slackMs: number): readonly Sample[] {
    const latest = this.latest;
    if (!latest) return [];
    const from = latest.timeMs - seconds * 1000 - slackMs;
    let i = this.samples.length - 1;
    while (i > 0 && this.samples[i - 1]!.timeMs >= from) i--;
    return this.samples.slice(i);
  }
}
