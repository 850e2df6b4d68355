/**
 * Daemon memory with many active flows: loadgen opens CONNECTIONS loopback TCP
 * connections to a listener on a fixed port (two sockets each, so 2 × CONNECTIONS flows,
 * as sockscope keys flows by socket and process) and moves 64 bytes each way on every
 * connection once a second, spread over the second. RSS is sampled every 200 ms; the
 * peak (VmHWM) is reported with its parts, next to the idle daemon's.
 *
 * Two configurations, both with the default daemon settings: started the way every
 * launcher starts it (the node flags and environment of src/runtime-settings.ts), and with
 * plain `node`, which shows what those settings save. (Bytes are summed in the kernel, so
 * the ring buffer only carries connection events; its default is 1 MiB, mapped twice.)
 */
import { SockscopeDaemon } from '../lib/daemon';
import { EventLoopProbe, type EventLoopDelay } from '../lib/event-loop';
import { sumOf } from '../lib/exposition';
import { REPO_ROOT, type NativeTools } from '../lib/native-build';
import { runChild } from '../lib/children';
import { ProcessSampler, mappedRssKiB, memoryKiB, type MemoryKiB } from '../lib/proc-stats';
import { round } from '../lib/stats';
import { NODE_ENVIRONMENT, NODE_FLAGS } from '../../src/runtime-settings';

export interface FlowsConfiguration {
  name: string;
  daemonArgs: string[];
  nodeArgs: string[];
  env: Record<string, string>;
}

const launched = { nodeArgs: [...NODE_FLAGS], env: { ...NODE_ENVIRONMENT } };

export const FLOWS_CONFIGURATIONS: readonly FlowsConfiguration[] = [
  { name: 'defaults, as launched', daemonArgs: [], ...launched },
  { name: 'defaults, plain node', daemonArgs: [], nodeArgs: [], env: {} },
];

export interface FlowsResult {
  configuration: string;
  daemonArgs: string[];
  nodeArgs: string[];
  connections: number;
  flows: number;
  seconds: number;
  eventsPerSecond: number;
  idleMemoryKiB: MemoryKiB | undefined;
  memoryKiB: MemoryKiB | undefined;
  ringBufferResidentKiB: number;
  daemonCpuSeconds: number;
  seriesExported: number;
  connectionsOpenedExported: number;
  lost: number;
  /** The daemon's event-loop delay from the load's start to the scrape after it. */
  eventLoopDelay?: EventLoopDelay;
}

export interface NodeFloor {
  /** RSS of `node` doing nothing, and of `node` with sockscope's runtime dependencies loaded. */
  emptyKiB: number;
  withDependenciesKiB: number;
}

/** The daemon's dependencies, loaded the way the daemon loads them (nothing started). */
const DEPENDENCIES = [
  '@opentelemetry/api',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-prometheus',
  '@opentelemetry/exporter-metrics-otlp-grpc',
  'convict',
  'pino',
];

async function nodeRssKiB(modules: string[]): Promise<number> {
  const script =
    `for (const m of ${JSON.stringify(modules)}) require(require.resolve(m, { paths: [${JSON.stringify(REPO_ROOT)}] }));` +
    `setTimeout(() => process.stdout.write(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]), 1000);`;
  const { stdout } = await runChild(process.execPath, ['-e', script]);
  return Number(stdout);
}

export async function measureNodeFloor(): Promise<NodeFloor> {
  return { emptyKiB: await nodeRssKiB([]), withDependenciesKiB: await nodeRssKiB(DEPENDENCIES) };
}

export async function measureFlows(
  tools: NativeTools,
  options: { connections: number; seconds: number; log: (line: string) => void },
): Promise<FlowsResult[]> {
  const results: FlowsResult[] = [];
  for (const configuration of FLOWS_CONFIGURATIONS) results.push(await measureOne(tools, configuration, options));
  return results;
}

async function measureOne(
  tools: NativeTools,
  configuration: FlowsConfiguration,
  options: { connections: number; seconds: number; log: (line: string) => void },
): Promise<FlowsResult> {
  const loop = new EventLoopProbe();
  const daemon = await SockscopeDaemon.start({
    args: configuration.daemonArgs,
    nodeArgs: [...configuration.nodeArgs, ...loop.nodeArgs],
    env: { ...configuration.env, ...loop.env },
  });
  const sampler = new ProcessSampler(daemon.pid, 200);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idle = memoryKiB(daemon.pid);
    const cpuBefore = sampler.cpuSeconds();
    await loop.mark(daemon.pid);
    const { stdout } = await runChild(tools.loadgen, ['flows', String(options.connections), String(options.seconds)]);
    const report = JSON.parse(stdout) as { events: number; flows: number };
    const samples = await daemon.scrape();
    const text = await daemon.scrapeText();
    const eventLoopDelay = await loop.mark(daemon.pid);
    const cpu = sampler.cpuSeconds() - cpuBefore;
    const memory = sampler.memory();
    const losses = SockscopeDaemon.losses(samples);
    const result: FlowsResult = {
      configuration: configuration.name,
      daemonArgs: configuration.daemonArgs,
      nodeArgs: configuration.nodeArgs,
      connections: options.connections,
      flows: report.flows,
      seconds: options.seconds,
      eventsPerSecond: Math.round(report.events / options.seconds),
      idleMemoryKiB: idle,
      memoryKiB: memory,
      ringBufferResidentKiB: mappedRssKiB(daemon.pid, /bpf-ringbuf|anon_inode:bpf/),
      daemonCpuSeconds: round(cpu, 2),
      seriesExported: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
      connectionsOpenedExported: sumOf(samples, 'sockscope_tcp_connections_opened_total', (l) => l.process_executable_name === 'ssb-flows'),
      lost: losses.ringFull + losses.missed + losses.mapFull,
      eventLoopDelay,
    };
    options.log(
      `flows ${result.flows} (${configuration.name}): peak RSS ${round((memory?.peak ?? NaN) / 1024)} MiB (idle ${round((idle?.rss ?? NaN) / 1024)} MiB), ` +
        `ring resident ${round(result.ringBufferResidentKiB / 1024)} MiB, ${result.seriesExported} samples exported, ` +
        `event-loop delay p99 ${eventLoopDelay.p99Ms} ms (max ${eventLoopDelay.maxMs})`,
    );
    return result;
  } finally {
    sampler.stop();
    await daemon.stop();
    loop.remove();
  }
}
