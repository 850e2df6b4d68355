/**
 * Connection events are enriched once, in the collector layer, and keyed by network
 * namespace and tuple: two pods holding the same loopback tuple are two connections.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttachPlan } from '../../src/collector/attach-plan';
import { ConnectionEnricher } from '../../src/collector/connection-enricher';
import { EnrichedConnections } from '../../src/collector/enriched-connections';
import type { ProcSocket } from '../../src/collector/proc-sockets';
import type { ConnectionEvent, FlowDelta, SocketOwner } from '../../src/collector/types';
import { ServerPorts } from '../../src/metrics/server-ports';
import { SockscopeProducer } from '../../src/metrics/sockscope-producer';
import { NO_COLLECTOR_STATS } from '../helpers/collector-stats';

const NS_A = 4026532001;
const NS_B = 4026532002;
const owner = (tgid: number, comm: string): SocketOwner => ({ tgid, pid: tgid, comm, threadName: comm, cgroupId: 0n });
const CLIENT_A = owner(10, 'client-a');
const CLIENT_B = owner(20, 'client-b');
const SERVER_A = owner(11, 'server-a');
const SERVER_B = owner(21, 'server-b');

/** The client side of 127.0.0.1:40000 -> 127.0.0.1:8080, in namespace `netns`. */
const clientEvent = (netns: number, over: Partial<ConnectionEvent>): ConnectionEvent => ({
  kind: 'state', timestampNs: 1n, oldState: 'SYN_SENT', newState: 'ESTABLISHED', family: 'ipv4',
  localAddress: '127.0.0.1', localPort: 40000, remoteAddress: '127.0.0.1', remotePort: 8080,
  durationNs: 0, error: 0, srttMicros: 0, netns, wireFamily: 'ipv4', ...over,
});
/** The server side of the same connection. */
const serverEvent = (netns: number, over: Partial<ConnectionEvent>): ConnectionEvent =>
  clientEvent(netns, { localPort: 8080, remotePort: 40000, oldState: 'SYN_RECV', ...over });
const listen = (netns: number, by: SocketOwner): ConnectionEvent =>
  clientEvent(netns, { oldState: 'CLOSE', newState: 'LISTEN', localPort: 8080, remoteAddress: '0.0.0.0', remotePort: 0, owner: by });

describe('ConnectionEnricher', () => {
  test('the same tuple open in two namespaces keeps two owners until each closes', () => {
    const enricher = new ConnectionEnricher();
    enricher.enrich([
      clientEvent(NS_A, { owner: CLIENT_A, direction: 'active' }),
      clientEvent(NS_B, { owner: CLIENT_B, direction: 'active' }),
    ]);
    // Closes the kernel could not attribute (e.g. its socket-owner entry was evicted).
    const closes = enricher.enrich([
      clientEvent(NS_A, { oldState: 'LAST_ACK', newState: 'CLOSE' }),
      clientEvent(NS_B, { oldState: 'LAST_ACK', newState: 'CLOSE' }),
    ]);
    assert.deepEqual(closes.map((r) => [r.netns, r.owner?.comm, r.direction]), [
      [NS_A, 'client-a', 'active'],
      [NS_B, 'client-b', 'active'],
    ]);
  });

  test("a passive open without a kernel owner takes its own namespace's listener owner", () => {
    const enricher = new ConnectionEnricher();
    const [, , accepted] = enricher.enrich([listen(NS_A, SERVER_A), listen(NS_B, SERVER_B), serverEvent(NS_B, {})]);
    assert.equal(accepted?.owner?.comm, 'server-b');
    assert.equal(accepted?.direction, 'passive');
  });

  test('the kernel owner wins; the event the decoder made is not changed; records are read-only', () => {
    const enricher = new ConnectionEnricher();
    const opened = clientEvent(NS_A, { owner: CLIENT_A });
    enricher.enrich([opened]);
    const retransmit = clientEvent(NS_A, { kind: 'retransmit', oldState: 'ESTABLISHED', newState: 'ESTABLISHED' });
    const [record] = enricher.enrich([retransmit]);
    assert.equal(record?.owner, CLIENT_A);
    assert.equal(record?.direction, 'active');
    assert.equal(retransmit.owner, undefined);
    assert.equal(retransmit.direction, undefined);
    assert.equal(opened.direction, undefined, 'the resolved direction is on the record only');
    assert.ok(Object.isFrozen(record));
    const [kernelSaid] = enricher.enrich([{ ...retransmit, owner: CLIENT_B }]);
    assert.equal(kernelSaid?.owner, CLIENT_B);
  });

  test('owners from /proc are per namespace, and so is the direction of a connection older than us', () => {
    const enricher = new ConnectionEnricher();
    const sock = (netns: number, over: Partial<ProcSocket & { owner?: SocketOwner }>) => ({
      family: 'ipv4' as const, localAddress: '127.0.0.1', localPort: 40000, remoteAddress: '127.0.0.1', remotePort: 8080,
      wireFamily: 'ipv4' as const, state: 'ESTABLISHED' as const, inode: 1, netns, ...over,
    });
    const existing = enricher.bootstrap([
      sock(NS_A, { owner: CLIENT_A }),
      sock(NS_B, { owner: CLIENT_B }),
      // Only namespace B has a listener on 40000: there the connection was accepted.
      sock(NS_B, { localPort: 40000, remoteAddress: '0.0.0.0', remotePort: 0, state: 'LISTEN', owner: SERVER_B }),
    ]);
    assert.deepEqual(
      existing.filter((s) => s.state === 'ESTABLISHED').map((s) => [s.netns, s.owner?.comm, s.direction]),
      [[NS_A, 'client-a', 'active'], [NS_B, 'client-b', 'passive']],
    );
    const closes = enricher.enrich([
      clientEvent(NS_B, { oldState: 'FIN_WAIT2', newState: 'CLOSE' }),
      clientEvent(NS_A, { oldState: 'FIN_WAIT2', newState: 'CLOSE' }),
    ]);
    assert.deepEqual(closes.map((r) => r.owner?.comm), ['client-b', 'client-a']);
  });
});

test('opened, closed and active are exact per process when two namespaces hold the same tuple at once', async () => {
  let pending: ConnectionEvent[] = [
    listen(NS_A, SERVER_A),
    listen(NS_B, SERVER_B),
    clientEvent(NS_A, { owner: CLIENT_A, direction: 'active' }),
    serverEvent(NS_A, { owner: SERVER_A, direction: 'passive' }),
    clientEvent(NS_B, { owner: CLIENT_B, direction: 'active' }),
    serverEvent(NS_B, { owner: SERVER_B, direction: 'passive' }),
  ];
  const collector = {
    drainInto: async (_visit: (f: FlowDelta) => void) => undefined,
    drainConnectionEvents: async () => [pending, (pending = [])][0]!,
    stats: () => NO_COLLECTOR_STATS,
  };
  const producer = new SockscopeProducer(collector, new EnrichedConnections(collector), {
    buildInfo: { version: 'test', nodeVersion: '20' },
    plan: { hooks: [] } as unknown as AttachPlan,
    limits: { maxSeries: 100, ttlMs: 60_000 },
    serverPorts: new ServerPorts({ low: 32768, high: 60999 }),
  });
  const c = producer.connections.stores;
  const byProcess = (store: typeof c.opened) => {
    const out: Record<string, number> = {};
    for (const e of store.entries()) {
      const name = String(e.attributes['process.executable.name']);
      out[name] = (out[name] ?? 0) + e.value.value;
    }
    return out;
  };
  const everyone = (n: number) => ({ 'client-a': n, 'client-b': n, 'server-a': n, 'server-b': n });

  await producer.ingest();
  assert.deepEqual(byProcess(c.opened), everyone(1));
  assert.deepEqual(byProcess(c.active), everyone(1), 'both namespaces hold their connection');
  assert.equal(producer.connections.trackedConnections, 4);

  pending = [
    clientEvent(NS_A, { oldState: 'FIN_WAIT2', newState: 'CLOSE', owner: CLIENT_A }),
    serverEvent(NS_A, { oldState: 'LAST_ACK', newState: 'CLOSE', owner: SERVER_A }),
    clientEvent(NS_B, { oldState: 'FIN_WAIT2', newState: 'CLOSE', owner: CLIENT_B }),
    serverEvent(NS_B, { oldState: 'LAST_ACK', newState: 'CLOSE', owner: SERVER_B }),
  ];
  await producer.ingest();
  assert.deepEqual(byProcess(c.closed), everyone(1));
  assert.deepEqual(byProcess(c.active), everyone(0));
});
