/**
 * Resolves, once, who owns each TCP connection event and which way it was opened. The
 * owner comes from the kernel (learned in process context), else from the connection's
 * open, else from the /proc bootstrap of connections older than sockscope, else, for a
 * passive open, from the listener. The records it returns are read-only: the connection
 * metrics and the event stream both read them, neither writes back.
 *
 * Connections are keyed by network namespace and tuple: two pods can hold the same
 * loopback tuple at the same time.
 */
import { withOwner, type ProcSocket } from './proc-sockets';
import type {
  ConnectionEvent,
  ConnectionRecord,
  Direction,
  ExistingSocket,
  SocketOwner,
  StillOpen,
  TcpState,
  TcpTuple,
} from './types';

/** States in which a connection is open (counted in the active gauge). */
export const ESTABLISHED_LIKE: ReadonlySet<TcpState> = new Set([
  'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING',
]);

/**
 * One connection's key: its network namespace and tuple. join() makes one flat string:
 * a template literal would keep a tree of ~8 pieces per connection.
 */
export function connectionKey(netns: number, t: TcpTuple): string {
  return [netns, t.family, t.localAddress, t.localPort, t.remoteAddress, t.remotePort].join('|');
}

/** The network namespace inode a connectionKey starts with. */
export function netnsOfKey(key: string): number {
  return Number(key.slice(0, key.indexOf('|')));
}

/** A listening port's key: namespace inode (32 bits) and port (16 bits) fit a double exactly. */
function listenerKey(netns: number, port: number): number {
  return netns * 0x1_0000 + port;
}

interface OpenConnection {
  owner?: SocketOwner;
  direction: Direction;
}

/**
 * Open connections' owners, one map per direction: no object per connection (the
 * tracker keeps one already; at 262k connections an object each would be ~8 MB more).
 */
class OpenConnections {
  private readonly active = new Map<string, SocketOwner | null>();
  private readonly passive = new Map<string, SocketOwner | null>();

  get size(): number {
    return this.active.size + this.passive.size;
  }

  has(key: string): boolean {
    return this.active.has(key) || this.passive.has(key);
  }

  get(key: string): OpenConnection | undefined {
    for (const direction of ['active', 'passive'] as const) {
      const owner = this[direction].get(key);
      if (owner !== undefined) return { owner: owner ?? undefined, direction };
    }
    return undefined;
  }

  set(key: string, owner: SocketOwner | undefined, direction: Direction): void {
    this[direction === 'active' ? 'passive' : 'active'].delete(key);
    this[direction].set(key, owner ?? null);
  }

  delete(key: string): void {
    this.active.delete(key);
    this.passive.delete(key);
  }

  *keys(): IterableIterator<string> {
    yield* this.active.keys();
    yield* this.passive.keys();
  }
}

export class ConnectionEnricher {
  /**
   * Connections not remembered because maxConnections were already. The connection
   * tracker has the same bound over the same keys and exports its own count.
   */
  refused = 0;
  private readonly open = new OpenConnections();
  /** Owners of sockets that predate us and are not open connections (e.g. SYN_SENT). */
  private readonly bootstrapOwners = new Map<string, SocketOwner>();
  private readonly listening = new Set<number>();
  /**
   * Owners of listening sockets: the kernel side learns a listener's owner only from
   * listen(), so connections accepted by a server started before sockscope arrive without one.
   */
  private readonly listenerOwners = new Map<number, SocketOwner>();

  constructor(private readonly maxConnections = 262_144) {}

  /** Open connections remembered now. */
  get openConnections(): number {
    return this.open.size;
  }

  /** Takes in the sockets that existed at start; returns the listeners and open connections, resolved. */
  bootstrap(sockets: ReadonlyArray<ProcSocket & { owner?: SocketOwner }>): ExistingSocket[] {
    const existing: ExistingSocket[] = [];
    for (const s of sockets) {
      if (s.state !== 'LISTEN') continue;
      this.addListener(s.netns, s.localPort, s.owner);
      existing.push(withOwner(s, s.owner, undefined));
    }
    for (const s of sockets) {
      const key = connectionKey(s.netns, s);
      if (ESTABLISHED_LIKE.has(s.state) && !this.open.has(key)) {
        const direction: Direction = this.listening.has(listenerKey(s.netns, s.localPort)) ? 'passive' : 'active';
        const owner = s.owner ?? (direction === 'passive' ? this.listenerOwners.get(listenerKey(s.netns, s.localPort)) : undefined);
        existing.push(withOwner(s, owner, direction));
        // An open connection carries its owner: only the others need it remembered apart.
        if (this.remember(key, owner, direction)) continue;
      }
      if (s.owner && this.bootstrapOwners.size < this.maxConnections) this.bootstrapOwners.set(key, s.owner);
    }
    return existing;
  }

  enrich(events: readonly ConnectionEvent[]): ConnectionRecord[] {
    return events.map((e) => (e.kind === 'retransmit' ? this.retransmit(e) : this.stateChange(e)));
  }

  /** Whether the connection is remembered open. */
  isOpen(key: string): boolean {
    return this.open.has(key);
  }

  /**
   * Remembers open connections the kernel listed but no event opened (their open was lost),
   * resolved as at start: passive on a known listener's port (with its owner), else active,
   * owner unknown (no fd walk). Returns those remembered.
   */
  adopt(sockets: readonly ProcSocket[]): ExistingSocket[] {
    const adopted: ExistingSocket[] = [];
    for (const s of sockets) {
      const lkey = listenerKey(s.netns, s.localPort);
      const direction: Direction = this.listening.has(lkey) ? 'passive' : 'active';
      const owner = direction === 'passive' ? this.listenerOwners.get(lkey) : undefined;
      if (this.remember(connectionKey(s.netns, s), owner, direction)) adopted.push(withOwner(s, owner, direction));
    }
    return adopted;
  }

  /** Forgets open connections the kernel no longer has (their CLOSE was lost). */
  retainOnly(stillOpen: StillOpen): void {
    for (const key of this.open.keys()) {
      if (stillOpen.has(key)) continue;
      this.open.delete(key);
      this.bootstrapOwners.delete(key);
    }
  }

  private stateChange(e: ConnectionEvent): ConnectionRecord {
    const key = connectionKey(e.netns, e);
    if (e.newState === 'LISTEN') {
      this.addListener(e.netns, e.localPort, e.owner);
      return record(e, key, e.owner, e.direction);
    }
    if (e.newState === 'ESTABLISHED' && (e.oldState === 'SYN_SENT' || e.oldState === 'SYN_RECV')) {
      const direction = e.direction ?? (e.oldState === 'SYN_SENT' ? 'active' : 'passive');
      const owner =
        e.owner ??
        this.bootstrapOwners.get(key) ??
        (direction === 'passive' ? this.listenerOwners.get(listenerKey(e.netns, e.localPort)) : undefined);
      this.remember(key, owner, direction);
      return record(e, key, owner, direction);
    }
    if (e.oldState === 'LISTEN' && e.newState === 'CLOSE') {
      // The listener itself closing. Forgetting it keeps the maps to live listeners across pod
      // churn; with SO_REUSEPORT siblings the kernel's own owner still covers their accepts.
      const lkey = listenerKey(e.netns, e.localPort);
      const owner = e.owner ?? this.listenerOwners.get(lkey);
      this.listening.delete(lkey);
      this.listenerOwners.delete(lkey);
      return record(e, key, owner, e.direction);
    }
    if (e.newState === 'CLOSE' && e.oldState === 'SYN_SENT') {
      return record(e, key, e.owner ?? this.bootstrapOwners.get(key), e.direction ?? 'active');
    }
    const known = this.open.get(key);
    // LISTEN->SYN_RECV: the kernel cloned an accepted socket from the listener (in softirq, no owner).
    const direction = e.direction ?? known?.direction ?? (e.oldState === 'LISTEN' && e.newState === 'SYN_RECV' ? 'passive' : undefined);
    const owner =
      e.owner ??
      known?.owner ??
      this.bootstrapOwners.get(key) ??
      (direction === 'passive' ? this.listenerOwners.get(listenerKey(e.netns, e.localPort)) : undefined);
    const resolved = record(e, key, owner, direction);
    if (e.newState === 'CLOSE') {
      this.open.delete(key);
      this.bootstrapOwners.delete(key);
    }
    return resolved;
  }

  private retransmit(e: ConnectionEvent): ConnectionRecord {
    const key = connectionKey(e.netns, e);
    const known = this.open.get(key);
    const direction =
      e.direction ?? known?.direction ?? (this.listening.has(listenerKey(e.netns, e.localPort)) ? 'passive' : 'active');
    return record(e, key, e.owner ?? known?.owner ?? this.bootstrapOwners.get(key), direction);
  }

  private addListener(netns: number, port: number, owner: SocketOwner | undefined): void {
    const key = listenerKey(netns, port);
    this.listening.add(key);
    if (owner) this.listenerOwners.set(key, owner);
  }

  /** Returns whether the connection is remembered (false when maxConnections are already). */
  private remember(key: string, owner: SocketOwner | undefined, direction: Direction): boolean {
    if (!this.open.has(key) && this.open.size >= this.maxConnections) {
      this.refused++;
      return false;
    }
    this.open.set(key, owner, direction);
    return true;
  }
}

/** A new object: the decoder's event is not the enricher's to change. */
function record(
  e: ConnectionEvent,
  key: string,
  owner: SocketOwner | undefined,
  direction: Direction | undefined,
): ConnectionRecord {
  return Object.freeze({
    key,
    kind: e.kind,
    timestampNs: e.timestampNs,
    oldState: e.oldState,
    newState: e.newState,
    family: e.family,
    localAddress: e.localAddress,
    localPort: e.localPort,
    remoteAddress: e.remoteAddress,
    remotePort: e.remotePort,
    owner,
    direction,
    durationNs: e.durationNs,
    error: e.error,
    srttMicros: e.srttMicros,
    netns: e.netns,
    wireFamily: e.wireFamily,
  });
}
