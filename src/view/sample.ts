/**
 * One sample of the view: the producer's collection (the same MetricData /metrics
 * renders) summed per row of every grouping, plus the totals and loss counters.
 * Nothing here aggregates raw flows a second time; it only adds up series.
 */
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type CollectionResult, type MetricData } from '@opentelemetry/sdk-metrics';
import * as defs from '../metrics/definitions';
import { rowIdentity, type RowIdentity } from './grouping';
import { GROUPINGS, type GroupBy } from './snapshot';

/** Cumulative counts of one row (or of everything) at one moment. */
export interface RowTotals {
  tx: number;
  rx: number;
  active: number;
  opened: number;
  failed: number;
  retransmits: number;
  /** Cumulative RTT bucket counts (boundaries in Sample.rttBoundaries); undefined without RTT series. */
  rtt?: number[];
}

export interface SampleRow {
  identity: RowIdentity;
  totals: RowTotals;
}

export interface Sample {
  timeMs: number;
  totals: RowTotals;
  rows: Record<GroupBy, Map<string, SampleRow>>;
  losses: Record<string, number>;
  rttBoundaries: readonly number[];
}

/** The loss self-metrics the view reports, by the key it reports them under. */
export const LOSS_METRICS: Readonly<Record<string, defs.MetricDefinition>> = {
  eventsLost: defs.EVENTS_LOST,
  eventsMissed: defs.EVENTS_MISSED,
  ioSpilled: defs.IO_SPILLED,
  ioCacheEvictions: defs.IO_CACHE_EVICTIONS,
  flowMapErrors: defs.FLOW_MAP_ERRORS,
  recordsMalformed: defs.RECORDS_MALFORMED,
  mapFull: defs.MAP_FULL,
  seriesOverflow: defs.SERIES_OVERFLOW,
  eventStreamDropped: defs.EVENT_STREAM_DROPPED,
};

type CountField = 'tx' | 'rx' | 'active' | 'opened' | 'failed' | 'retransmits';

const COUNT_FIELDS: Readonly<Record<string, CountField | 'io'>> = {
  [defs.NETWORK_IO.name]: 'io',
  [defs.CONNECTIONS_ACTIVE.name]: 'active',
  [defs.CONNECTIONS_OPENED.name]: 'opened',
  [defs.CONNECTIONS_FAILED.name]: 'failed',
  [defs.RETRANSMITS.name]: 'retransmits',
};

const emptyTotals = (): RowTotals => ({ tx: 0, rx: 0, active: 0, opened: 0, failed: 0, retransmits: 0 });

/**
 * Builds samples from collections. It remembers, per series attributes object (the
 * stores keep one per series for its life), which row it belongs to in each grouping,
 * and reuses a row's totals object when nothing changed since the previous sample, so
 * idle rows cost the history almost nothing.
 */
export class SampleBuilder {
  private readonly identities = new WeakMap<Attributes, RowIdentity[]>();
  private previous: Sample | undefined;

  build(collection: CollectionResult, timeMs: number): Sample {
    const metrics = collection.resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const totals = emptyTotals();
    const rows = Object.fromEntries(GROUPINGS.map((g) => [g, new Map<string, SampleRow>()])) as Record<GroupBy, Map<string, SampleRow>>;
    const losses: Record<string, number> = Object.fromEntries(Object.keys(LOSS_METRICS).map((k) => [k, 0]));
    const lossKeys = new Map(Object.entries(LOSS_METRICS).map(([key, def]) => [def.name, key]));
    let rttBoundaries: readonly number[] = defs.RTT_BUCKETS;

    const rowsOf = (attributes: Attributes): RowTotals[] =>
      this.identitiesOf(attributes).map((identity, i) => {
        const map = rows[GROUPINGS[i]!];
        let row = map.get(identity.id);
        if (!row) map.set(identity.id, (row = { identity, totals: emptyTotals() }));
        return row.totals;
      });

    for (const metric of metrics) {
      const name = metric.descriptor.name;
      const lossKey = lossKeys.get(name);
      if (lossKey !== undefined) losses[lossKey] = sumOf(metric);
      const field = COUNT_FIELDS[name];
      if (field !== undefined && metric.dataPointType !== DataPointType.HISTOGRAM && metric.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) {
        for (const point of metric.dataPoints) {
          const value = point.value as number;
          const f = field === 'io' ? (point.attributes[defs.ATTR_DIRECTION] === 'transmit' ? 'tx' : 'rx') : field;
          totals[f] += value;
          for (const row of rowsOf(point.attributes)) row[f] += value;
        }
      }
      if (name === defs.RTT.name && metric.dataPointType === DataPointType.HISTOGRAM) {
        for (const point of metric.dataPoints) {
          const { boundaries, counts } = point.value.buckets;
          rttBoundaries = boundaries;
          addBuckets(totals, counts);
          for (const row of rowsOf(point.attributes)) addBuckets(row, counts);
        }
      }
    }
    const sample: Sample = { timeMs, totals, rows, losses, rttBoundaries };
    if (this.previous) shareUnchanged(this.previous, sample);
    this.previous = sample;
    return sample;
  }

  private identitiesOf(attributes: Attributes): RowIdentity[] {
    let found = this.identities.get(attributes);
    if (!found) {
      found = GROUPINGS.map((g) => rowIdentity(g, attributes));
      this.identities.set(attributes, found);
    }
    return found;
  }
}

function sumOf(metric: MetricData): number {
  let total = 0;
  for (const point of metric.dataPoints) if (typeof point.value === 'number') total += point.value;
  return total;
}

function addBuckets(into: RowTotals, counts: readonly number[]): void {
  const rtt = (into.rtt ??= new Array<number>(counts.length).fill(0));
  for (let i = 0; i < counts.length; i++) rtt[i] = (rtt[i] ?? 0) + counts[i]!;
}

function sameTotals(a: RowTotals, b: RowTotals): boolean {
  if (a.tx !== b.tx || a.rx !== b.rx || a.active !== b.active || a.opened !== b.opened || a.failed !== b.failed || a.retransmits !== b.retransmits) {
    return false;
  }
  if (a.rtt === undefined || b.rtt === undefined) return a.rtt === b.rtt;
  return a.rtt.length === b.rtt.length && a.rtt.every((v, i) => v === b.rtt![i]);
}

/** Points the new sample's unchanged rows at the previous sample's objects (memory, not meaning). */
function shareUnchanged(previous: Sample, next: Sample): void {
  for (const g of GROUPINGS) {
    const before = previous.rows[g];
    for (const [id, row] of next.rows[g]) {
      const old = before.get(id);
      if (old && sameTotals(old.totals, row.totals)) next.rows[g].set(id, old);
    }
  }
}
