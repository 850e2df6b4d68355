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
import { ACTIVE, FAILED, FIELDS, OPENED, RETRANSMITS, RX, SampleBuilder, TX, type GroupSample, type Sample } from './sample';
import type { GroupBy, HistoryQuery, HistoryRow, SnapshotQuery, ViewHistory, ViewRow, ViewSnapshot } from './snapshot';

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
  /** Bound on rows held over all samples and groupings (default 120 000: about 14 MB with every row busy). */
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
export const DEFAULT_MAX_ROW_SAMPLES = 120_000;
/**
 * The daemon samples for the view only while someone read it this recently: sampling
 * costs about 1.5 % of a CPU at 10k series (docs/architecture.md, "The view").
 */
export const VIEW_IDLE_MS = 5 * 60_000;
/** Samples further apart than this many intervals start the history afresh: rates never span a gap. */
const GAP_INTERVALS = 5;

type Rates = Omit<ViewRow, 'id' | 'label' | 'attributes'>;

export class ViewModel {
  private readonly ring: HistoryRing;
  private builder = new SampleBuilder();
  /** When the API or a page last read the view (ms); see readWithin(). */
  private lastReadMs = -Infinity;
  private readonly intervalSeconds: number;
  private readonly now: () => number;
  private readonly sockscope: ViewSnapshot['sockscope'];
  private readonly plan: ViewSnapshot['plan'];
  /** The sample being taken: a second call meanwhile joins it (a slow collection must not queue up samples). */
  private sampling: Promise<void> | undefined;

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

  /** Collects once and adds the result to the history; while a sample is being taken, joins it. */
  sample(): Promise<void> {
    if (this.sampling) return this.sampling;
    const taking = this.takeSample().finally(() => {
      if (this.sampling === taking) this.sampling = undefined;
    });
    this.sampling = taking;
    return taking;
  }

  private async takeSample(): Promise<void> {
    const collection = await this.options.collect();
    if (collection.errors.length > 0) throw new AggregateError(collection.errors, 'collection for the view failed');
    const now = this.now();
    const latest = this.ring.latest;
    if (latest && now - latest.timeMs > GAP_INTERVALS * this.intervalSeconds * 1000) {
      this.ring.clear();
      this.builder = new SampleBuilder();
    }
    this.ring.push(this.builder.build(collection, now));
  }

  /** Samples unless the latest sample is at most two intervals old (a request after start-up or an idle spell). */
  async ensureFresh(): Promise<void> {
    const latest = this.ring.latest;
    if (!latest || this.now() - latest.timeMs > 2 * this.intervalSeconds * 1000) await this.sample();
  }

  /** Records a read by the API or a page. */
  noteRead(): void {
    this.lastReadMs = this.now();
  }

  /** Whether the view was read in the last `ms`: the daemon samples only then. */
  readWithin(ms: number): boolean {
    return this.now() - this.lastReadMs <= ms;
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
    // RTT samples that arrived in the window: what each sample after the base added.
    const inWindow = base ? this.ring.after(base) : [latest];
    const boundaries = latest.rttBoundaries;
    const now = latest.groups[query.groupBy];
    const then = base?.groups[query.groupBy];
    const filter = query.filter?.toLowerCase();
    const rows: ViewRow[] = [];
    now.rows.identities.forEach((identity, i) => {
      if (filter && !identity.label.toLowerCase().includes(filter)) return;
      const j = then?.rows.index.get(identity.id);
      const rtt = sumBuckets(inWindow.map((s) => rttAddedOf(s, query.groupBy, identity.id)), boundaries.length + 1);
      const row = rates(now.counts, i, then && j !== undefined ? then.counts : undefined, j ?? 0, seconds, rtt, boundaries);
      rows.push({ id: identity.id, label: identity.label, attributes: identity.attributes, ...row });
    });
    rows.sort(byTraffic);
    return {
      apiVersion: 'v1',
      time: new Date(latest.timeMs).toISOString(),
      windowSeconds: seconds,
      groupBy: query.groupBy,
      sockscope: this.sockscope,
      plan: this.plan,
      losses: { ...latest.losses },
      totals: rates(latest.totals, 0, base?.totals, 0, seconds, sumBuckets(inWindow.map((s) => s.totalRttAdded), boundaries.length + 1), boundaries),
      rows: rows.slice(0, limit),
    };
  }

  history(query: HistoryQuery): ViewHistory {
    this.latestSample();
    const samples = this.ring.within(query.windowSeconds ?? DEFAULT_HISTORY_WINDOW, this.slackMs());
    const limit = Math.min(query.limit ?? DEFAULT_HISTORY_LIMIT, MAX_LIMIT);
    const first = samples[0]!.groups[query.groupBy];
    const last = samples[samples.length - 1]!.groups[query.groupBy];
    const top = last.rows.identities
      .map((identity, i) => {
        const total = count(last, i, TX) + count(last, i, RX);
        const j = first.rows.index.get(identity.id);
        const before = j === undefined ? 0 : count(first, j, TX) + count(first, j, RX);
        return { identity, moved: total - before, total };
      })
      .sort((a, b) => b.moved - a.moved || b.total - a.total || a.identity.id.localeCompare(b.identity.id))
      .slice(0, limit);
    const times = samples.slice(1).map((s) => s.timeMs);
    const rows: HistoryRow[] = top.map(({ identity }) => {
      const id = identity.id;
      const row: HistoryRow = { id, label: identity.label, txBytesPerSecond: [], rxBytesPerSecond: [], activeConnections: [] };
      const at = (s: Sample, f: number) => {
        const group = s.groups[query.groupBy];
        const i = group.rows.index.get(id);
        return i === undefined ? 0 : count(group, i, f);
      };
      for (let k = 1; k < samples.length; k++) {
        const now = samples[k]!;
        const then = samples[k - 1]!;
        const seconds = (now.timeMs - then.timeMs) / 1000;
        row.txBytesPerSecond.push(perSecond(at(now, TX), at(then, TX), seconds));
        row.rxBytesPerSecond.push(perSecond(at(now, RX), at(then, RX), seconds));
        row.activeConnections.push(at(now, ACTIVE));
      }
      return row;
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

function count(group: GroupSample, row: number, field: number): number {
  return group.counts[row * FIELDS + field]!;
}

function rttAddedOf(sample: Sample, groupBy: GroupBy, id: string): readonly number[] | undefined {
  const group = sample.groups[groupBy];
  const i = group.rows.index.get(id);
  return i === undefined ? undefined : group.rttAdded.get(i);
}

/**
 * A rate over the window. A row's sum can fall when one of its series expires (idle
 * for the series TTL); the rate is then clamped at 0 rather than reported negative.
 */
function perSecond(now: number, then: number, seconds: number): number {
  return seconds > 0 ? Math.max(0, now - then) / seconds : 0;
}

/** Sparse bucket increases (see sample.ts) summed into dense counts; undefined when there were none. */
function sumBuckets(added: ReadonlyArray<readonly number[] | undefined>, buckets: number): number[] | undefined {
  let sum: number[] | undefined;
  for (const pairs of added) {
    if (!pairs) continue;
    sum ??= new Array<number>(buckets).fill(0);
    for (let k = 0; k < pairs.length; k += 2) sum[pairs[k]!]! += pairs[k + 1]!;
  }
  return sum;
}

/** Row `i` of `now` against row `j` of `then` (cumulative counts, FIELDS per row). */
function rates(
  now: Float64Array,
  i: number,
  then: Float64Array | undefined,
  j: number,
  seconds: number,
  rtt: number[] | undefined,
  boundaries: readonly number[],
): Rates {
  const at = (f: number) => now[i * FIELDS + f]!;
  const rate = (f: number) => perSecond(at(f), then ? then[j * FIELDS + f]! : 0, seconds);
  return {
    txBytes: at(TX),
    rxBytes: at(RX),
    txBytesPerSecond: rate(TX),
    rxBytesPerSecond: rate(RX),
    activeConnections: at(ACTIVE),
    openedPerSecond: rate(OPENED),
    failedPerSecond: rate(FAILED),
    retransmitsPerSecond: rate(RETRANSMITS),
    rttP50Seconds: rtt ? bucketQuantile(0.5, boundaries, rtt) : null,
    rttP99Seconds: rtt ? bucketQuantile(0.99, boundaries, rtt) : null,
  };
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
