/** The real `sockscope run` as a child of the bench, listening on 127.0.0.1 only. */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { spawnChild, stopChild, waitForLine } from './children';
import { parseSamples, sumOf, type Sample } from './exposition';
import { NODE_ENVIRONMENT, NODE_FLAGS } from '../../src/runtime-settings';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');

export interface DaemonOptions {
  /** Extra `sockscope run` flags, e.g. ['--probes.mode', 'tracepoint']. */
  args?: string[];
  /** Node flags; default the launchers' (src/runtime-settings.ts): the daemon as users run it. */
  nodeArgs?: string[];
  /** Environment variables over the bench's own; default the launchers'. */
  env?: Record<string, string>;
  /** How long to wait for the daemon to serve; default 30 s (a TCG guest with many vCPUs needs more). */
  readyTimeoutMs?: number;
}

export class SockscopeDaemon {
  private logTail = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.logTail = (this.logTail + chunk.toString()).slice(-8192);
    });
  }

  static async start(options: DaemonOptions = {}): Promise<SockscopeDaemon> {
    const args = [...(options.nodeArgs ?? NODE_FLAGS), CLI, 'run', '--prometheus.host', '127.0.0.1', '--prometheus.port', '0', ...(options.args ?? [])];
    const child = spawnChild(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(options.env ?? NODE_ENVIRONMENT) } });
    child.stderr!.resume();
    try {
      const match = await waitForLine(child, /"port":(\d+),[^\n]*"msg":"serving Prometheus metrics/, options.readyTimeoutMs ?? 30_000, 'sockscope daemon');
      return new SockscopeDaemon(child, Number(match[1]));
    } catch (err) {
      await stopChild(child, 'SIGKILL');
      throw err;
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The /metrics body (a scrape also drains the kernel's sums, so it is up to date). */
  async scrapeText(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.port}/metrics`);
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${await response.text()}`);
    return response.text();
  }

  async scrape(): Promise<Sample[]> {
    return parseSamples(await this.scrapeText());
  }

  /** Bytes exported for one process name, per direction. */
  static bytesOf(samples: readonly Sample[], comm: string): { txBytes: number; rxBytes: number } {
    const of = (direction: string) =>
      sumOf(samples, 'sockscope_network_io_bytes_total', (l) => l.process_executable_name === comm && l.network_io_direction === direction);
    return { txBytes: of('transmit'), rxBytes: of('receive') };
  }

  /** Everything counted as lost or skipped: ring full (events_lost), recursion misses, full tables. */
  static losses(samples: readonly Sample[]): { ringFull: number; missed: number; mapFull: number } {
    return {
      ringFull: sumOf(samples, 'sockscope_ebpf_events_lost_total'),
      missed: sumOf(samples, 'sockscope_ebpf_events_missed_total'),
      mapFull: sumOf(samples, 'sockscope_ebpf_map_full_total'),
    };
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  logs(): string {
    return this.logTail;
  }

  async stop(): Promise<number | null> {
    return stopChild(this.child, 'SIGTERM', 15_000);
  }
}
