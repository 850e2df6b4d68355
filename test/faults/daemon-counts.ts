/**
 * For the fault suite: the real daemon on a free port, and what its /metrics says one
 * process moved (bytes, TCP connections), to compare with what that process really did.
 */
import { DaemonProcess } from '../helpers/daemon';
import { parseExposition, sumOf } from '../deploy/helpers/exposition';
import { runTraffic, type ByteCounts } from '../helpers/traffic';

export const SERVING = 'serving Prometheus metrics on /metrics';

export interface ServingDaemon {
  daemon: DaemonProcess;
  port: number;
}

/** `readyTimeoutMs`: a TCG guest of the kernel matrix needs far more than the host. */
export async function startServing(args: string[] = [], readyTimeoutMs = 30_000): Promise<ServingDaemon> {
  const daemon = await DaemonProcess.start(['--prometheus.host=127.0.0.1', '--prometheus.port=0', ...args], SERVING, readyTimeoutMs);
  const port = (await daemon.waitForLog((l) => l.msg === SERVING, 1000)).port as number;
  return { daemon, port };
}

/** What one process name did over TCP/IPv4, or what a daemon exported for it. */
export interface TcpCounts extends ByteCounts {
  /** Connections opened: the client side (active) and the server side (passive). */
  active: number;
  passive: number;
}

export const NO_TCP: TcpCounts = { tx: 0, rx: 0, active: 0, passive: 0 };

export async function exportedFor(port: number, name: string): Promise<TcpCounts> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const samples = parseExposition(await response.text());
  const io = (direction: string): number =>
    sumOf(samples, 'sockscope_network_io_bytes_total', {
      process_executable_name: name, network_transport: 'tcp', network_type: 'ipv4', network_io_direction: direction,
    });
  const opened = (direction: string): number =>
    sumOf(samples, 'sockscope_tcp_connections_opened_total', { process_executable_name: name, sockscope_connection_direction: direction });
  return { tx: io('transmit'), rx: io('receive'), active: opened('active'), passive: opened('passive') };
}

/**
 * Polls until the daemon exports `expected` for `name` (a drain may still be on its way), and
 * returns what it exports at the end, equal or not, for the test to assert on.
 */
export async function settledCounts(port: number, name: string, expected: TcpCounts, timeoutMs = 20_000): Promise<TcpCounts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await exportedFor(port, name);
    const same = seen.tx === expected.tx && seen.rx === expected.rx && seen.active === expected.active && seen.passive === expected.passive;
    if (same || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `runs` TCP exchanges in turn, each one connection from a process named `name`; what they did. */
export async function tcpRuns(name: string, runs: number): Promise<TcpCounts> {
  const done = { ...NO_TCP };
  for (let i = 0; i < runs; i++) addRun(done, await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 1500, messages: 20 }));
  return done;
}

export function addRun(into: TcpCounts, run: Awaited<ReturnType<typeof runTraffic>>): void {
  into.tx += run.tcp.ipv4.tx;
  into.rx += run.tcp.ipv4.rx;
  into.active += 1;
  into.passive += 1;
}
