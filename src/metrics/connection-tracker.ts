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
import { CumulativeSeries } from './cumulative-series';
import {
  ATTR_CONNECTION_DIRECTION,
  ATTR_ERROR_TYPE,
  ATTR_EXECUTABLE,
  ATTR_NETWORK_TYPE,
  ATTR_SERVER_PORT,
  ATTR_STATE_FROM,
  ATTR_STATE_TO,
} from './definitions';

export interface DurationSink {
  connectSeconds(seconds: number, attributes: Attributes): void;
  lifetimeSeconds(seconds: number, attributes: Attributes): void;
}

type Direction = 'active' | 'passive';

interface TrackedConnection {
  owner?: SocketOwner;
  direction: Direction;
  /** With the direction: the attributes of its opened/active/closed series. */
  attributes: Attributes;
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
  readonly opened = new CumulativeSeries();
  readonly closed = new CumulativeSeries();
  readonly failed = new CumulativeSeries();
  readonly transitions = new CumulativeSeries();
  readonly retransmits = new CumulativeSeries();
  /** Established, not yet closed, per series. */
  readonly active = new CumulativeSeries();

  private readonly connections = new Map<string, TrackedConnection>();
  /** Owners of sockets that predate us, by 4-tuple. */
  private readonly bootstrapOwners = new Map<string, SocketOwner>();
  private readonly listeningPorts = new Set<number>();

  constructor(private readonly durations: DurationSink) {}

  /** Seeds the active gauge and owners with the connections that existed at start. */
  bootstrap(sockets: ReadonlyArray<ProcSocket & { owner?: SocketOwner }>): void {
    for (const s of sockets) if (s.state === 'LISTEN') this.listeningPorts.add(s.localPort);
    for (const s of sockets) {
      const key = tupleKey(s.family, s.localAddress, s.localPort, s.remoteAddress, s.remotePort);
      if (s.owner) this.bootstrapOwners.set(key, s.owner);
      if (s.state === 'LISTEN' || s.state === 'TIME_WAIT' || s.state === 'CLOSE' || s.state.startsWith('SYN_')) continue;
      if (s.state === 'NEW_SYN_RECV' || this.connections.has(key)) continue;
      const direction: Direction = this.listeningPorts.has(s.localPort) ? 'passive' : 'active';
      this.track(key, s.owner, direction, wireFamily(s.family, s.remoteAddress), s.localPort, s.remotePort);
    }
  }

  apply(events: readonly ConnectionEvent[]): void {
    for (const e of events) {
      if (e.kind === 'retransmit') this.retransmit(e);
      else this.stateChange(e);
    }
  }

  /** Connections currently tracked as established (for tests and self-metrics). */
  get trackedConnections(): number {
    return this.connections.size;
  }

  private stateChange(e: ConnectionEvent): void {
    this.transitions.add({ [ATTR_STATE_FROM]: e.oldState, [ATTR_STATE_TO]: e.newState }, 1);
    const key = eventKey(e);
    const family = wireFamily(e.family, e.remoteAddress);

    if (e.newState === 'LISTEN') {
      this.listeningPorts.add(e.localPort);
    } else if (e.newState === 'ESTABLISHED' && (e.oldState === 'SYN_SENT' || e.oldState === 'SYN_RECV')) {
      const direction: Direction = e.direction ?? (e.oldState === 'SYN_SENT' ? 'active' : 'passive');
      const owner = (e.owner ??= this.bootstrapOwners.get(key));
      const tracked = this.track(key, owner, direction, family, e.localPort, e.remotePort);
      this.opened.add(tracked.attributes, 1);
      if (direction === 'active' && e.durationNs > 0) {
        this.durations.connectSeconds(e.durationNs / 1e9, baseAttributes(owner, family, e.remotePort));
      }
    } else if (e.newState === 'CLOSE') {
      if (e.oldState === 'SYN_SENT') {
        const owner = (e.owner ??= this.bootstrapOwners.get(key));
        this.failed.add({ ...baseAttributes(owner, family, e.remotePort), [ATTR_ERROR_TYPE]: errorType(e.error) }, 1);
        return;
      }
      const tracked = this.connections.get(key);
      if (!tracked) return; // never established, or from before we started and not in /proc
      e.owner ??= tracked.owner;
      e.direction ??= tracked.direction;
      this.connections.delete(key);
      this.bootstrapOwners.delete(key);
      this.active.add(tracked.attributes, -1);
      this.closed.add(tracked.attributes, 1);
      if (e.durationNs > 0) this.durations.lifetimeSeconds(e.durationNs / 1e9, tracked.attributes);
    }
  }

  private retransmit(e: ConnectionEvent): void {
    const key = eventKey(e);
    const tracked = this.connections.get(key);
    const owner = (e.owner ??= tracked?.owner ?? this.bootstrapOwners.get(key));
    const direction = (e.direction ??=
      tracked?.direction ?? (this.listeningPorts.has(e.localPort) ? 'passive' : 'active'));
    const port = direction === 'active' ? e.remotePort : e.localPort;
    this.retransmits.add(baseAttributes(owner, wireFamily(e.family, e.remoteAddress), port), 1);
  }

  private track(
    key: string,
    owner: SocketOwner | undefined,
    direction: Direction,
    family: IpFamily,
    localPort: number,
    remotePort: number,
  ): TrackedConnection {
    const previous = this.connections.get(key);
    if (previous) this.active.add(previous.attributes, -1);
    const port = direction === 'active' ? remotePort : localPort;
    const tracked = {
      owner,
      direction,
      attributes: { ...baseAttributes(owner, family, port), [ATTR_CONNECTION_DIRECTION]: direction },
    };
    this.connections.set(key, tracked);
    this.active.add(tracked.attributes, 1);
    return tracked;
  }
}

function baseAttributes(owner: SocketOwner | undefined, family: IpFamily, serverPort: number): Attributes {
  const attributes: Attributes = {};
  if (owner) attributes[ATTR_EXECUTABLE] = owner.comm;
  attributes[ATTR_NETWORK_TYPE] = family;
  attributes[ATTR_SERVER_PORT] = serverPort;
  return attributes;
}

function eventKey(e: ConnectionEvent): string {
  return tupleKey(e.family, e.localAddress, e.localPort, e.remoteAddress, e.remotePort);
}

export function tupleKey(family: IpFamily, la: string, lp: number, ra: string, rp: number): string {
  return `${family}|${la}|${lp}|${ra}|${rp}`;
}

/** An IPv6 socket talking to a v4-mapped peer puts IPv4 on the wire. */
function wireFamily(family: IpFamily, remoteAddress: string): IpFamily {
  return family === 'ipv6' && remoteAddress.startsWith('::ffff:') ? 'ipv4' : family;
}
