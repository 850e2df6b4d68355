/** Runs the C load generator (bench/native/loadgen.c) and reads its JSON report. */
import { runChild } from './children';
import type { NativeTools } from './native-build';

export type Transport = 'tcp' | 'udp';

/** The process name loadgen gives itself in pingpong mode (what sockscope and bpftrace see). */
export const PINGPONG_COMM = 'ssb-pingpong';

export interface PingpongResult {
  transport: Transport;
  iterations: number;
  /** Successful send + recv calls in the measured part: the traced events. */
  events: number;
  txBytes: number;
  rxBytes: number;
  warmupEvents: number;
  warmupBytes: number;
  /** CPU time of the loadgen thread (user + sys) for the measured part. */
  cpuNs: number;
  wallNs: number;
  userNs: number;
  sysNs: number;
  involuntarySwitches: number;
}

/** The CPU the workload is pinned to (taskset), so runs do not migrate; see docs/performance.md. */
export const WORKLOAD_CPU = 1;

export async function pingpong(tools: NativeTools, transport: Transport, iterations: number): Promise<PingpongResult> {
  const { stdout } = await runChild('taskset', ['-c', String(WORKLOAD_CPU), tools.loadgen, 'pingpong', transport, String(iterations)]);
  return JSON.parse(stdout) as PingpongResult;
}

export interface FloodResult {
  events: number;
  txBytes: number;
  rxBytes: number;
  cpuNs: number;
  wallNs: number;
}

/** `senders` unpinned processes each looping 64-byte UDP send+recv for `seconds`. */
export async function flood(tools: NativeTools, senders: number, seconds: number, transport: Transport = 'udp'): Promise<FloodResult[]> {
  const runs = Array.from({ length: senders }, () => runChild(tools.loadgen, ['flood', transport, String(seconds)]));
  return (await Promise.all(runs)).map((r) => JSON.parse(r.stdout) as FloodResult);
}
