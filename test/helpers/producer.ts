/** A SockscopeProducer over a real collector, with roomy limits, for integration tests. */
import type { BpfCollector } from '../../src/collector/bpf-collector';
import { EnrichedConnections, type EnrichedConnectionsOptions } from '../../src/collector/enriched-connections';
import { SockscopeProducer, type SockscopeProducerOptions } from '../../src/metrics/sockscope-producer';

/** Options of the producer, and of the collector's connection enrichment beneath it. */
export type TestProducerOptions = Partial<SockscopeProducerOptions> &
  Pick<EnrichedConnectionsOptions, 'bootstrap' | 'listSockets' | 'onRecords'>;

export function testProducer(collector: BpfCollector, options: TestProducerOptions = {}): SockscopeProducer {
  const { bootstrap, listSockets, onRecords, ...producerOptions } = options;
  const connections = new EnrichedConnections(collector, {
    bootstrap,
    listSockets,
    onRecords,
    maxConnections: producerOptions.maxConnections,
  });
  return new SockscopeProducer(collector, connections, {
    buildInfo: { version: 'test', nodeVersion: process.versions.node },
    plan: collector.plan,
    limits: { maxSeries: 100_000, ttlMs: 3_600_000 },
    ...producerOptions,
  });
}

/** Default connection-metric attributes of a loopback IPv4 connection. */
export function loopbackSeries(comm: string, serverPort: number, extra: Record<string, string | number> = {}) {
  return {
    'process.executable.name': comm,
    'network.type': 'ipv4',
    'server.port': serverPort,
    'sockscope.peer.group': 'loopback',
    ...extra,
  };
}
