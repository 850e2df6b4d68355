/**
 * `sockscope selftest`: attaches the probes as the daemon does, makes known traffic in a private
 * network namespace, and compares what the real producer exports (the MetricData /metrics
 * renders) with what the children did.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describeHooks, type CheckReport } from '../check';
import { BpfCollector } from '../collector/bpf-collector';
import { bootstrapTcpSockets } from '../collector/proc-sockets';
import type { Config } from '../config/schema';
import type { SockscopeProducer } from '../metrics/sockscope-producer';
import { collectorOptions, createProducer, enrichConnections } from '../startup';
import { evaluate, exitStatus, heldActive, type CheckResult, type Observations } from './checks';
import { childNames, WORKLOAD, type ChildNames } from './jobs';
import { PrivateNamespace, type Child } from './namespace';

export interface SelftestReport {
  kernel: string;
  mode: string;
  plan: CheckReport['hooks'];
  checks: CheckResult[];
  status: 0 | 1;
}

/** How often to read the producer again while kernel events may still be on their way. */
const SETTLE_ATTEMPTS = 10;

export async function runSelftest(config: Config): Promise<SelftestReport> {
  const names = childNames();
  let ns: PrivateNamespace | undefined;
  let collector: BpfCollector | undefined;
  // Ctrl-C must not leave the namespace's processes (and so the namespace) or the probes behind.
  const onSignal = (signal: NodeJS.Signals) => {
    ns?.remove();
    collector?.close();
    process.exit(128 + os.constants.signals[signal]);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    ns = new PrivateNamespace(names.namespace);
    await ns.ready().catch((err: Error) => {
      throw new Error(`cannot create its private network namespace (it needs CAP_SYS_ADMIN, CAP_NET_ADMIN, unshare and ip): ${err.message}`);
    });
    // Not startup.ts's startCollector: it drops capabilities that nsenter and nft still need here.
    collector = BpfCollector.start(collectorOptions(config));
    const producer = createProducer(config, collector, enrichConnections(config, collector, bootstrapTcpSockets()));
    const checks = await exercise(ns, names, producer, config.ebpf.drainInterval);
    return { kernel: os.release(), mode: config.probes.mode, plan: describeHooks(collector.plan), checks, status: exitStatus(checks) };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    ns?.remove();
    collector?.close();
  }
}

async function metrics(producer: SockscopeProducer): Promise<ResourceMetrics> {
  return (await producer.collect()).resourceMetrics;
}

async function finish(child: Child): Promise<void> {
  await child.reply();
  await child.exited();
}

async function exercise(ns: PrivateNamespace, names: ChildNames, producer: SockscopeProducer, drainMillis: number): Promise<CheckResult[]> {
  const w = WORKLOAD;
  const server = ns.start({ kind: 'serve', name: names.server });
  const ports = await server.reply<{ tcp4: number; tcp6: number; udp4: number; udp6: number; sink: number }>();
  const dropFailure = ns.dropSomeSegments(ports.sink);
  const retransmitsBefore = ns.retransmittedSegments();

  await Promise.all([
    finish(ns.start({ kind: 'tcp-echo', name: names.tcp4, host: '127.0.0.1', port: ports.tcp4, bytes: w.tcpBytes })),
    finish(ns.start({ kind: 'tcp-echo', name: names.tcp6, host: '::1', port: ports.tcp6, bytes: w.tcpBytes })),
    finish(ns.start({ kind: 'udp-echo', name: names.udp4, host: '127.0.0.1', port: ports.udp4, count: w.udpDatagrams, size: w.udpSize })),
    finish(ns.start({ kind: 'udp-echo', name: names.udp6, host: '::1', port: ports.udp6, count: w.udpDatagrams, size: w.udpSize })),
    finish(
      ns.start({
        kind: 'connect', name: names.connect, host: '127.0.0.1', port: ports.tcp4, count: w.connects, bytes: w.connectBytes,
        refusedPort: w.refusedPort, refusedCount: w.refused,
      }),
    ),
    finish(ns.start({ kind: 'bulk', name: names.bulk, host: '127.0.0.1', port: ports.sink, writes: w.bulkWrites, size: w.bulkSize })),
  ]);

  const hold = ns.start({ kind: 'hold', name: names.hold, host: '127.0.0.1', port: ports.tcp4, count: w.held });
  await hold.reply();
  // The gauge is read as /metrics would read it while the connections are open: wait for their events.
  let held = await metrics(producer);
  for (let i = 0; i < SETTLE_ATTEMPTS && heldActive(names, held) !== w.held; i++) {
    await sleep(drainMillis);
    held = await metrics(producer);
  }
  hold.send('close');
  await finish(hold);

  // Kernel events reach the producer within a drain interval or two; read until every check passes or time is up.
  let checks: CheckResult[] = [];
  for (let i = 0; i < SETTLE_ATTEMPTS; i++) {
    await sleep(drainMillis);
    const after = await metrics(producer);
    const retransmits: Observations['retransmits'] =
      dropFailure === undefined ? { kernel: ns.retransmittedSegments() - retransmitsBefore } : { notRun: dropFailure };
    checks = evaluate(names, { held, after, retransmits });
    if (exitStatus(checks) === 0) break;
  }
  return checks;
}
