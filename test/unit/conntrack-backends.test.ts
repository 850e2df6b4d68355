/**
 * The conntrack answers' cache (ConntrackBackends) and which connections ask it (Attributor.peerTuple),
 * over a scripted native lookup: each connection is asked once, failures too, the cache is
 * bounded with its evictions counted, and only a cluster peer that is the server side is asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConntrackBackends, type PeerTuple } from '../../src/collector/conntrack-backends';
import type { NativeConntrackAnswer, NativeConntrackLookup, NativeConntrackTuple } from '../../src/collector/native-addon';
import { Attributor } from '../../src/metrics/attributor';
import { ClusterNetworks } from '../../src/metrics/cluster-networks';
import { PeerGroups } from '../../src/metrics/peer-groups';
import { ServerPorts } from '../../src/metrics/server-ports';

/** Answers by destination port: 80 is DNATed to 10.244.2.2, 81 not NATed, others not found. */
class ScriptedLookup implements NativeConntrackLookup {
  readonly asked: NativeConntrackTuple[] = [];
  constructor(private readonly reason = '') {}
  async lookup(tuples: NativeConntrackTuple[]): Promise<NativeConntrackAnswer[]> {
    this.asked.push(...tuples);
    if (this.reason) return tuples.map(() => ({ outcome: 'unavailable' as const, backend: '' }));
    return tuples.map((t): NativeConntrackAnswer =>
      t.destinationPort === 80 ? { outcome: 'backend', backend: '10.244.2.2' }
        : t.destinationPort === 81 ? { outcome: 'no_nat', backend: t.destination }
          : { outcome: 'not_found', backend: '' });
  }
  unavailableReason(): string {
    return this.reason;
  }
  close(): void {}
}

const tuple = (localPort: number, remotePort = 80): PeerTuple => ({
  transport: 'tcp', localAddress: '10.244.1.2', localPort, remoteAddress: '10.96.0.10', remotePort,
});

test('each connection is asked once, in one batch; failures are cached too and leave the backend empty', async () => {
  const native = new ScriptedLookup();
  const backends = new ConntrackBackends(native);
  await backends.resolve([tuple(40000), tuple(40000), tuple(40001, 81), tuple(40002, 99)]);
  assert.equal(native.asked.length, 3);
  assert.deepEqual(native.asked[0], { family: 4, protocol: 'tcp', source: '10.244.1.2', sourcePort: 40000, destination: '10.96.0.10', destinationPort: 80 });
  assert.equal(backends.backendOf(tuple(40000)), '10.244.2.2');
  assert.equal(backends.backendOf(tuple(40001, 81)), '10.96.0.10', 'no DNAT: the backend is the peer');
  assert.equal(backends.backendOf(tuple(40002, 99)), undefined);
  await backends.resolve([tuple(40000), tuple(40002, 99)]);
  assert.equal(native.asked.length, 3, 'answers and failures are not asked again');
  assert.deepEqual(Object.fromEntries(backends.outcomes), { backend: 1, no_nat: 1, not_found: 1 });
  backends.forget(tuple(40000));
  assert.equal(backends.backendOf(tuple(40000)), undefined);
  assert.equal(backends.cached, 2);
});

test('past maxEntries the oldest answer goes, counted, and is asked again when needed', async () => {
  const native = new ScriptedLookup();
  const backends = new ConntrackBackends(native, 2);
  await backends.resolve([tuple(1), tuple(2), tuple(3)]);
  assert.equal(backends.evicted, 1);
  assert.equal(backends.cached, 2);
  assert.equal(backends.backendOf(tuple(1)), undefined);
  await backends.resolve([tuple(1)]);
  assert.equal(native.asked.length, 4);
  assert.equal(backends.evicted, 2);
});

test('conntrack unavailable: every lookup counted, the reason told once', async () => {
  const reasons: string[] = [];
  const backends = new ConntrackBackends(new ScriptedLookup('no nf_conntrack_netlink'), 100, (r) => reasons.push(r));
  await backends.resolve([tuple(1)]);
  await backends.resolve([tuple(2), tuple(3)]);
  assert.deepEqual(Object.fromEntries(backends.outcomes), { unavailable: 3 });
  assert.deepEqual(reasons, ['no nf_conntrack_netlink']);
});

test('only a cluster peer that is the server side is looked up, with IPv4-mapped addresses unmapped', () => {
  const ports = new ServerPorts({ low: 32768, high: 60999 });
  const cluster = new ClusterNetworks(['10.96.0.0/12', '10.244.0.0/16']);
  const backends = new ConntrackBackends(new ScriptedLookup());
  const attributor = new Attributor(ports, new PeerGroups(), undefined, cluster, backends);
  const e = { family: 'ipv6' as const, localAddress: '::ffff:10.244.1.2', localPort: 40000, remoteAddress: '::ffff:10.96.0.10', remotePort: 80 };
  assert.deepEqual(attributor.peerTuple(e, 'udp', 80), { transport: 'udp', localAddress: '10.244.1.2', localPort: 40000, remoteAddress: '10.96.0.10', remotePort: 80 });
  assert.equal(attributor.peerTuple(e, 'tcp', 40000), undefined, 'the peer is a client');
  assert.equal(attributor.peerTuple(e, 'tcp', undefined), undefined, 'no server side known');
  assert.equal(attributor.peerTuple({ ...e, remoteAddress: '192.0.2.1' }, 'tcp', 80), undefined, 'outside the cluster networks');
  assert.equal(attributor.peerTuple({ ...e, localPort: 0 }, 'tcp', 80), undefined, 'not bound yet: no entry');
  assert.equal(new Attributor(ports, new PeerGroups(), undefined, cluster).peerTuple(e, 'tcp', 80), undefined, 'no lookups configured');
});
