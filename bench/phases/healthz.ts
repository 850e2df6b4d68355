/**
 * Whether the daemon's event loop stays free under load: /healthz latency (answered on
 * the event loop, doing nothing else) while the max-rate senders run, with 10k series
 * exported. Two windows in one daemon: the load alone (the 1 s ingest timer drains), and
 * the load while /metrics is scraped back to back. /healthz is asked every 10 ms over its
 * own keep-alive connection, request start to last byte; the event-loop delay of each
 * window comes from perf_hooks.monitorEventLoopDelay inside the daemon
 * (bench/lib/event-loop.ts).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { runChild } from '../lib/children';
import { SockscopeDaemon } from '../lib/daemon';
import { EventLoopProbe, type EventLoopDelay } from '../lib/event-loop';
import type { NativeTools } from '../lib/native-build';
import { quantile, round } from '../lib/stats';
import { flood } from '../lib/workload';
import { NODE_ENVIRONMENT, NODE_FLAGS } from '../../src/runtime-settings';

/** Series per renamed process (see scrape.ts). */
const SERIES_PER_NAME = 4;

export interface LatencySummary {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface HealthzWindow {
  name: string;
  seconds: number;
  eventsPerSecond: number;
  healthz: LatencySummary;
  /** Back-to-back /metrics latency, in the window that scrapes. */
  metrics?: LatencySummary;
  eventLoopDelay: EventLoopDelay;
}

export interface HealthzResult {
  targetSeries: number;
  /** Sample lines with a generated process name on /metrics before the load. */
  generatedSeriesExported: number;
  senders: number;
  windows: HealthzWindow[];
}

function timedGet(agent: http.Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`${path} answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function summary(times: number[]): LatencySummary {
  return { requests: times.length, p50Ms: round(quantile(times, 0.5), 2), p99Ms: round(quantile(times, 0.99), 2), maxMs: round(Math.max(...times), 1) };
}

/** Asks `path` until `done` settles, every `gapMs` (0: back to back). */
async function poll(port: number, path: string, gapMs: number, done: Promise<unknown>): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let finished = false;
  void done.finally(() => (finished = true));
  const times: number[] = [];
  try {
    while (!finished) {
      times.push(await timedGet(agent, port, path));
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    }
  } finally {
    agent.destroy();
  }
  return times;
}

export async function measureHealthz(
  tools: NativeTools,
  options: { series: number; senders: number; seconds: number; log: (line: string) => void },
): Promise<HealthzResult> {
  const loop = new EventLoopProbe();
  const daemon = await SockscopeDaemon.start({
    args: ['--metrics.maxSeries', '100000', '--ebpf.maxFlows', '262144'],
    nodeArgs: [...NODE_FLAGS, ...loop.nodeArgs],
    env: { ...NODE_ENVIRONMENT, ...loop.env },
  });
  try {
    const names = Math.ceil(options.series / SERIES_PER_NAME);
    await runChild(tools.loadgen, ['series', String(names), '1']);
    await new Promise((r) => setTimeout(r, 1500));
    const body = await daemon.scrapeText();
    const generated = body.split('\n').filter((l) => /process_executable_name="sb\d{6}"/.test(l)).length;
    const windows: HealthzWindow[] = [];
    for (const name of ['max-rate load', 'max-rate load, /metrics back to back'] as const) {
      await loop.mark(daemon.pid);
      const load = flood(tools, options.senders, options.seconds);
      const [healthz, metrics, runs] = await Promise.all([
        poll(daemon.port, '/healthz', 10, load),
        name.includes('/metrics') ? poll(daemon.port, '/metrics', 0, load) : Promise.resolve(undefined),
        load,
      ]);
      const eventLoopDelay = await loop.mark(daemon.pid);
      const window: HealthzWindow = {
        name,
        seconds: options.seconds,
        eventsPerSecond: Math.round(runs.reduce((s, r) => s + r.events, 0) / options.seconds),
        healthz: summary(healthz),
        metrics: metrics && summary(metrics),
        eventLoopDelay,
      };
      options.log(
        `healthz (${name}, ${generated} generated series): p50 ${window.healthz.p50Ms} ms, p99 ${window.healthz.p99Ms} ms over ${healthz.length}` +
          (window.metrics ? `; /metrics p50 ${window.metrics.p50Ms} ms, p99 ${window.metrics.p99Ms} ms over ${window.metrics.requests}` : '') +
          `; event-loop delay p99 ${eventLoopDelay.p99Ms} ms, max ${eventLoopDelay.maxMs} ms`,
      );
      windows.push(window);
    }
    return { targetSeries: names * SERIES_PER_NAME, generatedSeriesExported: generated, senders: options.senders, windows };
  } finally {
    await daemon.stop();
    loop.remove();
  }
}
