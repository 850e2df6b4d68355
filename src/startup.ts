/** Start-up steps shared by `sockscope run` and `sockscope events`. */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { BpfCollector, type BpfCollectorOptions } from './collector/bpf-collector';
import { bootstrapTcpSockets, listTcpSocketsByNamespace, type BootstrapResult } from './collector/proc-sockets';
import { attributeSelection, type Config } from './config/schema';
import type { Logger } from './log';
import { dropCapabilities, readKernelFacts, runtimeCapabilities } from './privileges';
import type { ConnectionRecord } from './collector/types';
import { EnrichedConnections } from './collector/enriched-connections';
import { CgroupResolver } from './attribution/cgroup-resolver';
import { SockscopeProducer, type SockscopeProducerOptions } from './metrics/sockscope-producer';
import { readBuildInfo } from './build-info';
import { ConntrackBackends } from './collector/conntrack-backends';
import { loadNativeAddon } from './collector/native-addon';

export function collectorOptions(config: Config): BpfCollectorOptions {
  return {
    mode: config.probes.mode,
    ringBufferSize: config.ebpf.ringBufferSize,
    drainIntervalMillis: config.ebpf.drainInterval,
    maxFlows: config.ebpf.maxFlows,
    ioCacheSlots: config.ebpf.ioCacheSlots,
    maxSockets: config.ebpf.maxSockets,
    maxListeners: config.ebpf.maxListeners,
  };
}

/**
 * Attaches the probes, then reads /proc: a connection opened in between is seen by both, not by neither.
 * `only` limits the collector to what a command needs (e.g. connection events).
 */
export function startCollector(
  config: Config,
  log: Logger,
  only: Partial<BpfCollectorOptions> = {},
  { conntrack = false }: { conntrack?: boolean } = {},
): { collector: BpfCollector; bootstrap: BootstrapResult; backends?: ConntrackBackends } {
  const collector = BpfCollector.start({ ...collectorOptions(config), ...only });
  // Opened now: entering another namespace takes CAP_SYS_ADMIN, which is dropped below.
  const backends = conntrack && config.metrics.clusterNetworks.length > 0 ? openConntrack(config, log) : undefined;
  for (const hook of collector.plan.hooks) {
    log.info({ hook: hook.hook, implementation: hook.chosen ?? 'none', failures: hook.failures }, 'probe attached');
  }
  const bootstrap = bootstrapTcpSockets();
  log.info(
    { sockets: bootstrap.sockets.length, unreadableProcesses: bootstrap.unreadableProcesses },
    'read existing TCP sockets from /proc',
  );
  // Attached and bootstrapped: keep only what the kernel still asks of us at run time.
  log.info(dropCapabilities(runtimeCapabilities(readKernelFacts(), { conntrack: backends !== undefined })), 'capabilities dropped');
  return { collector, bootstrap, backends };
}

/**
 * The backend lookups for metrics.clusterNetworks. Conntrack missing is no error: the backend
 * attribute stays empty, the failures are counted, and the log says why once.
 */
function openConntrack(config: Config, log: Logger): ConntrackBackends {
  const native = new (loadNativeAddon().ConntrackLookup)({ netns: config.metrics.conntrackNetns });
  const unavailable = (reason: string) =>
    log.warn({ reason, netns: config.metrics.conntrackNetns || 'own' }, 'conntrack unavailable: sockscope.peer.backend.address stays empty');
  const backends = new ConntrackBackends(native, config.metrics.conntrackCacheSize, unavailable);
  log.info({ netns: config.metrics.conntrackNetns || 'own', available: native.unavailableReason() === '' }, 'conntrack backend lookups');
  return backends;
}

/** OTLP export failures surface only through OTel's diag logger: make them visible. */
export function routeOtelDiagnostics(log: Logger): void {
  diag.setLogger(
    {
      error: (msg, ...args) => log.error({ args }, `opentelemetry: ${msg}`),
      warn: (msg, ...args) => log.warn({ args }, `opentelemetry: ${msg}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
}

export function waitForTermination(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Connection events enriched once (owner, direction), for the metrics and the event stream alike. */
export function enrichConnections(
  config: Config,
  collector: BpfCollector,
  bootstrap: BootstrapResult,
  onRecords?: (records: readonly ConnectionRecord[]) => void,
): EnrichedConnections {
  return new EnrichedConnections(collector, {
    bootstrap: bootstrap.sockets,
    listSockets: (witnesses) => listTcpSocketsByNamespace('/proc', witnesses),
    maxConnections: config.metrics.maxConnections,
    onRecords,
  });
}

/** The metrics producer with everything configuration says about series, attributes and attribution. */
export function createProducer(
  config: Config,
  collector: BpfCollector,
  connections: EnrichedConnections,
  eventStreamStats?: SockscopeProducerOptions['eventStreamStats'],
  otlpExportStats?: SockscopeProducerOptions['otlpExportStats'],
  backends?: ConntrackBackends,
): SockscopeProducer {
  return new SockscopeProducer(collector, connections, {
    buildInfo: readBuildInfo(),
    plan: collector.plan,
    limits: { maxSeries: config.metrics.maxSeries, ttlMs: config.metrics.ttl },
    attributes: attributeSelection(config),
    peerGroups: config.metrics.peerGroups,
    clusterNetworks: config.metrics.clusterNetworks,
    backends,
    conntrackStats: backends && (() => ({ outcomes: backends.outcomes, evicted: backends.evicted })),
    maxConnections: config.metrics.maxConnections,
    exponentialHistograms: config.otlp.histograms === 'exponential',
    workload: new CgroupResolver({
      cgroupRoot: config.attribution.cgroupRoot || undefined,
      podLogRoot: config.attribution.podLogRoot,
    }),
    eventStreamStats,
    otlpExportStats,
    // Test only: the broken pipeline that test/integration/selftest.test.ts makes selftest catch.
    testDropEveryTenthFlow: process.env.TEST_ONLY_SOCKSCOPE_DROP_EVERY_TENTH_FLOW === '1',
  });
}
