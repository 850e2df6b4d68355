/**
 * The series of one metric: bounded, and forgetting what went idle.
 *
 * Cardinality guard: a metric exports at most `maxSeries` series. Once it has
 * maxSeries - 1, new attribute sets fold into a single overflow series marked
 * `otel.metric.overflow=true` (the OTel SDK's cardinality limit counts the overflow
 * series within the limit the same way), and every fold is counted. TTL: a series not updated for `ttlMs` is
 * dropped at the next sweep, so an exited process stops exporting without a restart.
 * (The SDK's own cumulative storage keeps every series forever, which is why sockscope
 * keeps its series here and hands them to the SDK's readers as a MetricProducer.)
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';

export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

export interface SeriesLimits {
  maxSeries: number;
  ttlMs: number;
}

export interface SeriesEntry<V> {
  /** The same object for the life of the series, never modified: /metrics caches its label text per object. */
  readonly attributes: Attributes;
  value: V;
  startTime: HrTime;
  lastUpdateMs: number;
}

/** What a collection needs of any store, whatever its values. */
export interface SeriesView {
  readonly folded: number;
  readonly size: number;
  sweep(): void;
  entries(): IterableIterator<SeriesEntry<unknown>>;
}

export class SeriesStore<V> implements SeriesView {
  private readonly series = new Map<string, SeriesEntry<V>>();
  /** Updates that went to the overflow series because the store was full. */
  folded = 0;
  /** Series removed because they were idle for the TTL. */
  expired = 0;

  constructor(
    private readonly limits: SeriesLimits,
    private readonly create: () => V,
    /** A series that must outlive the TTL while this holds (e.g. an active-connection count above 0). */
    private readonly isLive: (value: V) => boolean = () => false,
    private readonly now: () => number = Date.now,
  ) {}

  /** The value of the series with these attributes, created (or folded into overflow) if new. */
  upsert(attributes: Attributes): V {
    return this.upsertEntry(attributes).value;
  }

  /**
   * Like upsert, returning the whole entry: its attributes say whether it was folded.
   * `key` may be given when the caller has it already (it must be seriesKey(attributes)).
   */
  upsertEntry(attributes: Attributes, key = seriesKey(attributes)): SeriesEntry<V> {
    let entry = this.series.get(key);
    if (!entry) {
      if (this.series.size >= this.limits.maxSeries - 1 && key !== OVERFLOW_KEY) {
        this.folded++;
        key = OVERFLOW_KEY;
        entry = this.series.get(key);
        attributes = OVERFLOW_ATTRIBUTES;
      }
      if (!entry) {
        entry = { attributes, value: this.create(), startTime: hrTime(), lastUpdateMs: 0 };
        this.series.set(key, entry);
      }
    }
    entry.lastUpdateMs = this.now();
    return entry;
  }

  /**
   * The entry stored under a series key, marked as updated; undefined when there is none.
   * Lets the hot path find an existing series without building its attributes.
   */
  touch(key: string): SeriesEntry<V> | undefined {
    const entry = this.series.get(key);
    if (entry) entry.lastUpdateMs = this.now();
    return entry;
  }

  peek(attributes: Attributes): V | undefined {
    return this.series.get(seriesKey(attributes))?.value;
  }

  entries(): IterableIterator<SeriesEntry<V>> {
    return this.series.values();
  }

  get size(): number {
    return this.series.size;
  }

  /** Drops series idle for longer than the TTL (unless still live). */
  sweep(): void {
    const cutoff = this.now() - this.limits.ttlMs;
    for (const [key, entry] of this.series) {
      if (entry.lastUpdateMs < cutoff && !this.isLive(entry.value)) {
        this.series.delete(key);
        this.expired++;
      }
    }
  }
}

/** A number that only a store hands out: counters and up-down counts. */
export class Count {
  value = 0;
}

/** Counter-style store with add/get helpers. */
export class CountStore extends SeriesStore<Count> {
  constructor(limits: SeriesLimits, options: { keepWhileNonZero?: boolean; now?: () => number } = {}) {
    super(limits, () => new Count(), options.keepWhileNonZero ? (c) => c.value !== 0 : undefined, options.now);
  }

  /** Adds to the series and returns the attributes of the series really counted in (maybe overflow). */
  add(attributes: Attributes, delta: number): Attributes {
    const entry = this.upsertEntry(attributes);
    entry.value.value += delta;
    return entry.attributes;
  }

  get(attributes: Attributes): number {
    return this.peek(attributes)?.value ?? 0;
  }
}

const OVERFLOW_KEY = seriesKey(OVERFLOW_ATTRIBUTES);

/** Names and values identify a series, whatever order the attributes were built in. */
export function seriesKey(attributes: Attributes): string {
  let key = '';
  for (const name of Object.keys(attributes).sort()) key += `${name}\u0000${String(attributes[name])}\u0001`;
  return key;
}
