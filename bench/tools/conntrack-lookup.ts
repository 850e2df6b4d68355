/**
 * The per-connection cost of the conntrack backend lookup, in one run: a client pod makes
 * CONNECTIONS connections to a ClusterIP DNATed by nft in a node namespace (test/helpers/
 * cluster-topology.ts), then the metrics fold the same collected records once without and once
 * with the lookups (the second pays one lookup per client connection; the cache starts empty). Prints connections per second of both and the lookup time per connection.
 * Run as root after `npm run build`: node dist/bench/tools/conntrack-lookup.js [connections]
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { ConntrackBackends } from '../../src/collector/conntrack-backends';
import { loadNativeAddon } from '../../src/collector/native-addon';
import type { ConnectionBatch, ConnectionSource, FlowDelta, FlowSource } from '../../src/collector/types';
import { EnrichedConnections } from '../../src/collector/enriched-connections';
import { SockscopeProducer } from '../../src/metrics/sockscope-producer';
import { BACKEND_PORT, CLUSTER_IP, CLUSTER_NETWORKS, SERVICE_PORT, createClusterTopology } from '../../test/helpers/cluster-topology';
import { NamedProcess } from '../../test/helpers/named-process';

const CONNECTIONS = Number(process.argv[2] ?? 5000);

/** Replays one recorded drain, so both producers fold exactly the same input. */
function replay(flows: FlowDelta[], batch: ConnectionBatch, stats: ReturnType<BpfCollector['stats']>): FlowSource & ConnectionSource {
  return {
    drainInto: async (visit) => flows.forEach(visit),
    drainConnections: async () => batch,
    stats: () => stats,
  } as FlowSource & ConnectionSource;
}

async function main(): Promise<void> {
  const topo = createClusterTopology(randomBytes(3).toString('hex'));
  const collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 1 << 24, drainIntervalMillis: 20, maxFlows: 262_144, maxConnEvents: 1 << 20 });
  const children: NamedProcess[] = [];
  try {
    for (const b of topo.backends) {
      const s = NamedProcess.start({ name: 'ssbench-be', mode: 'serve', host: '::', port: BACKEND_PORT }, { netns: b.netns });
      children.push(s);
      await s.reply();
    }
    const client = NamedProcess.start({ name: 'ssbench-cl', mode: 'connect', host: CLUSTER_IP.ipv4, port: SERVICE_PORT, count: CONNECTIONS, bytes: 1 }, { netns: topo.client.netns });
    children.push(client);
    console.log('client:', JSON.stringify(await client.reply(600_000)));
    const flows = await collector.drain();
    const batch = await new EnrichedConnections(collector).drainConnections();
    const stats = collector.stats();
    const time = async (backends?: ConntrackBackends) => {
      const producer = new SockscopeProducer(replay(flows, batch, stats), replay(flows, batch, stats), {
        buildInfo: { version: 'bench', nodeVersion: process.versions.node },
        plan: collector.plan,
        limits: { maxSeries: 100_000, ttlMs: 3_600_000 },
        clusterNetworks: CLUSTER_NETWORKS,
        backends,
      });
      const start = performance.now();
      await producer.ingest();
      return performance.now() - start;
    };
    await time(); // warm-up: JIT and interning
    const without = await time();
    const backends = new ConntrackBackends(new (loadNativeAddon().ConntrackLookup)({ netns: `/run/netns/${topo.node}` }), 262_144);
    const withLookup = await time(backends);
    backends.close();
    // All records are folded (other processes' too); the rate is per connection of the client.
    const opened = batch.records.filter((r) => r.newState === 'ESTABLISHED' && r.owner?.comm === 'ssbench-cl').length;
    const lookups = [...backends.outcomes.values()].reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({
      connections: opened,
      flows: flows.length,
      outcomes: Object.fromEntries(backends.outcomes),
      withoutLookupMs: Number(without.toFixed(1)),
      withLookupMs: Number(withLookup.toFixed(1)),
      connectionsPerSecondWithout: Math.round(opened / (without / 1000)),
      connectionsPerSecondWith: Math.round(opened / (withLookup / 1000)),
      lookupMicrosPerConnection: Number((((withLookup - without) * 1000) / lookups).toFixed(1)),
    }));
  } finally {
    for (const c of children) c.kill();
    collector.close();
    topo.destroy();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
