/**
 * metrics.clusterNetworks in the metrics layer: which peers get an address and a port, on
 * which metrics by default, and that metrics.attributes still decides per metric.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttributePolicy } from '../../src/metrics/attribute-policy';
import { Attributor } from '../../src/metrics/attributor';
import { ClusterNetworks } from '../../src/metrics/cluster-networks';
import {
  CONNECT_DURATION, CONNECTIONS_ACTIVE, CONNECTIONS_CLOSED, CONNECTIONS_FAILED, CONNECTIONS_OPENED, CONNECTION_DURATION, METRICS,
  NETWORK_IO, NETWORK_MESSAGES, RETRANSMITS, RTT,
} from '../../src/metrics/definitions';
import { PeerGroups } from '../../src/metrics/peer-groups';
import { ServerPorts } from '../../src/metrics/server-ports';
import type { FlowDelta } from '../../src/collector/types';

const CLUSTER = ['10.244.0.0/16', '10.96.0.0/12', 'fd00:10:244::/56'];
const ADDRESS = 'network.peer.address';
const PORT = 'network.peer.port';

function attributor(cidrs: string[]): Attributor {
  // Listener 8080 is local; the ephemeral range as Linux ships it.
  const ports = new ServerPorts({ low: 32768, high: 60999 });
  ports.addListener(8080);
  return new Attributor(ports, new PeerGroups(), undefined, new ClusterNetworks(cidrs));
}

function flow(remoteAddress: string, localPort: number, remotePort: number, family: 'ipv4' | 'ipv6' = 'ipv4'): FlowDelta {
  return {
    family, transport: 'tcp', localAddress: family === 'ipv4' ? '10.244.1.5' : 'fd00:10:244::5', localPort, remoteAddress, remotePort,
    comm: 'client', threadName: 'client', tgid: 7, netns: 1, cgroupId: 0n,
    txBytes: 1, rxBytes: 0, txMessages: 1, rxMessages: 0, srttMicros: 0,
  };
}

test('a peer in the cluster networks has its address; its port only when it is the server side', () => {
  const a = attributor(CLUSTER);
  const toService = a.flow(flow('10.96.0.10', 40000, 80));
  assert.equal(toService[ADDRESS], '10.96.0.10');
  assert.equal(toService[PORT], 80);
  assert.equal(toService['sockscope.peer.group'], 'private');
  // The local listener 8080 serves a client pod: the client's ephemeral port would be a series per connection.
  const fromClient = a.flow(flow('10.244.2.9', 8080, 51234));
  assert.equal(fromClient[ADDRESS], '10.244.2.9');
  assert.equal(fromClient[PORT], undefined);
  const v6 = a.flow(flow('fd00:10:244::9', 40000, 443, 'ipv6'));
  assert.equal(v6[ADDRESS], 'fd00:10:244::9');
  assert.equal(v6[PORT], 443);
});

test('a peer outside the cluster networks keeps only its peer group', () => {
  const a = attributor(CLUSTER);
  for (const peer of ['192.168.1.1', '10.1.0.1', '8.8.8.8', 'fd00:20::1']) {
    const attrs = a.flow(flow(peer, 40000, 443, peer.includes(':') ? 'ipv6' : 'ipv4'));
    assert.equal(attrs[ADDRESS], undefined, peer);
    assert.equal(attrs[PORT], undefined, peer);
    assert.ok(attrs['sockscope.peer.group'], peer);
  }
});

test('an IPv4-mapped IPv6 peer is named as IPv4, with and without cluster networks', () => {
  assert.equal(attributor(CLUSTER).flow(flow('::ffff:10.96.0.10', 40000, 80, 'ipv6'))[ADDRESS], '10.96.0.10');
  assert.equal(attributor([]).flow(flow('::FFFF:192.168.1.1', 40000, 80, 'ipv6'))[ADDRESS], '192.168.1.1');
  // The collector writes them as the URL parser does: the last 32 bits in hex.
  assert.equal(attributor(CLUSTER).flow(flow('::ffff:af4:102', 8080, 40000, 'ipv6'))[ADDRESS], '10.244.1.2');
  assert.equal(attributor(CLUSTER).flow(flow('::ffff:a60:a', 40000, 80, 'ipv6'))[ADDRESS], '10.96.0.10');
  assert.equal(attributor(CLUSTER).flow(flow('::ffff:c0a8:101', 40000, 80, 'ipv6'))[ADDRESS], undefined);
});

test('without cluster networks the opt-in address and port are every peer\'s, as before', () => {
  const attrs = attributor([]).flow(flow('8.8.8.8', 40000, 53));
  assert.equal(attrs[ADDRESS], '8.8.8.8');
  assert.equal(attrs[PORT], 53);
  const fromClient = attributor([]).flow(flow('10.244.2.9', 8080, 51234));
  assert.equal(fromClient[PORT], 51234);
});

test('cluster networks make the peer address and port defaults of the service-map metrics only', () => {
  const on = new AttributePolicy(METRICS, {}, true);
  const off = new AttributePolicy(METRICS, {}, false);
  for (const m of [NETWORK_IO, NETWORK_MESSAGES, CONNECTIONS_OPENED, CONNECTIONS_CLOSED, CONNECTIONS_FAILED, CONNECTIONS_ACTIVE, RETRANSMITS, RTT]) {
    assert.ok(on.exported(m.name).includes(ADDRESS) && on.exported(m.name).includes(PORT), m.name);
    assert.ok(!off.exported(m.name).includes(ADDRESS) && !off.exported(m.name).includes(PORT), m.name);
  }
  for (const m of [CONNECT_DURATION, CONNECTION_DURATION]) assert.ok(!on.exported(m.name).includes(ADDRESS), m.name);
  const candidates = attributor(CLUSTER).flow(flow('10.96.0.10', 40000, 80));
  candidates['network.io.direction'] = 'transmit';
  assert.equal(on.select(NETWORK_IO.name, candidates)[ADDRESS], '10.96.0.10');
  assert.equal(off.select(NETWORK_IO.name, candidates)[ADDRESS], undefined);
});

test('metrics.attributes still drops the address from a metric, or adds it to one', () => {
  const policy = new AttributePolicy(
    METRICS,
    { [NETWORK_IO.name]: ['process.executable.name', 'network.io.direction'], [CONNECT_DURATION.name]: ['process.executable.name', ADDRESS] },
    true,
  );
  const candidates = attributor(CLUSTER).flow(flow('10.96.0.10', 40000, 80));
  candidates['network.io.direction'] = 'receive';
  assert.deepEqual(policy.select(NETWORK_IO.name, candidates), { 'process.executable.name': 'client', 'network.io.direction': 'receive' });
  assert.deepEqual(policy.select(CONNECT_DURATION.name, candidates), { 'process.executable.name': 'client', [ADDRESS]: '10.96.0.10' });
  // Added, it still follows the cluster networks: an outside peer has none.
  const outside = attributor(CLUSTER).flow(flow('8.8.8.8', 40000, 80));
  assert.deepEqual(policy.select(CONNECT_DURATION.name, outside), { 'process.executable.name': 'client' });
});
