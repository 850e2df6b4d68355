/**
 * metrics.clusterNetworks against the real kernel: a client pod reaches a Service ClusterIP
 * that the node DNATs (nft, kube-proxy's shape) to two backend pods, over IPv4 and IPv6.
 * The client's series carry the ClusterIP and the service port as the peer, with exact bytes
 * and connection counts; each backend's carry the client pod's address and no port; a peer
 * outside the cluster networks carries no address. The client's series also carry the backend
 * each connection really reached, looked up in the node namespace's conntrack (where the DNAT
 * happened): half the connections and bytes per backend, one lookup per connection. The same
 * lookups in a namespace without the DNAT, or one that cannot be entered, fail as counted
 * outcomes and leave the backend empty. Then 5,000 distinct peer addresses under
 * maxSeries 1,000: the series stay capped and the overflow is counted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { ConntrackBackends, type PeerTuple } from '../../src/collector/conntrack-backends';
import { loadNativeAddon } from '../../src/collector/native-addon';
import { NETWORK_IO, SERIES_OVERFLOW } from '../../src/metrics/definitions';
import { OVERFLOW_ATTRIBUTES } from '../../src/metrics/series-store';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import {
  BACKEND_PORT, CLUSTER_IP, CLUSTER_NETWORKS, EXTERNAL_IP, EXTERNAL_PORT, SERVICE_PORT, createClusterTopology,
} from '../helpers/cluster-topology';
import { NamedProcess } from '../helpers/named-process';
import { testProducer } from '../helpers/producer';
import { uniqueProcessName } from '../helpers/traffic';

/** Connections per family through the ClusterIP: even, so round-robin gives each backend half. */
const CONNECTIONS = 6;
const BYTES = 10_007;
const ADDRESS = 'network.peer.address';
const PORT = 'network.peer.port';
const BACKEND = 'sockscope.peer.backend.address';

/** Connected UDP sockets one after another, each sends argv[5] bytes and waits for the echo; comm = argv[1]. */
const UDP_CLIENT = `
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
for _ in range(int(sys.argv[4])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((sys.argv[2], int(sys.argv[3])))
    s.send(b'u' * int(sys.argv[5]))
    s.settimeout(10)
    assert len(s.recv(65536)) == int(sys.argv[5])
    s.close()
`;

/** A UDP echo server on BACKEND_PORT in a backend pod, as a NamedProcess-like child to kill. */
async function udpEcho(netns: string): Promise<{ kill(): void }> {
  const script = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', ${BACKEND_PORT}))
print('ready', flush=True)
while True:
    data, peer = s.recvfrom(65536)
    s.sendto(data, peer)
`;
  const child = spawn('ip', ['netns', 'exec', netns, 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`UDP echo in ${netns} exited with ${code}`)));
  });
  return { kill: () => child.kill() };
}

/** Conntrack lookups in a namespace file, as the daemon makes them with metrics.conntrackNetns. */
function conntrackIn(netns: string, onUnavailable?: (reason: string) => void): ConntrackBackends {
  return new ConntrackBackends(new (loadNativeAddon().ConntrackLookup)({ netns }), 1024, onUnavailable);
}

type Store = { entries(): IterableIterator<{ attributes: Attributes; value: { value: number } }> };

/** Sum over the series of `comm` that have every attribute of `match` (undefined: must be absent). */
function sumOf(store: Store, comm: string, match: Attributes): number {
  let n = 0;
  for (const e of store.entries()) {
    if (e.attributes['process.executable.name'] !== comm) continue;
    if (Object.entries(match).every(([k, v]) => e.attributes[k] === v)) n += e.value.value;
  }
  return n;
}

function seriesOf(store: Store, comm: string): Attributes[] {
  return [...store.entries()].filter((e) => e.attributes['process.executable.name'] === comm).map((e) => e.attributes);
}

describe('peer addresses of cluster networks', bpfTestOptions(), () => {
  test('ClusterIP peers with exact bytes through an nft DNAT, backends see the client pod, outside peers no address (IPv4 and IPv6)', async () => {
    requireBpf();
    const topo = createClusterTopology(randomBytes(3).toString('hex'));
    const children: NamedProcess[] = [];
    const collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 });
    const backends = conntrackIn(`/run/netns/${topo.node}`);
    const echoes: Array<{ kill(): void }> = [];
    try {
      const producer = testProducer(collector, { clusterNetworks: CLUSTER_NETWORKS, backends });
      const backendNames = topo.backends.map((_, i) => uniqueProcessName(`sscbe${i}`));
      const externalName = uniqueProcessName('sscext');
      const servers = [
        ...topo.backends.map((b, i) => NamedProcess.start({ name: backendNames[i], mode: 'serve', host: '::', port: BACKEND_PORT, echo: true }, { netns: b.netns })),
        NamedProcess.start({ name: externalName, mode: 'serve', host: '::', port: EXTERNAL_PORT, echo: true }, { netns: topo.node }),
      ];
      children.push(...servers);
      for (const s of servers) await s.reply();

      const clients = {
        ipv4: uniqueProcessName('ssccl4'),
        ipv6: uniqueProcessName('ssccl6'),
        external: uniqueProcessName('ssccle'),
      };
      const runs = [
        NamedProcess.start({ name: clients.ipv4, mode: 'hold', host: CLUSTER_IP.ipv4, port: SERVICE_PORT, count: CONNECTIONS, bytes: BYTES }, { netns: topo.client.netns }),
        NamedProcess.start({ name: clients.ipv6, mode: 'hold', host: CLUSTER_IP.ipv6, port: SERVICE_PORT, count: CONNECTIONS, bytes: BYTES }, { netns: topo.client.netns }),
        NamedProcess.start({ name: clients.external, mode: 'hold', host: EXTERNAL_IP.ipv4, port: EXTERNAL_PORT, count: 1, bytes: BYTES }, { netns: topo.client.netns }),
      ];
      children.push(...runs);
      for (const [i, r] of runs.entries()) {
        const count = i < 2 ? CONNECTIONS : 1;
        assert.deepEqual((await r.reply<{ echoed: number }>()).echoed, count * BYTES);
      }
      for (const r of runs) r.send('close');
      for (const r of runs) await r.reply();
      for (const s of servers) await s.exit();
      await producer.ingest();

      const f = producer.flows.stores;
      const c = producer.connections.stores;
      for (const family of ['ipv4', 'ipv6'] as const) {
        const comm = clients[family];
        const peer = { [ADDRESS]: CLUSTER_IP[family], [PORT]: SERVICE_PORT, 'server.port': SERVICE_PORT };
        assert.equal(sumOf(f.bytes, comm, { ...peer, 'network.io.direction': 'transmit' }), CONNECTIONS * BYTES, `${comm} sent to the ClusterIP`);
        assert.equal(sumOf(f.bytes, comm, { ...peer, 'network.io.direction': 'receive' }), CONNECTIONS * BYTES, `${comm} received from it`);
        assert.equal(sumOf(c.opened, comm, peer), CONNECTIONS, `${comm} opened`);
        assert.equal(sumOf(c.closed, comm, peer), CONNECTIONS, `${comm} closed`);
        // Round-robin DNAT: each backend got half the connections, and the client's series say which.
        for (const backend of topo.backends) {
          const reached = { ...peer, [BACKEND]: backend[family] };
          assert.equal(sumOf(f.bytes, comm, { ...reached, 'network.io.direction': 'transmit' }), (CONNECTIONS / 2) * BYTES, `${comm} sent to ${backend[family]}`);
          assert.equal(sumOf(f.bytes, comm, { ...reached, 'network.io.direction': 'receive' }), (CONNECTIONS / 2) * BYTES, `${comm} received from ${backend[family]}`);
          assert.equal(sumOf(c.opened, comm, reached), CONNECTIONS / 2, `${comm} opened to ${backend[family]}`);
        }
        for (const attrs of seriesOf(f.bytes, comm)) assert.equal(attrs[ADDRESS], CLUSTER_IP[family], JSON.stringify(attrs));
        assert.ok(seriesOf(producer.flows.stores.rtt as unknown as Store, comm).every((a) => a[ADDRESS] === CLUSTER_IP[family]));
        // Each backend saw half, from the client pod's own address (no SNAT), whose port is a client's: none.
        for (const [i, backend] of topo.backends.entries()) {
          const server = backendNames[i]!;
          const fromClient = { [ADDRESS]: topo.client[family], [PORT]: undefined, 'server.port': BACKEND_PORT };
          assert.equal(sumOf(f.bytes, server, { ...fromClient, 'network.io.direction': 'receive' }), (CONNECTIONS / 2) * BYTES, `${server} (${backend.netns}) received over ${family}`);
          assert.equal(sumOf(f.bytes, server, { ...fromClient, 'network.io.direction': 'transmit' }), (CONNECTIONS / 2) * BYTES, `${server} sent over ${family}`);
          assert.equal(sumOf(c.opened, server, { ...fromClient, 'sockscope.connection.direction': 'passive' }), CONNECTIONS / 2, `${server} accepted over ${family}`);
          // The server's peer is a client: no DNAT to look up.
          for (const attrs of seriesOf(f.bytes, server)) assert.equal(attrs[BACKEND], undefined, JSON.stringify(attrs));
        }
      }
      // A server outside the cluster networks: the peer group only, on every series of the client.
      const series = [...seriesOf(f.bytes, clients.external), ...seriesOf(c.opened, clients.external)];
      assert.ok(series.length > 0, `${clients.external} has series`);
      for (const attrs of series) assert.equal(attrs[ADDRESS], undefined, JSON.stringify(attrs));
      for (const attrs of series) assert.equal(attrs[PORT], undefined, JSON.stringify(attrs));
      for (const attrs of series) assert.equal(attrs[BACKEND], undefined, JSON.stringify(attrs));
      assert.equal(sumOf(f.bytes, clients.external, { 'sockscope.peer.group': 'external', 'network.io.direction': 'transmit' }), BYTES);
      // That server's own peer is the client pod, inside: it does get the address.
      assert.equal(sumOf(f.bytes, externalName, { [ADDRESS]: topo.client.ipv4, [PORT]: undefined, 'network.io.direction': 'receive' }), BYTES);
      assert.equal(collector.stats().eventsLost, 0);
      // One lookup per connection (12), each a DNAT; nothing else was looked up.
      assert.deepEqual(Object.fromEntries(backends.outcomes), { backend: 2 * CONNECTIONS });

      // Connected UDP through the same Service: each socket is a new conntrack entry, and its
      // datagrams carry the backend that entry was DNATed to.
      const udpClient = uniqueProcessName('sscudp');
      for (const b of topo.backends) echoes.push(await udpEcho(b.netns));
      execFileSync('ip', ['netns', 'exec', topo.client.netns, 'python3', '-c', UDP_CLIENT, udpClient, CLUSTER_IP.ipv4, String(SERVICE_PORT), String(CONNECTIONS), String(BYTES)], { timeout: 30_000 });
      await producer.ingest();
      for (const backend of topo.backends) {
        const reached = { [ADDRESS]: CLUSTER_IP.ipv4, [PORT]: SERVICE_PORT, [BACKEND]: backend.ipv4, 'network.transport': 'udp' };
        assert.equal(sumOf(f.bytes, udpClient, { ...reached, 'network.io.direction': 'transmit' }), (CONNECTIONS / 2) * BYTES, `${udpClient} sent to ${backend.ipv4}`);
        assert.equal(sumOf(f.bytes, udpClient, { ...reached, 'network.io.direction': 'receive' }), (CONNECTIONS / 2) * BYTES, `${udpClient} received from ${backend.ipv4}`);
      }
      assert.deepEqual(Object.fromEntries(backends.outcomes), { backend: 3 * CONNECTIONS });
      assert.equal(backends.evicted, 0);

      // The same connections asked where no DNAT happened, or where the lookup thread cannot
      // go: counted failures, an empty backend, one reason told.
      const tuples: PeerTuple[] = [
        { transport: 'tcp', localAddress: topo.client.ipv4, localPort: 40000, remoteAddress: CLUSTER_IP.ipv4, remotePort: SERVICE_PORT },
      ];
      const elsewhere = conntrackIn(`/run/netns/${topo.client.netns}`);
      const reasons: string[] = [];
      const nowhere = conntrackIn('/run/netns/sscl-none-such', (r) => reasons.push(r));
      try {
        await elsewhere.resolve(tuples);
        assert.deepEqual(Object.fromEntries(elsewhere.outcomes), { not_found: 1 });
        assert.equal(elsewhere.backendOf(tuples[0]!), undefined);
        await nowhere.resolve(tuples);
        await nowhere.resolve([{ ...tuples[0]!, localPort: 40001 }]);
        assert.deepEqual(Object.fromEntries(nowhere.outcomes), { netns: 2 });
        assert.equal(reasons.length, 1);
        assert.match(reasons[0]!, /sscl-none-such/);
      } finally {
        elsewhere.close();
        nowhere.close();
      }
    } finally {
      for (const ch of [...children, ...echoes]) ch.kill();
      collector.close();
      backends.close();
      topo.destroy();
    }
  });

  test('5,000 distinct peer addresses with maxSeries 1,000 stay capped, and the overflow is counted', async (t) => {
    requireBpf();
    const PEERS = 5000;
    const MAX_SERIES = 1000;
    const netns = `sscl-card-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', netns]);
    const children: NamedProcess[] = [];
    const collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 1 << 24, drainIntervalMillis: 20, maxFlows: 65536 });
    try {
      execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
      // Every address of a /16 is local in the namespace: 5,000 peers without 5,000 interfaces.
      execFileSync('ip', ['-n', netns, 'route', 'add', 'local', '10.244.0.0/16', 'dev', 'lo', 'table', 'local']);
      const producer = testProducer(collector, { clusterNetworks: ['10.244.0.0/16'], limits: { maxSeries: MAX_SERIES, ttlMs: 3_600_000 } });
      const ingest = setInterval(() => void producer.ingest(), 250);
      const serverName = uniqueProcessName('ssccsv');
      const clientName = uniqueProcessName('ssccc');
      const server = NamedProcess.start({ name: serverName, mode: 'serve', host: '0.0.0.0', port: SERVICE_PORT }, { netns });
      children.push(server);
      await server.reply();
      const hosts = Array.from({ length: PEERS }, (_, i) => `10.244.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
      const client = NamedProcess.start({ name: clientName, mode: 'connect', host: hosts[0], port: SERVICE_PORT, count: 0, hosts, bytes: 1 }, { netns });
      children.push(client);
      try {
        assert.deepEqual(await client.reply(120_000), { ok: PEERS, refused: 0 });
        await server.exit();
      } finally {
        clearInterval(ingest);
      }
      await producer.ingest();
      const result = await producer.collect();

      const f = producer.flows.stores;
      const c = producer.connections.stores;
      for (const [name, store] of Object.entries({ bytes: f.bytes, messages: f.messages, opened: c.opened, closed: c.closed })) {
        assert.ok(store.size <= MAX_SERIES, `${name}: ${store.size} series`);
        assert.ok(store.folded > 0, `${name} folded updates into the overflow series`);
        assert.ok(store.peek(OVERFLOW_ATTRIBUTES), `${name} has the overflow series`);
      }
      const peers = new Set(seriesOf(c.opened, clientName).map((a) => a[ADDRESS]));
      assert.ok(peers.size > 100 && peers.size <= MAX_SERIES, `the client's own series name ${peers.size} peers`);
      assert.ok(peers.has(hosts[0]), 'the first peer has its own series');
      // Nothing lost: the client's connections with an address plus those folded make all of them.
      const opened = sumOf(c.opened, clientName, {});
      assert.ok(opened + c.opened.get(OVERFLOW_ATTRIBUTES) >= PEERS, `${opened} named + ${c.opened.get(OVERFLOW_ATTRIBUTES)} folded`);
      const overflow = result.resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === SERIES_OVERFLOW.name)
        ?.dataPoints.find((p) => p.attributes['sockscope.metric'] === NETWORK_IO.name);
      assert.ok(overflow && (overflow.value as number) === f.bytes.folded, `overflow self-metric ${JSON.stringify(overflow?.value)} = folded ${f.bytes.folded}`);
      t.diagnostic(`bytes: ${f.bytes.size} series, ${f.bytes.folded} folded; opened: ${c.opened.size} series, ${c.opened.folded} folded`);
    } finally {
      for (const ch of children) ch.kill();
      collector.close();
      execFileSync('ip', ['netns', 'del', netns]);
    }
  });
});
