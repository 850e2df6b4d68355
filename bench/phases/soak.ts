/**
 * Soak (issue 15, fault suite): the real daemon at its defaults for 10 minutes under the highest
 * rate the load generators reach here (max-rate's best: 2 UDP flood senders on this 2-CPU host),
 * plus a churn of short-lived sockets under 200 process names every 5 s, with /metrics scraped
 * every second. RSS (median of the first and of the last 30 one-second samples after a warm-up),
 * series and BPF map entries over time say whether anything grows without bound; the flood's
 * bytes, exported against sent, whether counting kept up.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { mapIdsHeldBy } from '../../test/helpers/bpftool';
import { runChild } from '../lib/children';
import { SockscopeDaemon } from '../lib/daemon';
import { sumOf, type Sample } from '../lib/exposition';
import type { NativeTools } from '../lib/native-build';
import { memoryKiB } from '../lib/proc-stats';
import { median, quantile, round } from '../lib/stats';
import { flood } from '../lib/workload';

const FLOOD_COMM = 'ssb-flood';
const WINDOW_SAMPLES = 30;
const CHURN_NAMES = 200;
const CHURN_EVERY_MS = 5000;

export interface SoakMinute {
  minute: number;
  rssKiB: number;
  /** Sum of sockscope_metrics_series: the series the daemon holds. */
  series: number;
  /** Entries of each hash map the daemon holds, by the kernel's name for the map. */
  mapEntries: Record<string, number>;
  /** Sum of sockscope_ebpf_map_memory_bytes. */
  mapMemoryBytes: number;
  /** /metrics time over the minute's scrapes. */
  scrapeMsP50: number;
  scrapeMsMax: number;
  loadAverage1m: number;
}

export interface SoakResult {
  minutes: number;
  warmupSeconds: number;
  senders: number;
  floodEventsPerSecond: number;
  scrapes: number;
  /** /metrics time over the measured minutes. */
  scrapeMsP50: number;
  scrapeMsP99: number;
  scrapeFailures: string[];
  rssStartKiB: number;
  rssEndKiB: number;
  rssPeakKiB: number;
  rssGrowthPercent: number;
  seriesStart: number;
  seriesEnd: number;
  seriesMax: number;
  timeline: SoakMinute[];
  losses: { ringFull: number; missed: number; mapFull: number; seriesOverflow: number };
  /** The flood's bytes as loadgen counted them and as the daemon exported them for its name. */
  flood: { sentTx: number; sentRx: number; exportedTx: number; exportedRx: number; exact: boolean };
  daemonExitCode: number | null;
}

/** Entries of each hash-type map the daemon holds (bpftool map dump; the ring buffer and arrays have none to count). */
function hashMapEntries(pid: number): Record<string, number> {
  const entries: Record<string, number> = {};
  for (const id of mapIdsHeldBy(pid)) {
    const info = JSON.parse(execFileSync('bpftool', ['--json', 'map', 'show', 'id', String(id)], { encoding: 'utf8' })) as { name?: string; type: string };
    if (!info.type.includes('hash')) continue;
    const rows = JSON.parse(execFileSync('bpftool', ['--json', 'map', 'dump', 'id', String(id)], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 })) as unknown[];
    const name = info.name ?? `id${id}`;
    entries[name] = (entries[name] ?? 0) + rows.length;
  }
  return entries;
}

const seriesOf = (samples: readonly Sample[]): number => sumOf(samples, 'sockscope_metrics_series');

export async function measureSoak(tools: NativeTools, options: { minutes: number; warmupSeconds: number; senders: number; log: (line: string) => void }): Promise<SoakResult> {
  const { minutes, warmupSeconds, senders, log } = options;
  const daemon = await SockscopeDaemon.start();
  const floodSeconds = warmupSeconds + minutes * 60 + 2;
  const floodRuns = flood(tools, senders, floodSeconds);
  let churning = true;
  const churn = (async () => {
    while (churning) {
      await runChild(tools.loadgen, ['series', String(CHURN_NAMES), '1']);
      await new Promise((r) => setTimeout(r, CHURN_EVERY_MS));
    }
  })();

  const rss: number[] = [];
  const scrapeMs: number[] = [];
  const scrapeFailures: string[] = [];
  const timeline: SoakMinute[] = [];
  const series: number[] = [];
  let last: Sample[] = [];
  let scrapes = 0;
  try {
    const started = Date.now();
    const measureFrom = started + warmupSeconds * 1000;
    const end = measureFrom + minutes * 60_000;
    let minuteScrapes: number[] = [];
    let nextMinute = measureFrom + 60_000;
    const addMinute = (): void => {
      const row: SoakMinute = {
        minute: timeline.length + 1,
        rssKiB: rss.at(-1)!,
        series: series.at(-1) ?? NaN,
        mapEntries: hashMapEntries(daemon.pid),
        mapMemoryBytes: sumOf(last, 'sockscope_ebpf_map_memory_bytes'),
        scrapeMsP50: round(median(minuteScrapes), 1),
        scrapeMsMax: Math.max(...minuteScrapes),
        loadAverage1m: round(os.loadavg()[0]!, 2),
      };
      timeline.push(row);
      log(`soak minute ${row.minute}: RSS ${round(row.rssKiB / 1024)} MiB, ${row.series} series, map entries ${JSON.stringify(row.mapEntries)}, scrape p50 ${row.scrapeMsP50} ms, load ${row.loadAverage1m}`);
      minuteScrapes = [];
    };
    log(`soak: ${senders} flood senders and socket churn; ${warmupSeconds} s warm-up, then ${minutes} min with a scrape every second`);
    while (Date.now() < end) {
      const tick = Date.now();
      try {
        last = await daemon.scrape();
        const ms = Date.now() - tick;
        scrapes += 1;
        if (tick >= measureFrom) {
          scrapeMs.push(ms);
          minuteScrapes.push(ms);
          series.push(seriesOf(last));
        }
      } catch (err) {
        scrapeFailures.push(`${new Date().toISOString()}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (tick >= measureFrom) rss.push(memoryKiB(daemon.pid)?.rss ?? NaN);
      if (Date.now() >= nextMinute) {
        addMinute();
        nextMinute += 60_000;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, tick + 1000 - Date.now())));
    }
    // The last minute's row, when the loop ended just before it was due.
    if (timeline.length < minutes) addMinute();
    churning = false;
    await churn;
    const runs = await floodRuns;
    const final = await daemon.scrape();
    const sentTx = runs.reduce((s, r) => s + r.txBytes, 0);
    const sentRx = runs.reduce((s, r) => s + r.rxBytes, 0);
    const { txBytes: exportedTx, rxBytes: exportedRx } = SockscopeDaemon.bytesOf(final, FLOOD_COMM);
    const rssStartKiB = median(rss.slice(0, WINDOW_SAMPLES));
    const rssEndKiB = median(rss.slice(-WINDOW_SAMPLES));
    const losses = SockscopeDaemon.losses(final);
    return {
      minutes,
      warmupSeconds,
      senders,
      floodEventsPerSecond: Math.round(runs.reduce((s, r) => s + r.events, 0) / floodSeconds),
      scrapes,
      scrapeMsP50: round(median(scrapeMs), 1),
      scrapeMsP99: round(quantile(scrapeMs, 0.99), 1),
      scrapeFailures,
      rssStartKiB,
      rssEndKiB,
      rssPeakKiB: memoryKiB(daemon.pid)?.peak ?? NaN,
      rssGrowthPercent: round(((rssEndKiB - rssStartKiB) / rssStartKiB) * 100, 1),
      seriesStart: median(series.slice(0, WINDOW_SAMPLES)),
      seriesEnd: median(series.slice(-WINDOW_SAMPLES)),
      seriesMax: Math.max(...series),
      timeline,
      losses: { ...losses, seriesOverflow: sumOf(final, 'sockscope_metrics_series_overflow_total') },
      flood: { sentTx, sentRx, exportedTx, exportedRx, exact: sentTx === exportedTx && sentRx === exportedRx },
      daemonExitCode: await daemon.stop(),
    };
  } finally {
    churning = false;
    await churn.catch(() => undefined);
    await floodRuns.catch(() => undefined);
    await daemon.stop();
  }
}
