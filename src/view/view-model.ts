/**
 * The view behind `sockscope top`, the live page and /api/v1: it samples the
 * producer's collection (the same MetricData /metrics renders) into a bounded
 * history and answers snapshots (rates over a window, totals, RTT percentiles, plan,
 * losses) and per-row histories from it.
 */
import os from 'node:os';
import type { CollectionResult } from '@opentelemetry/sdk-metrics';
import { HistoryRing } from './history-ring';
import { bucketQuantile } from './percentile';
import { SampleBuilder, type RowTotals, type Sample, type SampleRow } from './sample';
import type { HistoryQuery, HistoryRow, SnapshotQuery, ViewHistory, ViewRow, ViewSnapshot } from './snapshot';

/** The attach plan as the view shows it (AttachPlan's hooks fit). */
export interface ViewPlanHook {
  hook: string;
  required: boolean;
  chosen?: string;
}

export interface ViewModelOptions {
  /** One collection, e.g. SockscopeProducer.collect(): it also drains the collector. */
  collect: () => Promise<CollectionResult>;
  plan: { hooks: readonly ViewPlanHook[] };
  version: string;
  kernel?: string;
  hostname?: string;
  /** Seconds between sample() calls, as the caller schedules them (default 1): the history's step. */
  intervalSeconds?: number;
  /** How far back history reaches at most (default 300 s). */
  historySeconds?: number;
  /** Bound on rows held over all samples and groupings (default 200 000). */
  maxRowSamples?: number;
  /** Wall clock in ms (tests). */
  now?: () => number;
}

export const DEFAULT_SNAPSHOT_WINDOW = 10;
export const DEFAULT_SNAPSHOT_LIMIT = 50;
export const DEFAULT_HISTORY_WINDOW = 300;
export const DEFAULT_HISTORY_LIMIT = 10;
export const MAX_LIMIT = 1000;
export const DEFAULT_HISTORY_SECONDS = 300;
export const DEFAULT_MAX_ROW_SAMPLES = 200_000;

type Rates = Omit<ViewRow, 'id' | 'label' | 'attributes'>;

export class ViewModel {
  private readonly ring: HistoryRing;
  private readonly builder = new SampleBuilder();
  private readonly intervalSeconds: number;
  private readonly now: () => number;
  private readonly sockscope: ViewSnapshot['sockscope'];
  private readonly plan: ViewSnapshot['plan'];
  /** sample() calls run one after the other: two collections at once would interleave drains. */
  private sampling: Promise<void> = Promise.resolve();

  constructor(private readonly options: ViewModelOptions) {
    this.intervalSeconds = options.intervalSeconds ?? 1;
    this.now = options.now ?? Date.now;
    const historySeconds = options.historySeconds ?? DEFAULT_HISTORY_SECONDS;
    this.ring = new HistoryRing({
      capacity: Math.max(2, Math.ceil(historySeconds / this.intervalSeconds) + 1),
      maxRowSamples: options.maxRowSamples ?? DEFAULT_MAX_ROW_SAMPLES,
    });
    this.sockscope = { version: options.version, kernel: options.kernel ?? os.release(), hostname: options.hostname ?? os.hostname() };
    this.plan = planView(options.plan.hooks);
  }

  /** Collects once and adds the result to the history. */
  sample(): Promise<void> {
    const next = this.sampling.then(async () => {
      const collection = await this.options.collect();
      if (collection.errors.length > 0) throw new AggregateError(collection.errors, 'collection for the view failed');
      this.ring.push(this.builder.build(collection, this.now()));
    });
    // A failed sample must not block the next one.
    this.sampling = next.catch(() => undefined);
    return next;
  }

  /** Samples once if nothing was sampled yet (a request right after start-up). */
  async ensureSampled(): Promise<void> {
    if (!this.ring.latest) await this.sample();
  }

  /** Rows held in the history (for measuring its memory). */
  get rowSamples(): number {
    return this.ring.rowSamples;
  }

  snapshot(query: SnapshotQuery): ViewSnapshot {
    const latest = this.latestSample();
    const window = query.windowSeconds ?? DEFAULT_SNAPSHOT_WINDOW;
    const limit = Math.min(query.limit ?? DEFAULT_SNAPSHOT_LIMIT, MAX_LIMIT);
    const base = this.ring.baseFor(window, this.slackMs());
    const seconds = base ? (latest.timeMs - base.timeMs) / 1000 : 0;
    const boundaries = latest.rttBoundaries;
    const baseRows = base?.rows[query.groupBy];
    const filter = query.filter?.toLowerCase();
    const rows: ViewRow[] = [];
    for (const [id, row] of latest.rows[query.groupBy]) {
      if (filter && !row.identity.label.toLowerCase().includes(filter)) continue;
      const then = base ? (baseRows!.get(id)?.totals ?? ZERO) : undefined;
      rows.push({ id, label: row.identity.label, attributes: row.identity.attributes, ...rates(row.totals, then, seconds, boundaries) });
    }
    rows.sort(byTraffic);
    return {
      apiVersion: 'v1',
      time: new Date(latest.timeMs).toISOString(),
      windowSeconds: seconds,
      groupBy: query.groupBy,
      sockscope: this.sockscope,
      plan: this.plan,
      losses: { ...latest.losses },
      totals: rates(latest.totals, base?.totals, seconds, boundaries),
      rows: rows.slice(0, limit),
    };
  }

  history(query: HistoryQuery): ViewHistory {
    this.latestSample();
    const samples = this.ring.within(query.windowSeconds ?? DEFAULT_HISTORY_WINDOW, this.slackMs());
    const limit = Math.min(query.limit ?? DEFAULT_HISTORY_LIMIT, MAX_LIMIT);
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const moved = (row: SampleRow) => {
      const then = first.rows[query.groupBy].get(row.identity.id)?.totals ?? ZERO;
      return row.totals.tx + row.totals.rx - (then.tx + then.rx);
    };
    const top = [...last.rows[query.groupBy].values()]
      .map((row) => ({ row, moved: moved(row), total: row.totals.tx + row.totals.rx }))
      .sort((a, b) => b.moved - a.moved || b.total - a.total || a.row.identity.id.localeCompare(b.row.identity.id))
      .slice(0, limit);
    const times = samples.slice(1).map((s) => s.timeMs);
    const rows: HistoryRow[] = top.map(({ row }) => {
      const id = row.identity.id;
      const series: HistoryRow = { id, label: row.identity.label, txBytesPerSecond: [], rxBytesPerSecond: [], activeConnections: [] };
      for (let i = 1; i < samples.length; i++) {
        const now = samples[i]!.rows[query.groupBy].get(id)?.totals ?? ZERO;
        const then = samples[i - 1]!.rows[query.groupBy].get(id)?.totals ?? ZERO;
        const seconds = (samples[i]!.timeMs - samples[i - 1]!.timeMs) / 1000;
        series.txBytesPerSecond.push(perSecond(now.tx, then.tx, seconds));
        series.rxBytesPerSecond.push(perSecond(now.rx, then.rx, seconds));
        series.activeConnections.push(now.active);
      }
      return series;
    });
    return { apiVersion: 'v1', groupBy: query.groupBy, step: this.intervalSeconds, times, rows };
  }

  private latestSample(): Sample {
    const latest = this.ring.latest;
    if (!latest) throw new Error('the view has no sample yet: call sample() first');
    return latest;
  }

  private slackMs(): number {
    return (this.intervalSeconds * 1000) / 2;
  }
}

const ZERO: RowTotals = Object.freeze({ tx: 0, rx: 0, active: 0, opened: 0, failed: 0, retransmits: 0 });

/**
 * A rate over the window. A row's sum can fall when one of its series expires (idle
 * for the series TTL); the rate is then clamped at 0 rather than reported negative.
 */
function perSecond(now: number, then: number, seconds: number): number {
  return seconds > 0 ? Math.max(0, now - then) / seconds : 0;
}

function rates(now: RowTotals, then: RowTotals | undefined, seconds: number, boundaries: readonly number[]): Rates {
  const rtt = windowBuckets(now.rtt, then?.rtt);
  return {
    txBytes: now.tx,
    rxBytes: now.rx,
    txBytesPerSecond: perSecond(now.tx, then?.tx ?? 0, seconds),
    rxBytesPerSecond: perSecond(now.rx, then?.rx ?? 0, seconds),
    activeConnections: now.active,
    openedPerSecond: perSecond(now.opened, then?.opened ?? 0, seconds),
    failedPerSecond: perSecond(now.failed, then?.failed ?? 0, seconds),
    retransmitsPerSecond: perSecond(now.retransmits, then?.retransmits ?? 0, seconds),
    rttP50Seconds: rtt ? bucketQuantile(0.5, boundaries, rtt) : null,
    rttP99Seconds: rtt ? bucketQuantile(0.99, boundaries, rtt) : null,
  };
}

/** RTT samples that arrived in the window: the cumulative buckets minus those at its start. */
function windowBuckets(now: readonly number[] | undefined, then: readonly number[] | undefined): number[] | undefined {
  if (!now) return undefined;
  if (!then) return [...now];
  return now.map((n, i) => Math.max(0, n - (then[i] ?? 0)));
}

function byTraffic(a: ViewRow, b: ViewRow): number {
  return (
    b.txBytesPerSecond + b.rxBytesPerSecond - (a.txBytesPerSecond + a.rxBytesPerSecond) ||
    b.txBytes + b.rxBytes - (a.txBytes + a.rxBytes) ||
    a.id.localeCompare(b.id)
  );
}

function planView(hooks: readonly ViewPlanHook[]): ViewSnapshot['plan'] {
  const attached = hooks.filter((h) => h.chosen).length;
  const parts = hooks.map((h) => `${h.hook}=${h.chosen ?? (h.required ? 'MISSING' : 'none')}`);
  return {
    summary: `${attached}/${hooks.length} hooks attached: ${parts.join(', ')}`,
    hooks: hooks.map((h) => ({ hook: h.hook, implementation: h.chosen ?? null, required: h.required })),
  };
}
