/**
 * Cumulative byte counts per exported attribute set. Flow deltas are folded in as
 * they are drained; observable counters report the running totals. Work here is per
 * flow per drain, never per kernel event.
 */
import type { Attributes } from '@opentelemetry/api';
import type { FlowDelta } from '../collector/types';
import { ATTR_DIRECTION, ATTR_EXECUTABLE, ATTR_NETWORK_TYPE, ATTR_TRANSPORT } from './definitions';

export interface TrafficSeries {
  attributes: Attributes;
  bytes: number;
}

export class TrafficTotals {
  private readonly series = new Map<string, TrafficSeries>();

  add(flows: readonly FlowDelta[]): void {
    for (const flow of flows) {
      if (flow.txBytes > 0) this.addBytes(flow, 'transmit', flow.txBytes);
      if (flow.rxBytes > 0) this.addBytes(flow, 'receive', flow.rxBytes);
    }
  }

  *entries(): IterableIterator<TrafficSeries> {
    yield* this.series.values();
  }

  get size(): number {
    return this.series.size;
  }

  private addBytes(flow: FlowDelta, direction: 'transmit' | 'receive', bytes: number): void {
    const key = `${flow.transport}\0${direction}\0${flow.family}\0${flow.comm}`;
    let entry = this.series.get(key);
    if (!entry) {
      entry = {
        attributes: {
          [ATTR_TRANSPORT]: flow.transport,
          [ATTR_DIRECTION]: direction,
          [ATTR_NETWORK_TYPE]: flow.family,
          [ATTR_EXECUTABLE]: flow.comm,
        },
        bytes: 0,
      };
      this.series.set(key, entry);
    }
    entry.bytes += bytes;
  }
}
