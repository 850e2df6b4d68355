/**
 * The collector-down fault, shared by its CI test (2 minutes) and the bench phase (10):
 * the real gRPC receiver is stopped while a process keeps sending, then started again on the
 * same port. Measures the daemon's RSS, what it logged and counted during the outage, how long
 * pushes took to resume, and whether the totals the receiver then gets are exact.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DaemonProcess, type DaemonLogLine } from '../helpers/daemon';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { runTraffic, uniqueProcessName, type ByteCounts } from '../helpers/traffic';

export interface CollectorDownOptions {
  outageMs: number;
  /** otlp.interval of the daemon. */
  intervalMs: number;
  /** Steady traffic and successful pushes before the outage, so that RSS has settled. */
  warmupMs: number;
  log?: (line: string) => void;
}

export interface CollectorDownResult {
  outageSeconds: number;
  intervalMs: number;
  /**
   * VmRSS, the median of the samples (every 2 s) of the last 10 s before the outage and of the
   * last 10 s of the outage (one sample sits on the garbage collector's sawtooth), and the most seen.
   */
  rssAtOutageStartKiB: number;
  rssAtOutageEndKiB: number;
  rssMaxDuringOutageKiB: number;
  rssGrowthPercent: number;
  /**
   * Series the daemon exported (sum of sockscope_metrics_series) at the start and end of the
   * outage: the daemon sees the whole host, and other work's new series cost memory too.
   */
  seriesAtOutageStart: number;
  seriesAtOutageEnd: number;
  /** Pushes the receiver got before it stopped. */
  receivedBeforeOutage: number;
  /** sockscope_otlp_exports_total by error_type when the receiver stopped ('' = success). */
  exportsBeforeOutage: Record<string, number>;
  /** Every line the daemon logged during the outage. */
  outageLogLines: DaemonLogLine[];
  /** sockscope_otlp_exports_total by error_type at the end of the outage ('' = success). */
  exportsByErrorType: Record<string, number>;
  /** From the receiver's restart to the first push it got. */
  recoverySeconds: number;
  recoveryLog?: DaemonLogLine;
  /** Traffic runs made, and the bytes they moved (the exact totals). */
  trafficRuns: number;
  sent: ByteCounts;
  /** What the receiver's last push says for the sending process. */
  received: ByteCounts;
  daemonExitCode: number | null;
}

const rssKiB = (pid: number): number => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const RSS_SAMPLE_MS = 2000;
const RSS_SAMPLES = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** RSS samples every RSS_SAMPLE_MS for `ms`. */
async function sampleRss(pid: number, ms: number): Promise<number[]> {
  const samples: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(Math.min(RSS_SAMPLE_MS, Math.max(0, end - Date.now())));
    samples.push(rssKiB(pid));
  }
  return samples;
}

/** sockscope_otlp_exports_total by error_type ('' = success) and the series exported, from the daemon's /metrics. */
async function selfMetrics(port: number): Promise<{ exports: Record<string, number>; series: number }> {
  const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const exports: Record<string, number> = {};
  for (const m of exposition.matchAll(/^sockscope_otlp_exports_total(?:\{error_type="([^"]*)"\})? (\d+)$/gm)) {
    exports[m[1] ?? ''] = Number(m[2]);
  }
  const series = [...exposition.matchAll(/^sockscope_metrics_series\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  return { exports, series };
}

export async function runCollectorDown(options: CollectorDownOptions): Promise<CollectorDownResult> {
  const log = options.log ?? (() => undefined);
  const receiver = await OtlpReceiver.start({ keepLast: 3 });
  const daemon = await DaemonProcess.start(
    ['--prometheus.host=127.0.0.1', '--prometheus.port=0', '--otlp.endpoint', receiver.endpoint, '--otlp.interval', `${options.intervalMs}ms`],
    'pushing OTLP metrics',
    30_000,
    { asLaunched: true },
  );
  const name = uniqueProcessName('sscolldn');
  const sent: ByteCounts = { tx: 0, rx: 0 };
  let trafficRuns = 0;
  let sending = true;
  // Steady traffic: one short exchange after another, from processes of one name.
  const traffic = (async () => {
    while (sending) {
      const run = await runTraffic({ name, transport: 'udp', family: 'ipv4', messageSize: 1000, messages: 50 });
      sent.tx += run.udp.ipv4.tx;
      sent.rx += run.udp.ipv4.rx;
      trafficRuns += 1;
      await sleep(200);
    }
  })();
  const received = (): ByteCounts => {
    const total = (direction: string): number => {
      const points = receiver.dataPoints('sockscope.network.io', { 'process.executable.name': name, 'network.io.direction': direction });
      if (points.length === 0) return 0;
      const last = Math.max(...points.map((p) => p.requestIndex));
      return points.filter((p) => p.requestIndex === last).reduce((n, p) => n + p.value, 0);
    };
    return { tx: total('transmit'), rx: total('receive') };
  };
  try {
    const port = (await daemon.waitForLog((l) => l.msg === 'serving Prometheus metrics on /metrics', 1000)).port as number;
    await receiver.waitFor(() => received().tx > 0, 120_000);
    const window = RSS_SAMPLE_MS * RSS_SAMPLES;
    await sleep(Math.max(0, options.warmupMs - window));
    const rssAtOutageStartKiB = median(await sampleRss(daemon.pid, window));

    const logsBefore = daemon.logs.length;
    const { exports: exportsBeforeOutage, series: seriesAtOutageStart } = await selfMetrics(port);
    await receiver.stop();
    const receivedBeforeOutage = receiver.received;
    const outageStart = Date.now();
    log(`collector down: receiver stopped for ${options.outageMs / 1000} s, daemon RSS ${rssAtOutageStartKiB} KiB`);
    const samples = await sampleRss(daemon.pid, options.outageMs);
    const rssAtOutageEndKiB = median(samples.slice(-RSS_SAMPLES));
    const rssMaxDuringOutageKiB = Math.max(...samples);
    const outageLogLines = daemon.logs.slice(logsBefore);
    const { exports: exportsAtOutageEnd, series: seriesAtOutageEnd } = await selfMetrics(port);

    await receiver.restart();
    const restarted = Date.now();
    log(`collector down: receiver back after ${(restarted - outageStart) / 1000} s; waiting for pushes`);
    // gRPC reconnects on its own backoff, which has grown during the outage (at most 120 s).
    await receiver.waitFor((r) => r.received > receivedBeforeOutage, 180_000);
    const recoverySeconds = (Date.now() - restarted) / 1000;
    log(`collector down: pushes resumed ${recoverySeconds} s after the receiver came back`);
    sending = false;
    await traffic;
    await receiver.waitFor(() => received().tx === sent.tx && received().rx === sent.rx, 120_000).catch((err: Error) => log(err.message.slice(0, 300)));
    // The daemon logs it when the answer to that push reaches it, after the receiver has it.
    const recovered = (l: DaemonLogLine) => l.msg === 'OTLP export recovered' && daemon.logs.indexOf(l) >= logsBefore;
    const recoveryLog = await daemon.waitForLog(recovered, 30_000).catch(() => undefined);
    return {
      outageSeconds: options.outageMs / 1000,
      intervalMs: options.intervalMs,
      rssAtOutageStartKiB,
      rssAtOutageEndKiB,
      rssMaxDuringOutageKiB,
      rssGrowthPercent: Math.round(((rssAtOutageEndKiB - rssAtOutageStartKiB) / rssAtOutageStartKiB) * 1000) / 10,
      seriesAtOutageStart,
      seriesAtOutageEnd,
      receivedBeforeOutage,
      outageLogLines,
      exportsBeforeOutage,
      exportsByErrorType: exportsAtOutageEnd,
      recoverySeconds,
      recoveryLog,
      trafficRuns,
      sent,
      received: received(),
      daemonExitCode: await daemon.stop(),
    };
  } finally {
    sending = false;
    await traffic.catch(() => undefined);
    await daemon.stop();
    await receiver.stop();
  }
}
