/**
 * Folds TCP state changes and retransmits into connection counters, the active
 * connection gauge and the connect-latency and lifetime histograms. Owners come from
 * the kernel (learned in process context), else from what this tracker saw, else from
 * the /proc bootstrap of connections older than sockscope. An owner or direction found
 * here is written back onto the event, so the event stream carries it as well.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ConnectionEvent, IpFamily, SocketOwner } from '../collector/types';
import type { ProcSocket } from '../collector/proc-sockets';
import type { AttributePolicy } from './attribute-policy';
import type { Attributor, Endpoints } from './attributor';
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
import { seriesKey, type CountStore } from './series-store';

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

type Direction = 'active' | 'passive';

/**
 * Only the selected series are kept per connection: candidates would cost ~1 KB each.
 * Owners are shared objects already (one per process or thread, see the decoders); the
 * series attributes are interned here.
 */
interface TrackedConnection {
  owner?: SocketOwner;
  direction: Direction;
  /** The active-gauge series it is counted in (maybe the overflow series), to take it out again. */
  activeSeries: Attributes;
  closedSeries: Attributes;
  lifetimeSeries: Attributes;
}

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
  private readonly connections = new Map<string, TrackedConnection>();
  /** Owners of sockets that predate us, by 4-tuple. */
  private readonly bootstrapOwners = new Map<string, SocketOwner>();
  /**
   * Owners of listening sockets that predate us, by port: the kernel side learns a
   * listener's owner only from listen(), so connections accepted by a server started
   * before sockscope arrive without an owner.
   */
  private readonly listenerOwners = new Map<number, SocketOwner>();
  /** Thousands of connections share a handful of attribute sets. */
  private readonly attributeSets = new Interner<Attributes>();

  constructor(
    readonly stores: ConnectionStores,
    private readonly policy: AttributePolicy,
    private readonly attributor: Attributor,
    private readonly maxConnections = 262_144,
  ) {}

  /** Seeds the active gauge and owners with the connections that existed at start. */
  bootstrap(sockets: ReadonlyArray<ProcSocket & { owner?: SocketOwner }>): void {
    for (const s of sockets) {
      if (s.state !== 'LISTEN') continue;
      this.attributor.ports.addListener(s.localPort);
      if (s.owner) this.listenerOwners.set(s.localPort, s.owner);
    }
    for (const s of sockets) {
      const key = tupleKey(s);
      const owner = s.owner;
      if (ESTABLISHED_LIKE.has(s.state) && !this.connections.has(key)) {
        const direction: Direction = this.attributor.ports.isListening(s.localPort) ? 'passive' : 'active';
        // A tracked connection carries its owner: only the others need it remembered here.
        if (this.track(key, owner, direction, this.candidates(owner, direction, s))) continue;
      }
      if (owner && this.bootstrapOwners.size < this.maxConnections) this.bootstrapOwners.set(key, owner);
    }
  }

  apply(events: readonly ConnectionEvent[]): void {
    for (const e of events) {
      if (e.kind === 'retransmit') this.retransmit(e);
      else this.stateChange(e);
    }
  }

  get trackedConnections(): number {
    return this.connections.size;
  }

  /** The tracked connections by tuple key (see tupleKey), for diagnostics. */
  *tracked(): IterableIterator<{ key: string; owner?: SocketOwner; direction: Direction }> {
    for (const [key, t] of this.connections) yield { key, owner: t.owner, direction: t.direction };
  }

  /**
   * Closes tracked connections the kernel no longer has. The kernel skips a BPF run
   * when the same program is already running on that CPU (counted as missed), so a
   * CLOSE can go unseen; without this, such a connection would stay in the active
   * gauge forever. Returns how many were closed.
   */
  reconcile(present: ReadonlyArray<Endpoints & { state: string }>): number {
    const alive = new Set(present.filter((s) => ESTABLISHED_LIKE.has(s.state)).map(tupleKey));
    let closed = 0;
    for (const [key, tracked] of this.connections) {
      if (alive.has(key)) continue;
      this.connections.delete(key);
      this.bootstrapOwners.delete(key);
      this.stores.active.add(tracked.activeSeries, -1);
      this.stores.closed.add(tracked.closedSeries, 1);
      closed++;
    }
    return closed;
  }

  private stateChange(e: ConnectionEvent): void {
    this.stores.transitions.add(
      this.policy.select(STATE_TRANSITIONS.name, { [ATTR_STATE_FROM]: e.oldState, [ATTR_STATE_TO]: e.newState }),
      1,
    );
    const key = tupleKey(e);

    if (e.newState === 'LISTEN') {
      this.attributor.ports.addListener(e.localPort);
      if (e.owner) this.listenerOwners.set(e.localPort, e.owner);
    } else if (e.newState === 'ESTABLISHED' && (e.oldState === 'SYN_SENT' || e.oldState === 'SYN_RECV')) {
      const direction: Direction = (e.direction ??= e.oldState === 'SYN_SENT' ? 'active' : 'passive');
      const owner = (e.owner ??= this.bootstrapOwners.get(key) ?? (direction === 'passive' ? this.listenerOwners.get(e.localPort) : undefined));
      const candidates = this.candidates(owner, direction, e);
      this.track(key, owner, direction, candidates);
      this.stores.opened.add(this.policy.select(CONNECTIONS_OPENED.name, candidates), 1);
      if (direction === 'active' && e.durationNs > 0) {
        this.stores.connectDuration.record(this.policy.select(CONNECT_DURATION.name, candidates), e.durationNs / 1e9);
      }
    } else if (e.newState === 'CLOSE') {
      if (e.oldState === 'SYN_SENT') {
        const owner = (e.owner ??= this.bootstrapOwners.get(key));
        const candidates = { ...this.candidates(owner, 'active', e), [ATTR_ERROR_TYPE]: errorType(e.error) };
        this.stores.failed.add(this.policy.select(CONNECTIONS_FAILED.name, candidates), 1);
        return;
      }
      const tracked = this.connections.get(key);
      if (!tracked) return; // never established, or older than us and not in /proc
      e.owner ??= tracked.owner;
      e.direction ??= tracked.direction;
      this.connections.delete(key);
      this.bootstrapOwners.delete(key);
      this.stores.active.add(tracked.activeSeries, -1);
      this.stores.closed.add(tracked.closedSeries, 1);
      if (e.durationNs > 0) this.stores.lifetime.record(tracked.lifetimeSeries, e.durationNs / 1e9);
    }
  }

  private retransmit(e: ConnectionEvent): void {
    const key = tupleKey(e);
    const tracked = this.connections.get(key);
    const owner = (e.owner ??= tracked?.owner ?? this.bootstrapOwners.get(key));
    const direction = (e.direction ??=
      tracked?.direction ?? (this.attributor.ports.isListening(e.localPort) ? 'passive' : 'active'));
    this.stores.retransmits.add(this.policy.select(RETRANSMITS.name, this.candidates(owner, direction, e)), 1);
  }

  private candidates(owner: SocketOwner | undefined, direction: Direction, e: Endpoints): Attributes {
    const serverPort = direction === 'active' ? e.remotePort : e.localPort;
    const candidates = this.attributor.connection(owner, e, wireFamily(e.family, e.remoteAddress), serverPort);
    candidates[ATTR_CONNECTION_DIRECTION] = direction;
    return candidates;
  }

  /** Returns whether the connection is tracked (false when maxConnections are already). */
  private track(key: string, owner: SocketOwner | undefined, direction: Direction, candidates: Attributes): boolean {
    const previous = this.connections.get(key);
    if (previous) this.stores.active.add(previous.activeSeries, -1);
    else if (this.connections.size >= this.maxConnections) {
      this.refused++;
      return false;
    }
    const tracked: TrackedConnection = {
      owner,
      direction,
      // Counted where the store really put it: if it was folded, the close must come off overflow too.
      activeSeries: this.stores.active.add(this.policy.select(CONNECTIONS_ACTIVE.name, candidates), 1),
      closedSeries: this.sharedAttributes(this.policy.select(CONNECTIONS_CLOSED.name, candidates)),
      lifetimeSeries: this.sharedAttributes(this.policy.select(CONNECTION_DURATION.name, candidates)),
    };
    this.connections.set(key, tracked);
    return true;
  }

  private sharedAttributes(attributes: Attributes): Attributes {
    return this.attributeSets.intern(seriesKey(attributes), attributes);
  }
}

const ESTABLISHED_LIKE = new Set(['ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING']);

/** join() makes one flat string: a template literal would keep a tree of ~8 pieces per connection. */
export function tupleKey(e: Endpoints): string {
  return [e.family, e.localAddress, e.localPort, e.remoteAddress, e.remotePort].join('|');
}

/** An IPv6 socket talking to a v4-mapped peer puts IPv4 on the wire. */
function wireFamily(family: IpFamily, remoteAddress: string): IpFamily {
  return family === 'ipv6' && remoteAddress.startsWith('::ffff:') ? 'ipv4' : family;
}
