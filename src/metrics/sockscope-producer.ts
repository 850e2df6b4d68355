/**
 * sockscope's metrics as an OpenTelemetry MetricProducer: the SDK's readers (the
 * Prometheus exporter, the periodic OTLP reader) call collect(), which drains the
 * collector and turns sockscope's own bounded, expiring series into cumulative
 * MetricData. The SDK's exporters and data model are used as they are; only the
 * aggregation state is ours, because SDK series can neither expire nor be counted.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { AttachPlan } from '../collector/attach-plan';
import type { ConntrackBackends, PeerTuple } from '../collector/conntrack-backends';
import type { CollectorStats, ConnectionSource, FlowDelta, FlowSource, ProgramRuns } from '../collector/types';
import { AttributePolicy, type AttributeSelection } from './attribute-policy';
import { Attributor, type WorkloadResolver } from './attributor';
import { ClusterNetworks } from './cluster-networks';
import { ConnectionTracker } from './connection-tracker';
import * as defs from './definitions';
import { HistogramStore } from './explicit-histogram';
import { FlowMetrics } from './flow-metrics';
import { PeerGroups, type PeerGroupConfig } from './peer-groups';
import { CountStore, type SeriesEntry, type SeriesLimits, type SeriesView } from './series-store';
import type { HistogramState } from './explicit-histogram';
import { ServerPorts } from './server-ports';

/** What this build is (src/build-info.ts reads it), for sockscope_build_info. */
export interface BuildInfo {
  version: string;
  nodeVersion: string;
}

export interface SockscopeProducerOptions {
  buildInfo: BuildInfo;
  plan: AttachPlan;
  limits: SeriesLimits;
  attributes?: AttributeSelection;
  peerGroups?: PeerGroupConfig;
  /** metrics.clusterNetworks: peers there are exported by address. */
  clusterNetworks?: readonly string[];
  /** Conntrack lookups of the backend behind cluster peers (sockscope.peer.backend.address); none without. */
  backends?: ConntrackBackends;
  /** Counts of those lookups (ConntrackBackends), when there are any: exported as self-metrics. */
  conntrackStats?: () => { outcomes: ReadonlyMap<string, number>; evicted: number };
  workload?: WorkloadResolver;
  /** Replaces the kernel's ephemeral range and listener set (tests). */
  serverPorts?: ServerPorts;
  maxConnections?: number;
  /** Also keep base-2 exponential histograms, for exponentialView(). */
  exponentialHistograms?: boolean;
  /** Clock for series TTLs, in ms (tests); Date.now by default. */
  now?: () => number;
  /** Counts of the event stream, when there is one: exported as its self-metrics. */
  eventStreamStats?: () => { written: number; dropped: Readonly<Record<string, number>> };
  /** Outcomes of the OTLP pushes by error.type ('' = success), when pushing: exported as self-metrics. */
  otlpExportStats?: () => { exports: ReadonlyMap<string, number>; dataPoints: ReadonlyMap<string, number> };
  /**
   * TEST ONLY: loses every tenth flow of each process before it is counted, a deliberately broken
   * pipeline that `sockscope selftest` must catch (env TEST_ONLY_SOCKSCOPE_DROP_EVERY_TENTH_FLOW=1).
   */
  testDropEveryTenthFlow?: boolean;
}

export class SockscopeProducer implements MetricProducer {
  readonly flows: FlowMetrics;
  readonly connections: ConnectionTracker;
  private readonly attributor: Attributor;
  private readonly guarded: Array<[defs.MetricDefinition, SeriesView]>;
  private readonly startTime = hrTime();
  /** Connections closed by reconciliation because their CLOSE was lost. */
  reconciled = 0;

  constructor(
    private readonly source: FlowSource,
    private readonly connectionSource: ConnectionSource,
    private readonly options: SockscopeProducerOptions,
  ) {
    const cluster = new ClusterNetworks(options.clusterNetworks);
    const policy = new AttributePolicy(defs.METRICS, options.attributes, cluster.enabled);
    const attributor = new Attributor(
      options.serverPorts ?? new ServerPorts(),
      new PeerGroups(options.peerGroups),
      options.workload,
      cluster,
      cluster.enabled ? options.backends : undefined,
    );
    this.attributor = attributor;
    const now = options.now ?? Date.now;
    const counts = () => new CountStore(options.limits, { now });
    const histogram = (def: defs.MetricDefinition) =>
      new HistogramStore(options.limits, def.buckets ?? [], now, options.exponentialHistograms ?? false);
    this.flows = new FlowMetrics({ bytes: counts(), messages: counts(), rtt: histogram(defs.RTT) }, policy, attributor);
    this.connections = new ConnectionTracker(
      {
        opened: counts(),
        closed: counts(),
        failed: counts(),
        active: new CountStore(options.limits, { keepWhileNonZero: true, now }),
        transitions: counts(),
        retransmits: counts(),
        connectDuration: histogram(defs.CONNECT_DURATION),
        lifetime: histogram(defs.CONNECTION_DURATION),
      },
      policy,
      attributor,
      options.maxConnections,
    );
    const f = this.flows.stores;
    const c = this.connections.stores;
    this.guarded = [
      [defs.NETWORK_IO, f.bytes],
      [defs.NETWORK_MESSAGES, f.messages],
      [defs.CONNECTIONS_OPENED, c.opened],
      [defs.CONNECTIONS_CLOSED, c.closed],
      [defs.CONNECTIONS_FAILED, c.failed],
      [defs.CONNECTIONS_ACTIVE, c.active],
      [defs.STATE_TRANSITIONS, c.transitions],
      [defs.RETRANSMITS, c.retransmits],
      [defs.RTT, f.rtt],
      [defs.CONNECT_DURATION, c.connectDuration],
      [defs.CONNECTION_DURATION, c.lifetime],
    ];
  }

  /** Folds everything the collector has gathered into the series; the kernel is read off the event loop. */
  async ingest(): Promise<void> {
    const add = this.options.testDropEveryTenthFlow ? dropEveryTenthPerProcess(this.flows.addOne) : this.flows.addOne;
    const backends = this.options.backends;
    if (!backends || !this.options.clusterNetworks?.length) {
      await this.source.drainInto(add);
      this.reconciled += this.connections.apply(await this.connectionSource.drainConnections());
      return;
    }
    // Series are chosen as records are folded in, so the backends must be known before.
    const flows: FlowDelta[] = [];
    await this.source.drainInto((f) => flows.push(f));
    const tuples: PeerTuple[] = [];
    for (const f of flows) {
      const t = this.attributor.flowTuple(f);
      if (t) tuples.push(t);
    }
    await backends.resolve(tuples);
    for (const f of flows) add(f);
    const batch = await this.connectionSource.drainConnections();
    await backends.resolve(this.connections.peerTuples(batch));
    this.reconciled += this.connections.apply(batch);
  }

  async collect(): Promise<CollectionResult> {
    return this.collectAs('explicit');
  }

  /**
   * The same metrics with histograms as base-2 exponential histograms (for OTLP
   * backends that prefer them); needs `exponentialHistograms`.
   */
  exponentialView(): MetricProducer {
    if (!this.options.exponentialHistograms) throw new Error('exponentialView() needs exponentialHistograms: true');
    return { collect: () => this.collectAs('exponential') };
  }

  private async collectAs(histograms: 'explicit' | 'exponential'): Promise<CollectionResult> {
    await this.ingest();
    for (const [, store] of this.guarded) store.sweep();
    const now = hrTime();
    const metrics: MetricData[] = this.guarded.map(([def, store]) => toMetricData(def, store, now, histograms));
    metrics.push(...this.selfMetrics(this.source.stats(), now));
    return {
      resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: 'sockscope', version: this.options.buildInfo.version }, metrics }] },
      errors: [],
    };
  }

  private selfMetrics(stats: CollectorStats, now: HrTime): MetricData[] {
    const point = (value: number, attributes: Attributes = {}) => ({ attributes, value, startTime: this.startTime, endTime: now });
    const mapFull = Object.entries({ ...stats.mapFull, connections: this.connections.refused });
    return [
      sum(defs.EVENTS_LOST, [point(stats.eventsLost)]),
      sum(defs.IO_SPILLED, [point(stats.ioCallsSpilled)]),
      sum(defs.IO_CACHE_EVICTIONS, [point(stats.ioCacheEvictions)]),
      sum(defs.FLOW_MAP_ERRORS, [point(stats.flowMapErrors)]),
      sum(defs.RECORDS_MALFORMED, [point(stats.malformedRecords)]),
      sum(defs.EVENTS_MISSED, Object.entries(stats.missedByHook).map(([hook, n]) => point(n, { [defs.ATTR_HOOK]: hook }))),
      sum(defs.MAP_FULL, mapFull.map(([map, n]) => point(n, { [defs.ATTR_MAP]: map }))),
      ...this.conntrackMetrics(point),
      sum(defs.CONNECTIONS_RECONCILED, [
        point(this.reconciled, { [defs.ATTR_RECONCILED_AS]: 'closed' }),
        point(this.connections.adopted, { [defs.ATTR_RECONCILED_AS]: 'opened' }),
      ]),
      ...this.eventStreamMetrics(point),
      ...this.otlpExportMetrics(point),
      gauge(
        defs.PROGRAM_ATTACHED,
        this.options.plan.hooks.map((h) =>
          point(h.chosen ? 1 : 0, { [defs.ATTR_HOOK]: h.hook, [defs.ATTR_IMPLEMENTATION]: h.chosen ?? 'none' }),
        ),
      ),
      gauge(defs.MAP_MEMORY, Object.entries(stats.mapMemoryBytes).map(([map, bytes]) => point(bytes, { [defs.ATTR_MAP]: map }))),
      ...programRunMetrics(stats, point),
      sum(defs.SERIES_OVERFLOW, this.guarded.map(([def, store]) => point(store.folded, { [defs.ATTR_METRIC]: def.name }))),
      gauge(defs.SERIES_ACTIVE, this.guarded.map(([def, store]) => point(store.size, { [defs.ATTR_METRIC]: def.name }))),
      gauge(defs.BUILD_INFO, [
        point(1, { version: this.options.buildInfo.version, 'nodejs.version': this.options.buildInfo.nodeVersion }),
      ]),
    ];
  }

  private conntrackMetrics(point: Point): MetricData[] {
    const stats = this.options.conntrackStats?.();
    if (!stats) return [];
    return [
      sum(defs.CONNTRACK_LOOKUPS, [...stats.outcomes].map(([outcome, n]) => point(n, { [defs.ATTR_CONNTRACK_OUTCOME]: outcome }))),
      sum(defs.CONNTRACK_CACHE_EVICTED, [point(stats.evicted)]),
    ];
  }

  private eventStreamMetrics(point: Point): MetricData[] {
    const stats = this.options.eventStreamStats?.();
    if (!stats) return [];
    return [
      sum(defs.EVENT_STREAM_WRITTEN, [point(stats.written)]),
      sum(defs.EVENT_STREAM_DROPPED, Object.entries(stats.dropped).map(([reason, n]) => point(n, { [defs.ATTR_DROP_REASON]: reason }))),
    ];
  }

  private otlpExportMetrics(point: Point): MetricData[] {
    const stats = this.options.otlpExportStats?.();
    if (!stats) return [];
    const byErrorType = (counts: ReadonlyMap<string, number>) =>
      [...counts].map(([errorType, n]) => point(n, errorType === '' ? {} : { [defs.ATTR_ERROR_TYPE]: errorType }));
    return [sum(defs.OTLP_EXPORTS, byErrorType(stats.exports)), sum(defs.OTLP_DATA_POINTS, byErrorType(stats.dataPoints))];
  }
}

/** Counted per process name, so that a process with ten flows surely loses one, whatever else runs. */
const flowsSeenByProcess = new Map<string, number>();
function dropEveryTenthPerProcess(addOne: (f: FlowDelta) => void): (f: FlowDelta) => void {
  return (f) => {
    const n = (flowsSeenByProcess.get(f.comm) ?? 0) + 1;
    flowsSeenByProcess.set(f.comm, n);
    if (n % 10 !== 0) addOne(f);
  };
}

/** Present only while the kernel counts (kernel.bpf_stats_enabled): a frozen count would read as an idle program. */
function programRunMetrics(stats: CollectorStats, point: Point): MetricData[] {
  if (!stats.programRuns) return [];
  const attributes = (r: ProgramRuns) => ({ [defs.ATTR_HOOK]: r.hook, [defs.ATTR_IMPLEMENTATION]: r.implementation, [defs.ATTR_PROGRAM]: r.program });
  return [
    sum(defs.PROGRAM_RUN_TIME, stats.programRuns.map((r) => point(r.runTimeNs / 1e9, attributes(r))), ValueType.DOUBLE),
    sum(defs.PROGRAM_RUNS, stats.programRuns.map((r) => point(r.runCount, attributes(r)))),
  ];
}

type Point = (value: number, attributes?: Attributes) => { attributes: Attributes; value: number; startTime: HrTime; endTime: HrTime };

function descriptor(def: defs.MetricDefinition, valueType: ValueType) {
  return { name: def.name, description: def.description, unit: def.unit, valueType };
}

function sum(
  def: defs.MetricDefinition,
  dataPoints: Array<{ attributes: Attributes; value: number; startTime: HrTime; endTime: HrTime }>,
  valueType = ValueType.INT,
): MetricData {
  return {
    descriptor: descriptor(def, valueType),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: def.kind === 'counter',
    dataPoints,
  };
}

function gauge(def: defs.MetricDefinition, dataPoints: Array<{ attributes: Attributes; value: number; startTime: HrTime; endTime: HrTime }>): MetricData {
  return {
    descriptor: descriptor(def, ValueType.INT),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints,
  };
}

function toMetricData(def: defs.MetricDefinition, store: SeriesView, now: HrTime, histograms: 'explicit' | 'exponential'): MetricData {
  const entries = [...store.entries()];
  if (def.kind === 'histogram' && histograms === 'exponential') {
    return {
      descriptor: descriptor(def, ValueType.DOUBLE),
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      dataPoints: (entries as Array<SeriesEntry<HistogramState>>).map((e) => {
        const x = e.value.exponential!;
        return {
          attributes: e.attributes,
          startTime: e.startTime,
          endTime: now,
          value: {
            count: x.count,
            sum: x.sum,
            scale: x.scale,
            zeroCount: x.zeroCount,
            positive: { offset: x.offset, bucketCounts: [...x.counts] },
            negative: { offset: 0, bucketCounts: [] },
            min: x.min,
            max: x.max,
          },
        };
      }),
    };
  }
  if (def.kind === 'histogram') {
    return {
      descriptor: descriptor(def, ValueType.DOUBLE),
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: (entries as Array<SeriesEntry<HistogramState>>).map((e) => ({
        attributes: e.attributes,
        startTime: e.startTime,
        endTime: now,
        value: {
          buckets: { boundaries: [...e.value.boundaries], counts: [...e.value.counts] },
          sum: e.value.sum,
          count: e.value.count,
          min: e.value.min,
          max: e.value.max,
        },
      })),
    };
  }
  const points = (entries as Array<SeriesEntry<{ value: number }>>).map((e) => ({
    attributes: e.attributes,
    startTime: e.startTime,
    endTime: now,
    value: e.value.value,
  }));
  return sum(def, points);
}
