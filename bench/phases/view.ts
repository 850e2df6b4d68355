/**
 * What the view (src/view, /api/v1, the landing page) costs /metrics, through the real
 * daemon, at 1k and 10k series (loadgen's renamed UDP senders, as in phase scrape):
 *
 * - `off`: --ui.enabled=false, the daemon only ingests once a second (the baseline);
 * - `unread`: the default, nobody reads the view: the daemon only ingests too;
 * - `polled`: a client reads /api/v1/snapshot, /api/v1/history and / once a second, as the
 *   live page and `top --from` do, so the view samples the producer's collection once a
 *   second (its history).
 *
 * The three daemons run at the same time, so that on a shared host they see the same
 * traffic and load; the polled one is read all along. Per series level: each daemon's CPU
 * over one spell without scrapes, the same spell for all (polled minus unread is the cost
 * of sampling and of the reads), then /metrics scraped every 250 ms, one daemon after the
 * other: its p50/p99 latency. Then, in-process, the view's own step (SampleBuilder.build on
 * a collection of N series) is timed apart from the collection.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { runChild } from '../lib/children';
import { SockscopeDaemon } from '../lib/daemon';
import type { NativeTools } from '../lib/native-build';
import { cpuSeconds } from '../lib/proc-stats';
import { median, quantile, round } from '../lib/stats';
import { syntheticCollection } from '../tools/scrape-micro';
import { SampleBuilder } from '../../src/view/sample';

const SERIES_PER_NAME = 4;
const MODES = ['off', 'unread', 'polled'] as const;
type ViewMode = (typeof MODES)[number];

export interface ViewLevel {
  mode: ViewMode;
  targetSeries: number;
  /** Daemon CPU, % of one CPU, over a spell without scrapes (the polled daemon still polled), all daemons at once. */
  cpuPercent: number;
  /** Runs saved before the daemons ran side by side: CPU over a quiet spell of that daemon alone. */
  idleCpuPercent?: number;
  scrapes: number;
  p50Ms: number;
  p99Ms: number;
  /** API and page reads during the scraping spell (polled only), and their p50. */
  polls: number;
  pollP50Ms: number;
}

export interface ViewMicro {
  series: number;
  /** SampleBuilder.build on one collection, median ms. */
  buildMs: number;
}

export interface ViewResult {
  seconds: number;
  levels: ViewLevel[];
  micro: ViewMicro[];
}

function timedGet(agent: http.Agent, port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`${urlPath} answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `f` every `periodMs` until `stop` says so; resolves to the results. */
async function every<T>(periodMs: number, until: () => boolean, f: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = performance.now();
  while (!until()) {
    results.push(await f());
    next += periodMs;
    await sleep(Math.max(0, next - performance.now()));
  }
  return results;
}

/** One daemon per mode, all at once: on a shared host they see the same traffic and load. */
interface ModeDaemon {
  mode: ViewMode;
  daemon: SockscopeDaemon;
  scrapeAgent: http.Agent;
  pollAgent: http.Agent;
}

async function poll(d: ModeDaemon): Promise<number> {
  const ms = await timedGet(d.pollAgent, d.daemon.port, '/api/v1/snapshot?group=process&window=10&limit=50');
  await timedGet(d.pollAgent, d.daemon.port, '/api/v1/history?group=process&window=300&limit=10');
  await timedGet(d.pollAgent, d.daemon.port, '/');
  return ms;
}

async function measureModes(tools: NativeTools, seriesCounts: number[], seconds: number, log: (line: string) => void): Promise<ViewLevel[]> {
  const daemons: ModeDaemon[] = [];
  const levels: ViewLevel[] = [];
  let stopPolling = false;
  let pollTimes: number[] = [];
  try {
    for (const mode of MODES) {
      const args = ['--metrics.maxSeries', '100000', '--ebpf.maxFlows', '262144', ...(mode === 'off' ? ['--ui.enabled=false'] : [])];
      // The machine is shared: start-up can take far longer than the usual 30 s.
      const daemon = await SockscopeDaemon.start({ args, readyTimeoutMs: 60_000 });
      daemons.push({ mode, daemon, scrapeAgent: new http.Agent({ keepAlive: true, maxSockets: 1 }), pollAgent: new http.Agent({ keepAlive: true, maxSockets: 1 }) });
    }
    // The polled daemon is read once a second from now on, as an open page reads it: it samples all along.
    const polled = daemons.find((d) => d.mode === 'polled')!;
    const polling = every(1000, () => stopPolling, async () => pollTimes.push(await poll(polled)));
    for (const target of seriesCounts) {
      await runChild(tools.loadgen, ['series', String(Math.ceil(target / SERIES_PER_NAME)), '1']);
      await sleep(1500);
      for (const d of daemons) await timedGet(d.scrapeAgent, d.daemon.port, '/metrics');
      // Daemon CPU over the same spell for all: only the polled one pays for sampling (and its polls).
      const cpuBefore = daemons.map((d) => cpuSeconds(d.daemon.pid) ?? 0);
      await sleep(seconds * 1000);
      const cpu = daemons.map((d, i) => round((((cpuSeconds(d.daemon.pid) ?? cpuBefore[i]!) - cpuBefore[i]!) / seconds) * 100, 2));
      for (const [i, d] of daemons.entries()) {
        pollTimes = [];
        const end = performance.now() + seconds * 1000;
        const times = await every(250, () => performance.now() >= end, () => timedGet(d.scrapeAgent, d.daemon.port, '/metrics'));
        const polls = d.mode === 'polled' ? pollTimes : [];
        const level: ViewLevel = {
          mode: d.mode,
          targetSeries: target,
          cpuPercent: cpu[i]!,
          scrapes: times.length,
          p50Ms: round(quantile(times, 0.5), 1),
          p99Ms: round(quantile(times, 0.99), 1),
          polls: polls.length,
          pollP50Ms: polls.length ? round(median(polls), 1) : 0,
        };
        log(
          `view ${d.mode} at ${target} series: CPU ${level.cpuPercent} %, /metrics p50 ${level.p50Ms} ms p99 ${level.p99Ms} ms` +
            (polls.length ? `, snapshot p50 ${level.pollP50Ms} ms over ${polls.length} polls` : ''),
        );
        levels.push(level);
      }
    }
    stopPolling = true;
    await polling;
  } finally {
    stopPolling = true;
    for (const d of daemons) {
      d.scrapeAgent.destroy();
      d.pollAgent.destroy();
      await d.daemon.stop();
    }
  }
  return levels;
}

function micro(series: number, runs = 15): ViewMicro {
  const collection = { resourceMetrics: syntheticCollection(series), errors: [] };
  const builder = new SampleBuilder();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    builder.build(collection, Date.now());
    times.push(performance.now() - t0);
  }
  return { series, buildMs: round(median(times), 2) };
}

export async function measureView(
  tools: NativeTools,
  options: { seriesCounts: number[]; seconds: number; log: (line: string) => void },
): Promise<ViewResult> {
  const levels = await measureModes(tools, options.seriesCounts, options.seconds, options.log);
  const microResults = options.seriesCounts.map((n) => micro(n));
  for (const m of microResults) options.log(`view sample build at ${m.series} series: ${m.buildMs} ms`);
  return { seconds: options.seconds, levels, micro: microResults };
}
