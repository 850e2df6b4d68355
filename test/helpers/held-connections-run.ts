/**
 * One run of "N concurrent connections against a running daemon", shared by the
 * 100k-connections e2e test (which asserts on it) and the bench's connections phase
 * (which reports it): opens them, reads the active gauge of each process until it has
 * them all, measures the daemon's memory and /metrics latency while they are held,
 * closes them, and reads the gauge until it is back to 0.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseExposition, sumOf, type Sample } from '../deploy/helpers/exposition';
import { HeldConnections } from './held-connections';
import { uniqueProcessName } from './traffic';

export interface DaemonHandle {
  pid: number;
  /** GET /metrics, the body. */
  scrape(): Promise<string>;
}

export interface HeldConnectionsRun {
  total: number;
  ratePerSecond: number;
  /** Active gauge of the client and server processes (by name) once every connection was open... */
  held: { client: number; server: number };
  /** ...and once every connection was closed. */
  closed: { client: number; server: number };
  /** Seconds from the first connect until the gauge had them all, and from the first close until it was 0. */
  secondsToHeld: number;
  secondsToClosed: number;
  /** Daemon VmRSS before the connections, while held, and its VmHWM (peak) at the end, MiB. */
  rssMiB: { before: number; held: number; peak: number };
  /** Sequential scrapes while held. */
  scrape: { scrapes: number; p50Ms: number; p99Ms: number; maxMs: number; bodyBytes: number };
  /** Self-metrics of loss, at the end (0 for the gauge to be exact by construction), and what reconciliation corrected. */
  losses: { eventsLost: number; missed: number; mapFull: Record<string, number>; reconciled: { closed: number; opened: number } };
}

const MIB = 1024;

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

const activeOf = (samples: readonly Sample[], comm: string) =>
  sumOf(samples, 'sockscope_tcp_connections_active', { process_executable_name: comm });

/** Scrapes until `done` holds for the gauges of both processes, or until `timeoutMs`; returns the last ones. */
async function waitForGauges(
  daemon: DaemonHandle,
  names: { client: string; server: string },
  done: (g: { client: number; server: number }) => boolean,
  timeoutMs: number,
): Promise<{ client: number; server: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = parseExposition(await daemon.scrape());
    const gauges = { client: activeOf(samples, names.client), server: activeOf(samples, names.server) };
    if (done(gauges) || Date.now() > deadline) return gauges;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function runHeldConnections(
  daemon: DaemonHandle,
  options: {
    total: number;
    processes: number;
    /** Opened and closed per second, over all clients (0: as fast as they go). */
    ratePerSecond: number;
    scrapes: number;
    settleTimeoutMs?: number;
    log?: (line: string) => void;
  },
): Promise<HeldConnectionsRun> {
  const log = options.log ?? (() => undefined);
  const settleTimeoutMs = options.settleTimeoutMs ?? 180_000;
  const names = { client: uniqueProcessName('ssheldc'), server: uniqueProcessName('sshelds') };
  const rssBefore = statusKiB(daemon.pid, 'VmRSS');
  const t0 = performance.now();
  const held = await HeldConnections.open({ total: options.total, processes: options.processes, ratePerSecond: options.ratePerSecond, serverName: names.server, clientName: names.client });
  try {
    log(`${options.total} connections open in ${round1((performance.now() - t0) / 1000)} s`);
    const heldGauges = await waitForGauges(daemon, names, (g) => g.client === options.total && g.server === options.total, settleTimeoutMs);
    const secondsToHeld = round1((performance.now() - t0) / 1000);
    log(`active gauge: client ${heldGauges.client}, server ${heldGauges.server} after ${secondsToHeld} s`);

    const times: number[] = [];
    let bodyBytes = 0;
    for (let i = 0; i < options.scrapes; i++) {
      const start = performance.now();
      bodyBytes = Buffer.byteLength(await daemon.scrape());
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const rssHeld = statusKiB(daemon.pid, 'VmRSS');

    const t1 = performance.now();
    const closedByProcesses = await held.close();
    if (closedByProcesses.client !== options.total || closedByProcesses.server !== options.total) {
      throw new Error(`closed ${JSON.stringify(closedByProcesses)} of ${options.total}`);
    }
    const closedGauges = await waitForGauges(daemon, names, (g) => g.client === 0 && g.server === 0, settleTimeoutMs);
    const secondsToClosed = round1((performance.now() - t1) / 1000);
    log(`active gauge after closing: client ${closedGauges.client}, server ${closedGauges.server} after ${secondsToClosed} s`);

    const samples = parseExposition(await daemon.scrape());
    const mapFull: Record<string, number> = {};
    for (const s of samples) {
      if (s.name === 'sockscope_ebpf_map_full_total') mapFull[s.labels.sockscope_ebpf_map ?? '?'] = s.value;
    }
    return {
      total: options.total,
      ratePerSecond: options.ratePerSecond,
      held: heldGauges,
      closed: closedGauges,
      secondsToHeld,
      secondsToClosed,
      rssMiB: { before: round1(rssBefore / MIB), held: round1(rssHeld / MIB), peak: round1(statusKiB(daemon.pid, 'VmHWM') / MIB) },
      scrape: {
        scrapes: times.length,
        p50Ms: round1(quantile(times, 0.5)),
        p99Ms: round1(quantile(times, 0.99)),
        maxMs: round1(times[times.length - 1]!),
        bodyBytes,
      },
      losses: {
        eventsLost: sumOf(samples, 'sockscope_ebpf_events_lost_total', {}),
        missed: sumOf(samples, 'sockscope_ebpf_events_missed_total', {}),
        mapFull,
        reconciled: {
          closed: sumOf(samples, 'sockscope_tcp_connections_reconciled_total', { sockscope_reconciled_as: 'closed' }),
          opened: sumOf(samples, 'sockscope_tcp_connections_reconciled_total', { sockscope_reconciled_as: 'opened' }),
        },
      },
    };
  } finally {
    await held.dispose().catch(() => held.kill());
  }
}
