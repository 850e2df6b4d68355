/**
 * Scrape cost by number of active series, through the real daemon: loadgen renames
 * itself (prctl PR_SET_NAME "sbNNNNNN") before each 64-byte UDP send + recv on a new
 * socket pair, so every name is a real process name seen by the kernel and becomes 4
 * series (bytes and messages, transmit and receive). The daemon runs with
 * --metrics.maxSeries and --ebpf.maxFlows raised so 50k names are neither folded into the
 * overflow series nor over the flows one interval holds. Series grow 1k -> 10k -> 50k in
 * one daemon; each level is scraped sequentially over a keep-alive connection, the
 * latency being request start to last body byte, as Prometheus would see it.
 *
 * Then, for the same series counts, bench/tools/scrape-micro.ts splits one render into
 * the naming view and the text serializer, and times the OTel serializer it replaced on
 * the same view (in a separate process, on synthetic but same-shaped series).
 */
import path from 'node:path';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { runChild } from '../lib/children';
import { SockscopeDaemon } from '../lib/daemon';
import type { NativeTools } from '../lib/native-build';
import { cpuSeconds } from '../lib/proc-stats';
import { quantile, round } from '../lib/stats';
import type { ScrapeMicroResult } from '../tools/scrape-micro';

/** Series per renamed process: {bytes, messages} x {transmit, receive}. */
const SERIES_PER_NAME = 4;

export interface ScrapeLevel {
  /** Series the generator created (names x 4). */
  targetSeries: number;
  /** Sample lines with a generated process name, and all sample lines, in the body. */
  generatedSeriesExported: number;
  sampleLines: number;
  bodyBytes: number;
  scrapes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  daemonCpuMsPerScrape: number;
  /** In-process render split (bench/tools/scrape-micro.ts), median ms per render. */
  render?: ScrapeMicroResult | LegacyRenderSplit;
}

/** The render split of runs saved while bench/proto/ held prototypes of the view and serializer. */
export interface LegacyRenderSplit {
  viewMs: number;
  fastViewMs: number;
  serializeMs: number;
  fastViewAndCachedSerializeMs: number;
  identicalOutput: boolean;
}

export interface ScrapeResult {
  maxSeriesSetting: number;
  levels: ScrapeLevel[];
}

function timedGet(agent: http.Agent, port: number): Promise<{ ms: number; body: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - start;
        if (res.statusCode !== 200) reject(new Error(`/metrics answered ${res.statusCode}`));
        else resolve({ ms, body: Buffer.concat(chunks).toString() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export async function measureScrape(
  tools: NativeTools,
  options: { seriesCounts: number[]; scrapes: number; log: (line: string) => void },
): Promise<ScrapeResult> {
  const maxSeries = 100_000;
  // 50k names are 100k sockets within a second or two: more flows per interval than the default.
  const daemon = await SockscopeDaemon.start({ args: ['--metrics.maxSeries', String(maxSeries), '--ebpf.maxFlows', '262144'] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const levels: ScrapeLevel[] = [];
  try {
    for (const target of options.seriesCounts) {
      const names = Math.ceil(target / SERIES_PER_NAME);
      await runChild(tools.loadgen, ['series', String(names), '1']);
      // Let the daemon's once-a-second ingest pick everything up, then warm up.
      await new Promise((r) => setTimeout(r, 1500));
      const first = await timedGet(agent, daemon.port);
      const lines = first.body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      const generated = lines.filter((l) => /process_executable_name="sb\d{6}"/.test(l)).length;
      const times: number[] = [];
      let bodyBytes = 0;
      const cpuBefore = cpuSeconds(daemon.pid) ?? 0;
      const scrapes = target >= 50_000 ? Math.max(5, Math.round(options.scrapes / 2)) : options.scrapes;
      for (let i = 0; i < scrapes; i++) {
        const { ms, body } = await timedGet(agent, daemon.port);
        times.push(ms);
        bodyBytes = Buffer.byteLength(body);
      }
      const cpu = (cpuSeconds(daemon.pid) ?? cpuBefore) - cpuBefore;
      const level: ScrapeLevel = {
        targetSeries: names * SERIES_PER_NAME,
        generatedSeriesExported: generated,
        sampleLines: lines.length,
        bodyBytes,
        scrapes,
        p50Ms: round(quantile(times, 0.5), 1),
        p99Ms: round(quantile(times, 0.99), 1),
        maxMs: round(Math.max(...times), 1),
        daemonCpuMsPerScrape: round((cpu * 1000) / scrapes, 1),
      };
      options.log(
        `scrape ${level.generatedSeriesExported} generated series (${level.sampleLines} samples, ${round(bodyBytes / 1024)} KiB): ` +
          `p50 ${level.p50Ms} ms, p99 ${level.p99Ms} ms over ${scrapes}`,
      );
      levels.push(level);
    }
  } finally {
    agent.destroy();
    await daemon.stop();
  }
  for (const level of levels) {
    const { stdout } = await runChild(process.execPath, [path.join(__dirname, '..', 'tools', 'scrape-micro.js'), String(level.targetSeries), '11']);
    level.render = JSON.parse(stdout) as ScrapeMicroResult;
    options.log(`render split at ${level.targetSeries} series: ${stdout.trim()}`);
  }
  return { maxSeriesSetting: maxSeries, levels };
}
