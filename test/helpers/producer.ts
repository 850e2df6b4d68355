/** A SockscopeProducer over a real collector, with roomy limits, for integration tests. */
import type { BpfCollector } from '../../src/collector/bpf-collector';
import { SockscopeProducer, type SockscopeProducerOptions } from '../../src/metrics/sockscope-producer';

export function testProducer(collector: BpfCollector, options: Partial<SockscopeProducerOptions> = {}): SockscopeProducer {
  return new SockscopeProducer(collector, {
    buildInfo: { version: 'test', nodeVersion: process.versions.node },
    plan: collector.plan,
    limits: { maxSeries: 100_000, ttlMs: 3_600_000 },
    ...options,
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
