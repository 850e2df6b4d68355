import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Transport = 'tcp' | 'udp';
export type IpFamily = 'ipv4' | 'ipv6';

export interface TrafficRequest {
  /** Process name (kernel comm); at most 15 characters so the kernel keeps all of it. */
  name: string;
  transport: Transport;
  family: IpFamily;
  messageSize: number;
  messages: number;
}

export interface TrafficOptions extends TrafficRequest {
  /**
   * Run the child in a new network namespace with its own loopback. Done
   * automatically for IPv6 when this machine's lo has no ::1; needs root.
   */
  isolateNetwork?: boolean;
  timeoutMs?: number;
}

export interface ByteCounts {
  /** Bytes this process wrote into sockets. */
  tx: number;
  /** Bytes this process read from sockets. */
  rx: number;
}

export interface Endpoint {
  address: string;
  port: number;
}

/** What the child printed: its identity and exactly what it moved through sockets. */
export interface TrafficSummary {
  pid: number;
  /** The child's /proc/self/comm, read after it set its title. */
  comm: string;
  tcp: Record<IpFamily, ByteCounts>;
  udp: Record<IpFamily, ByteCounts>;
  /** UDP only: datagrams sent and received (one per send/recv syscall). */
  datagrams?: ByteCounts;
  /** Local endpoints of the server and client side of the exchange. */
  server: Endpoint;
  client: Endpoint;
}

export type TrafficResult = TrafficSummary;

const CHILD_SCRIPT = join(__dirname, '..', 'fixtures', 'traffic-child.js');
const MAX_COMM_LENGTH = 15;

/** Runs the traffic child to completion and returns its summary. */
export async function runTraffic(options: TrafficOptions): Promise<TrafficResult> {
  const { isolateNetwork, timeoutMs = 60_000, ...request } = options;
  if (request.name.length === 0 || request.name.length > MAX_COMM_LENGTH) {
    throw new Error(`process name must be 1..${MAX_COMM_LENGTH} characters: ${JSON.stringify(request.name)}`);
  }
  const isolate = isolateNetwork ?? (request.family === 'ipv6' && !ipv6LoopbackAvailable());
  const node = [process.execPath, CHILD_SCRIPT, JSON.stringify(request)];
  const [command, ...args] = isolate ? inNewNetworkNamespace(node) : node;
  const { code, stdout, stderr } = await runToExit(command as string, args, timeoutMs);
  if (code !== 0) {
    throw new Error(`traffic child exited with ${code}: ${stderr || stdout}`);
  }
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  const summary = JSON.parse(lastLine) as TrafficSummary;
  if (summary.comm !== request.name) {
    throw new Error(`traffic child comm is ${JSON.stringify(summary.comm)}, expected ${JSON.stringify(request.name)}`);
  }
  return summary;
}

/** What runTraffic must report for a request: every message goes out and is echoed back. */
export function expectedTraffic(request: Pick<TrafficRequest, 'messageSize' | 'messages'>): ByteCounts {
  const oneWay = request.messageSize * request.messages;
  return { tx: 2 * oneWay, rx: 2 * oneWay };
}

/** A process name no other process on the machine is likely to have, <= 15 characters. */
export function uniqueProcessName(prefix: string): string {
  const suffix = randomBytes(4).toString('hex').slice(0, 6);
  return `${prefix.slice(0, MAX_COMM_LENGTH - suffix.length - 1)}-${suffix}`;
}

/** Whether ::1 is configured on lo in this network namespace. */
export function ipv6LoopbackAvailable(): boolean {
  try {
    return readFileSync('/proc/net/if_inet6', 'utf8')
      .split('\n')
      .some((line) => /^0{31}1\s.*\slo$/.test(line.trim()));
  } catch {
    return false; // no /proc/net/if_inet6: IPv6 is disabled in this kernel
  }
}

/** Wraps a command so it runs in a fresh network namespace whose lo is up (127.0.0.1 and ::1). */
function inNewNetworkNamespace(command: string[]): string[] {
  if (process.getuid?.() !== 0) {
    throw new Error('IPv6 loopback is missing here, and a network namespace to provide it needs root');
  }
  return ['unshare', '--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...command];
}

function runToExit(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`traffic child did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
