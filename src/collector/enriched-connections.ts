/**
 * The collector's connection records: the kernel's events enriched once (see
 * ConnectionEnricher), plus what /proc says is still open after events may have been
 * lost. Read by the connection metrics and by the event stream.
 */
import { performance } from 'node:perf_hooks';
import { ConnectionEnricher, connectionKey, ESTABLISHED_LIKE, netnsOfKey } from './connection-enricher';
import { NetnsWitnesses, type NetnsWitness } from './netns-witnesses';
import type { ProcSocket, TcpSocketListing } from './proc-sockets';
import type {
  CollectorStats,
  ConnectionBatch,
  ConnectionRecord,
  ConnectionSource,
  ExistingSocket,
  RawConnectionEventSource,
  SocketOwner,
  StillOpen,
} from './types';

export interface EnrichedConnectionsOptions {
  /** TCP sockets that existed at start, from /proc; used once. */
  bootstrap?: ReadonlyArray<ProcSocket & { owner?: SocketOwner }>;
  /**
   * Lists the kernel's TCP sockets now (for reconciling after lost state changes), reading
   * namespaces it cannot reach otherwise through their witnesses.
   */
  listSockets?: (witnesses: ReadonlyMap<number, readonly NetnsWitness[]>) => TcpSocketListing;
  /** Processes known per namespace (tests); read from /proc by default. */
  witnesses?: NetnsWitnesses;
  maxConnections?: number;
  /** Another reader of every record, besides the caller (the event stream under `run`). */
  onRecords?: (records: readonly ConnectionRecord[]) => void;
  /** Clock in ms (tests); Date.now by default. */
  now?: () => number;
}

/** Reconciling reads /proc/net/tcp of every namespace: not more often than this. */
const RECONCILE_MIN_INTERVAL_MS = 10_000;
/**
 * Without a counted loss, reconcile this often anyway: the kernel can skip a state change
 * without counting it (docs/counting.md). No more often than the listing's own cost times
 * RECONCILE_COST_FACTOR, so at 100k connections (seconds per listing) it stays under 2 %.
 */
const RECONCILE_UNCOUNTED_INTERVAL_MS = 60_000;
const RECONCILE_COST_FACTOR = 50;

export class EnrichedConnections implements ConnectionSource {
  private readonly enricher: ConnectionEnricher;
  /** Handed out with the first batch, then dropped: thousands of sockets must not stay referenced. */
  private existing: readonly ExistingSocket[] | undefined;
  private reconciledAtLosses = 0;
  private lastReconcileMs = Number.NEGATIVE_INFINITY;
  /** When to reconcile without a counted loss (the bootstrap was just read at start). */
  private nextPeriodicMs: number;
  private readonly witnesses: NetnsWitnesses;
  /**
   * Open connections the last listing had and no event had opened. Only those the next
   * listing has again are adopted: when ingest lags the kernel (thousands of connections a
   * second), most unknown ones are opens still on their way, and adopting them is wasted work.
   */
  private unknownAtLastListing = new Set<string>();

  private readonly options: Omit<EnrichedConnectionsOptions, 'bootstrap'>;

  constructor(
    private readonly raw: RawConnectionEventSource & { stats(): CollectorStats },
    { bootstrap, ...options }: EnrichedConnectionsOptions = {},
  ) {
    this.options = options;
    this.nextPeriodicMs = this.now() + RECONCILE_UNCOUNTED_INTERVAL_MS;
    this.witnesses = options.witnesses ?? new NetnsWitnesses();
    for (const s of bootstrap ?? []) if (s.owner && options.listSockets) this.witnesses.note(s.netns, s.owner.tgid);
    this.enricher = new ConnectionEnricher(options.maxConnections);
    this.existing = bootstrap ? this.enricher.bootstrap(bootstrap) : undefined;
  }

  async drainConnections(): Promise<ConnectionBatch> {
    const events = await this.raw.drainConnectionEvents();
    const existing = this.existing;
    this.existing = undefined;
    const records = this.enricher.enrich(events);
    if (records.length > 0) this.options.onRecords?.(records);
    if (this.options.listSockets) for (const r of records) if (r.owner) this.witnesses.note(r.netns, r.owner.tgid);
    const listing = this.listingAfterLosses();
    if (!listing) return { existing, records };
    this.enricher.retainOnly(listing.stillOpen);
    return { existing, records, stillOpen: listing.stillOpen, adopted: this.enricher.adopt(listing.openUnknown) };
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * After state changes may have been lost (counted), and every minute or so in case the
   * kernel lost one without counting it, the connections /proc still has: a lost CLOSE would
   * otherwise keep a connection open until restart, a lost open keep it out (adopted when two
   * listings in a row have it). The listing is read after this batch's events were taken: an
   * open still on its way arrives later and takes the adopted connection's place (the tracker
   * keys both alike). The kernel skips a
   * program already running on that CPU (missed); the ring can be full (lost; that count
   * includes socket I/O, which costs only a needless check); the addon bounds the events
   * it holds between drains (connection_events).
   */
  private listingAfterLosses(): { stillOpen: StillOpen; openUnknown: ProcSocket[] } | undefined {
    if (!this.options.listSockets) return undefined;
    const stats = this.raw.stats();
    const losses = (stats.missedByHook.tcp_state ?? 0) + stats.eventsLost + stats.mapFull.connection_events;
    const now = this.now();
    const afterCountedLoss = losses !== this.reconciledAtLosses && now - this.lastReconcileMs >= RECONCILE_MIN_INTERVAL_MS;
    const periodic = (this.enricher.openConnections > 0 || this.unknownAtLastListing.size > 0) && now >= this.nextPeriodicMs;
    if (!afterCountedLoss && !periodic) return undefined;
    this.reconciledAtLosses = losses;
    this.lastReconcileMs = now;
    const started = performance.now();
    this.witnesses.prune();
    const { sockets, namespaces } = this.options.listSockets(this.witnesses.all);
    const cost = RECONCILE_COST_FACTOR * (performance.now() - started);
    const open = new Set<string>();
    const unknown = new Set<string>();
    const openUnknown: ProcSocket[] = [];
    for (const s of sockets) {
      if (!ESTABLISHED_LIKE.has(s.state)) continue;
      const key = connectionKey(s.netns, s);
      open.add(key);
      if (this.enricher.isOpen(key)) continue;
      unknown.add(key);
      if (this.unknownAtLastListing.has(key)) openUnknown.push(s);
    }
    this.unknownAtLastListing = unknown;
    // Unknown ones are looked at again soon: adopted then if still there.
    this.nextPeriodicMs = now + Math.max(unknown.size > 0 ? RECONCILE_MIN_INTERVAL_MS : RECONCILE_UNCOUNTED_INTERVAL_MS, cost);
    // A namespace not read (its ns link was not ours to read) tells nothing: keep its connections.
    return { stillOpen: { has: (key) => open.has(key) || !namespaces.has(netnsOfKey(key)) }, openUnknown };
  }
}
