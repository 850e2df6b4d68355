/**
 * The actual backend behind a connection to a cluster peer: the source of the reply direction of
 * its conntrack entry, which a Service DNAT rewrote to the backend pod. Lookups run on the addon's
 * conntrack thread, in the namespace where the NAT happened; answers (failures too) are cached per
 * connection so that each connection costs one lookup, and the cache is bounded.
 */
import net from 'node:net';
import type { NativeConntrackAnswer, NativeConntrackLookup, NativeConntrackTuple } from './native-addon';
import type { Transport } from './types';

/** A connection as its client sees it, addresses IPv4-unmapped: conntrack's original tuple. */
export interface PeerTuple {
  transport: Transport;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export type ConntrackOutcome = NativeConntrackAnswer['outcome'];

export function peerTupleKey(t: PeerTuple): string {
  return `${t.transport} ${t.localAddress} ${t.localPort} ${t.remoteAddress} ${t.remotePort}`;
}

export const DEFAULT_CONNTRACK_CACHE_SIZE = 65_536;

export class ConntrackBackends {
  /** Lookups by outcome. */
  readonly outcomes = new Map<ConntrackOutcome, number>();
  /** Answers of connections still open dropped because the cache was full. */
  evicted = 0;
  /** Connection key -> backend address, '' when the lookup failed (not asked again). */
  private readonly cache = new Map<string, string>();
  private reported = false;

  constructor(
    private readonly native: NativeConntrackLookup,
    private readonly maxEntries = DEFAULT_CONNTRACK_CACHE_SIZE,
    /** Told once why conntrack cannot be used (module, permission, namespace). */
    private readonly onUnavailable: (reason: string) => void = () => {},
  ) {}

  /** Looks up the tuples not cached yet, in one batch off the JavaScript thread. */
  async resolve(tuples: readonly PeerTuple[]): Promise<void> {
    const keys: string[] = [];
    const asked: NativeConntrackTuple[] = [];
    const seen = new Set<string>();
    for (const t of tuples) {
      const key = peerTupleKey(t);
      if (this.cache.has(key) || seen.has(key)) continue;
      seen.add(key);
      keys.push(key);
      asked.push({
        family: net.isIPv4(t.remoteAddress) ? 4 : 6,
        protocol: t.transport,
        source: t.localAddress,
        sourcePort: t.localPort,
        destination: t.remoteAddress,
        destinationPort: t.remotePort,
      });
    }
    if (asked.length === 0) return;
    const answers = await this.native.lookup(asked);
    for (const [i, a] of answers.entries()) {
      this.outcomes.set(a.outcome, (this.outcomes.get(a.outcome) ?? 0) + 1);
      this.remember(keys[i]!, a.outcome === 'backend' || a.outcome === 'no_nat' ? a.backend : '');
    }
    if (!this.reported) {
      const reason = this.native.unavailableReason();
      if (reason) {
        this.reported = true;
        this.onUnavailable(reason);
      }
    }
  }

  /** The backend of a resolved connection; undefined when unknown or the lookup failed. */
  backendOf(t: PeerTuple): string | undefined {
    return this.cache.get(peerTupleKey(t)) || undefined;
  }

  /** A closed connection's answer is not needed any more. */
  forget(t: PeerTuple): void {
    this.cache.delete(peerTupleKey(t));
  }

  get cached(): number {
    return this.cache.size;
  }

  close(): void {
    this.native.close();
  }

  private remember(key: string, backend: string): void {
    if (this.cache.size >= this.maxEntries) {
      // Map iterates in insertion order: the first key is the oldest answer.
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
      this.evicted++;
    }
    this.cache.set(key, backend);
  }
}
