/**
 * One sample of the view: the producer's collection (the same MetricData /metrics
 * renders) summed per row of every grouping, plus the totals and loss counters.
 * Nothing here aggregates raw flows a second time; it only adds up series.
 *
 * Stored compactly because the history holds hundreds of samples: per grouping, one
 * Float64Array of counts (rows x FIELDS), a row set shared with the previous sample when
 * the rows did not change, and RTT buckets only as the increase since the previous
 * sample, only for rows that had new RTT samples.
 */
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type CollectionResult, type MetricData } from '@opentelemetry/sdk-metrics';
import * as defs from '../metrics/definitions';
import { rowIdentity, type RowIdentity } from './grouping';
import { GROUPINGS, type GroupBy } from './snapshot';

/** The cumulative counts kept per row, in this order. */
export const TX = 0;
export const RX = 1;
export const ACTIVE = 2;
export const OPENED = 3;
export const FAILED = 4;
export const RETRANSMITS = 5;
export const FIELDS = 6;

/** The rows of a grouping, in a fixed order; shared by consecutive samples with the same rows. */
export interface RowSet {
  readonly identities: readonly RowIdentity[];
  readonly index: ReadonlyMap<string, number>;
}

export interface GroupSample {
  rows: RowSet;
  /** Cumulative counts: row i's field f at i * FIELDS + f. */
  counts: Float64Array;
  /** Row index -> RTT bucket counts added since the previous sample, sparse (see increase()); rows without any absent. */
  rttAdded: ReadonlyMap<number, readonly number[]>;
}

export interface Sample {
  timeMs: number;
  /** Cumulative counts over all series (FIELDS long). */
  totals: Float64Array;
  totalRttAdded: readonly number[] | undefined;
  groups: Record<GroupBy, GroupSample>;
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

const COUNT_FIELDS: Readonly<Record<string, number | 'io'>> = {
  [defs.NETWORK_IO.name]: 'io',
  [defs.CONNECTIONS_ACTIVE.name]: ACTIVE,
  [defs.CONNECTIONS_OPENED.name]: OPENED,
  [defs.CONNECTIONS_FAILED.name]: FAILED,
  [defs.RETRANSMITS.name]: RETRANSMITS,
};

/** A grouping's rows while one collection is summed. */
class GroupAccumulator {
  readonly identities: RowIdentity[] = [];
  readonly index = new Map<string, number>();
  counts: number[] = [];
  readonly rtt = new Map<number, number[]>();

  row(identity: RowIdentity): number {
    let i = this.index.get(identity.id);
    if (i === undefined) {
      i = this.identities.length;
      this.index.set(identity.id, i);
      this.identities.push(identity);
      for (let f = 0; f < FIELDS; f++) this.counts.push(0);
    }
    return i;
  }
}

/**
 * Builds samples from collections. It remembers, per series attributes object (the
 * stores keep one per series for its life), which row it belongs to in each grouping,
 * and the previous sample's cumulative RTT buckets per row, to store only what was added.
 */
export class SampleBuilder {
  private readonly identities = new WeakMap<Attributes, RowIdentity[]>();
  private previous: Record<GroupBy, { rows: RowSet; rtt: Map<string, number[]> }> | undefined;
  private previousTotalRtt: number[] | undefined;

  build(collection: CollectionResult, timeMs: number): Sample {
    const metrics = collection.resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const totals = new Float64Array(FIELDS);
    let totalRtt: number[] | undefined;
    const groups = GROUPINGS.map(() => new GroupAccumulator());
    const losses: Record<string, number> = Object.fromEntries(Object.keys(LOSS_METRICS).map((k) => [k, 0]));
    const lossKeys = new Map(Object.entries(LOSS_METRICS).map(([key, def]) => [def.name, key]));
    let rttBoundaries: readonly number[] = defs.RTT_BUCKETS;

    for (const metric of metrics) {
      const name = metric.descriptor.name;
      const lossKey = lossKeys.get(name);
      if (lossKey !== undefined) losses[lossKey] = sumOf(metric);
      const field = COUNT_FIELDS[name];
      if (field !== undefined && metric.dataPointType !== DataPointType.HISTOGRAM && metric.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) {
        for (const point of metric.dataPoints) {
          const value = point.value as number;
          const f = field === 'io' ? (point.attributes[defs.ATTR_DIRECTION] === 'transmit' ? TX : RX) : field;
          totals[f] = totals[f]! + value;
          const identities = this.identitiesOf(point.attributes);
          for (let g = 0; g < groups.length; g++) {
            const group = groups[g]!;
            const k = group.row(identities[g]!) * FIELDS + f;
            group.counts[k] = group.counts[k]! + value;
          }
        }
      }
      if (name === defs.RTT.name && metric.dataPointType === DataPointType.HISTOGRAM) {
        for (const point of metric.dataPoints) {
          const { boundaries, counts } = point.value.buckets;
          rttBoundaries = boundaries;
          totalRtt = addInto(totalRtt, counts);
          const identities = this.identitiesOf(point.attributes);
          for (let g = 0; g < groups.length; g++) {
            const group = groups[g]!;
            const row = group.row(identities[g]!);
            group.rtt.set(row, addInto(group.rtt.get(row), counts));
          }
        }
      }
    }

    const previous = this.previous;
    const next = {} as Record<GroupBy, { rows: RowSet; rtt: Map<string, number[]> }>;
    const sampleGroups = {} as Record<GroupBy, GroupSample>;
    GROUPINGS.forEach((g, i) => {
      const group = groups[i]!;
      const rows = sameRows(previous?.[g].rows, group) ? previous![g].rows : { identities: group.identities, index: group.index };
      const cumulativeRtt = new Map<string, number[]>();
      const rttAdded = new Map<number, number[]>();
      for (const [row, counts] of group.rtt) {
        const id = group.identities[row]!.id;
        cumulativeRtt.set(id, counts);
        const added = increase(counts, previous?.[g].rtt.get(id));
        if (added) rttAdded.set(row, added);
      }
      next[g] = { rows, rtt: cumulativeRtt };
      sampleGroups[g] = { rows, counts: Float64Array.from(group.counts), rttAdded };
    });
    const totalRttAdded = totalRtt && increase(totalRtt, this.previousTotalRtt);
    this.previous = next;
    this.previousTotalRtt = totalRtt;
    return { timeMs, totals, totalRttAdded, groups: sampleGroups, losses, rttBoundaries };
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

function addInto(into: number[] | undefined, counts: readonly number[]): number[] {
  const sum = into ?? new Array<number>(counts.length).fill(0);
  for (let i = 0; i < counts.length; i++) sum[i] = (sum[i] ?? 0) + counts[i]!;
  return sum;
}

/**
 * What the buckets gained since `before`, sparse: [bucket, added, bucket, added, ...]
 * (a busy row gains in one or two buckets a second); undefined when nothing. A bucket
 * that fell (a series expired) gained nothing.
 */
function increase(now: readonly number[], before: readonly number[] | undefined): number[] | undefined {
  const added: number[] = [];
  for (let i = 0; i < now.length; i++) {
    const d = now[i]! - (before?.[i] ?? 0);
    if (d > 0) added.push(i, d);
  }
  // slice(): an array grown by push keeps spare capacity, which hundreds of samples would hold.
  return added.length > 0 ? added.slice() : undefined;
}

function sameRows(previous: RowSet | undefined, group: GroupAccumulator): boolean {
  if (!previous || previous.identities.length !== group.identities.length) return false;
  for (let i = 0; i < group.identities.length; i++) if (previous.identities[i]!.id !== group.identities[i]!.id) return false;
  return true;
}
