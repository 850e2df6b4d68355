/** Running totals per attribute set, for observable counters and gauges. */
import type { Attributes } from '@opentelemetry/api';

export interface Series {
  attributes: Attributes;
  value: number;
}

export class CumulativeSeries {
  private readonly series = new Map<string, Series>();

  /** Adds `delta` to the series with these attributes (negative for up-down counts). */
  add(attributes: Attributes, delta: number): void {
    const key = seriesKey(attributes);
    const entry = this.series.get(key);
    if (entry) entry.value += delta;
    else this.series.set(key, { attributes, value: delta });
  }

  get(attributes: Attributes): number {
    return this.series.get(seriesKey(attributes))?.value ?? 0;
  }

  entries(): IterableIterator<Series> {
    return this.series.values();
  }

  get size(): number {
    return this.series.size;
  }
}

/** Attribute objects built in one place list keys in one order, so values alone identify them. */
function seriesKey(attributes: Attributes): string {
  let key = '';
  for (const name in attributes) key += `${name}\u0000${String(attributes[name])}\u0001`;
  return key;
}
