/**
 * Folds the collector's connection records into connection counters, the active
 * connection gauge and the connect-latency and lifetime histograms. Owner and direction
 * come resolved in the records (src/collector/connection-enricher.ts); this only reads them.
 */
import type { Attributes } from '@opentelemetry/api';
import { connectionKey } from '../collector/connection-enricher';
import type { ConnectionBatch, ConnectionRecord, Direction, ExistingSocket, SocketOwner, StillOpen } from '../collector/types';
import type { PeerTuple } from '../collector/conntrack-backends';
import type { AttributePolicy } from './attribute-policy';
import type { Attributor } from './attributor';
import {
  ATTR_CONNECTION_DIRECTION,
  ATTR_ERROR_TYPE,
  ATTR_STATE_FROM,
  ATTR_STATE_TO,
  CONNECT_DURATION,
  CONNECTION_DURATION,
  CONNECTIONS_ACTIVE,
  CONNECTIONS_CLOSED,
  CONNECTIONS_FAILED,
  CONNECTIONS_OPENED,
  RETRANSMITS,
  STATE_TRANSITIONS,
} from './definitions';
import type { HistogramStore } from './explicit-histogram';
import { Interner } from './interner';
import { seriesKey, type CountStore, type SeriesEntry, type SeriesStore } from './series-store';

export interface ConnectionStores {
  opened: CountStore;
  closed: CountStore;
  failed: CountStore;
  /** Up-down: must be created with keepWhileNonZero. */
  active: CountStore;
  transitions: CountStore;
  retransmits: CountStore;
  connectDuration: HistogramStore;
  lifetime: HistogramStore;
}

/**
 * Only the selected series are kept per connection: candidates would cost ~1 KB each.
 * The series attributes are interned here.
 */
interface TrackedConnection {
  /** The active-gauge series it is counted in (maybe the overflow series), to take it out again. */
  activeSeries: Attributes;
  closedSeries: Attributes;
  lifetimeSeries: Attributes;
}

/** Where a record or socket comes from: endpoints, namespace and the family on the wire. */
type Located = Pick<ExistingSocket, 'family' | 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort' | 'netns' | 'wireFamily'>;

const ERRNO_TYPES: Readonly<Record<number, string>> = {
  0: 'aborted',
  104: 'reset', // ECONNRESET
  110: 'timed_out', // ETIMEDOUT
  111: 'refused', // ECONNREFUSED
  113: 'host_unreachable', // EHOSTUNREACH
  101: 'network_unreachable', // ENETUNREACH
};

export function errorType(errno: number): string {
  return ERRNO_TYPES[errno] ?? 'other';
}

export class ConnectionTracker {
  /** Connections not tracked because `maxConnections` were already tracked. */
  refused = 0;
  /** Open connections by connectionKey (namespace and tuple). */
  private readonly connections = new Map<string, TrackedConnection>();
  /** Thousands of connections share a handful of attribute sets. */
  private readonly attributeSets = new Interner<Attributes>();
  /** seriesKey() of those shared sets, computed once per set: a close must not sort attribute names again. */
  private readonly sharedKeys = new WeakMap<Attributes, string>();

  constructor(
    readonly stores: ConnectionStores,
    private readonly policy: AttributePolicy,
    private readonly attributor: Attributor,
    private readonly maxConnections = 262_144,
  ) {}

  /** Connections tracked because /proc had them open although no event opened them (their open was lost). */
  adopted = 0;

  /** The conntrack tuples of the batch's connections whose backend its series carry (Attributor.peerTuple). */
  peerTuples(batch: ConnectionBatch): PeerTuple[] {
    const tuples: PeerTuple[] = [];
    const add = (e: Located, direction: Direction | undefined) => {
      if (direction !== 'active') return; // only a client's peer can be a DNATed Service
      const t = this.attributor.peerTuple(e, 'tcp', e.remotePort);
      if (t) tuples.push(t);
    };
    for (const s of batch.existing ?? []) add(s, s.direction);
    for (const r of batch.records) {
      if (r.newState === 'CLOSE' && r.oldState !== 'SYN_SENT') continue;
      add(r, r.direction ?? (r.kind === 'retransmit' || r.oldState === 'SYN_SENT' ? 'active' : undefined));
    }
    return tuples;
  }

  /** Takes in one batch; returns how many connections it closed because /proc no longer has them. */
  apply(batch: ConnectionBatch): number {
    if (batch.existing) this.bootstrap(batch.existing);
    // Before the batch's records: the listing was read after them, and an open of the same key
    // still on its way replaces an adopted connection (track() takes the previous one out).
    if (batch.adopted) for (const s of batch.adopted) if (s.direction && this.track(connectionKey(s.netns, s), this.candidates(s.owner, s.direction, s))) this.adopted++;
    for (const r of batch.records) {
      if (r.kind === 'retransmit') this.retransmit(r);
      else this.stateChange(r);
    }
    return batch.stillOpen ? this.reconcile(batch.stillOpen) : 0;
  }

  get trackedConnections(): number {
    return this.connections.size;
  }

  /** The tracked connections by connectionKey, with the active series each is counted in, for diagnostics. */
  *tracked(): IterableIterator<{ key: string; activeSeries: Attributes }> {
    for (const [key, t] of this.connections) yield { key, activeSeries: t.activeSeries };
  }

  /** Seeds the active gauge with the connections that existed at start. */
  private bootstrap(sockets: readonly ExistingSocket[]): void {
    for (const s of sockets) {
      if (s.state === 'LISTEN') this.attributor.ports.addListener(s.localPort);
      else if (s.direction) this.track(connectionKey(s.netns, s), this.candidates(s.owner, s.direction, s));
    }
  }

  /**
   * Closes tracked connections the kernel no longer has. The kernel skips a BPF run
   * when the same program is already running on that CPU (counted as missed), so a
   * CLOSE can go unseen; without this, such a connection would stay in the active
   * gauge forever. Returns how many were closed.
   */
  private reconcile(stillOpen: StillOpen): number {
    let closed = 0;
    for (const [key, tracked] of this.connections) {
      if (stillOpen.has(key)) continue;
      this.connections.delete(key);
      this.addShared(this.stores.active, tracked.activeSeries, -1);
      this.addShared(this.stores.closed, tracked.closedSeries, 1);
      closed++;
    }
    return closed;
  }

  private stateChange(r: ConnectionRecord): void {
    this.policy.entryIn(this.stores.transitions, STATE_TRANSITIONS.name, { [ATTR_STATE_FROM]: r.oldState, [ATTR_STATE_TO]: r.newState })
      .value.value += 1;
    if (r.newState === 'LISTEN') {
      this.attributor.ports.addListener(r.localPort);
    } else if (r.newState === 'ESTABLISHED' && (r.oldState === 'SYN_SENT' || r.oldState === 'SYN_RECV')) {
      const direction = r.direction ?? (r.oldState === 'SYN_SENT' ? 'active' : 'passive');
      const candidates = this.candidates(r.owner, direction, r);
      this.track(r.key, candidates);
      this.policy.entryIn(this.stores.opened, CONNECTIONS_OPENED.name, candidates).value.value += 1;
      if (direction === 'active' && r.durationNs > 0) {
        this.policy.entryIn(this.stores.connectDuration, CONNECT_DURATION.name, candidates).value.record(r.durationNs / 1e9);
      }
    } else if (r.newState === 'CLOSE') {
      if (r.oldState === 'SYN_SENT') {
        const candidates = { ...this.candidates(r.owner, 'active', r), [ATTR_ERROR_TYPE]: errorType(r.error) };
        this.policy.entryIn(this.stores.failed, CONNECTIONS_FAILED.name, candidates).value.value += 1;
        return;
      }
      const tracked = this.connections.get(r.key);
      if (!tracked) return; // never established, or older than us and not in /proc
      this.connections.delete(r.key);
      this.attributor.forgetBackend(r);
      this.addShared(this.stores.active, tracked.activeSeries, -1);
      this.addShared(this.stores.closed, tracked.closedSeries, 1);
      if (r.durationNs > 0) this.sharedEntry(this.stores.lifetime, tracked.lifetimeSeries).value.record(r.durationNs / 1e9);
    }
  }

  private retransmit(r: ConnectionRecord): void {
    const candidates = this.candidates(r.owner, r.direction ?? 'active', r);
    this.policy.entryIn(this.stores.retransmits, RETRANSMITS.name, candidates).value.value += 1;
  }

  private candidates(owner: Readonly<SocketOwner> | undefined, direction: Direction, e: Located): Attributes {
    const serverPort = direction === 'active' ? e.remotePort : e.localPort;
    const candidates = this.attributor.connection(owner, e, e.wireFamily, serverPort);
    candidates[ATTR_CONNECTION_DIRECTION] = direction;
    return candidates;
  }

  /** Returns whether the connection is tracked (false when maxConnections are already). */
  private track(key: string, candidates: Attributes): boolean {
    const previous = this.connections.get(key);
    if (previous) this.addShared(this.stores.active, previous.activeSeries, -1);
    else if (this.connections.size >= this.maxConnections) {
      this.refused++;
      return false;
    }
    const active = this.policy.entryIn(this.stores.active, CONNECTIONS_ACTIVE.name, candidates);
    active.value.value += 1;
    const tracked: TrackedConnection = {
      // Counted where the store really put it: if it was folded, the close must come off overflow too.
      activeSeries: active.attributes,
      closedSeries: this.sharedAttributes(CONNECTIONS_CLOSED.name, candidates),
      lifetimeSeries: this.sharedAttributes(CONNECTION_DURATION.name, candidates),
    };
    this.connections.set(key, tracked);
    return true;
  }

  /** The one attribute set of `metric` for these candidates that every connection in that series shares. */
  private sharedAttributes(metric: string, candidates: Attributes): Attributes {
    const key = this.policy.keyOf(metric, candidates);
    const known = this.attributeSets.get(key);
    if (known) return known;
    const attributes = this.attributeSets.intern(key, this.policy.select(metric, candidates));
    this.sharedKeys.set(attributes, key);
    return attributes;
  }

  /** The series of a shared attribute set (one a connection keeps), found by its key, computed once. */
  private sharedEntry<V>(store: SeriesStore<V>, attributes: Attributes): SeriesEntry<V> {
    let key = this.sharedKeys.get(attributes);
    if (key === undefined) {
      key = seriesKey(attributes);
      this.sharedKeys.set(attributes, key);
    }
    return store.touch(key) ?? store.upsertEntry(attributes, key);
  }

  private addShared(store: CountStore, attributes: Attributes, delta: number): void {
    this.sharedEntry(store, attributes).value.value += delta;
  }
}
