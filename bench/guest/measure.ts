/**
 * Runs inside a kernel-matrix guest (or on any host, as root): what the sockscope daemon at its
 * defaults costs the kernel in memory, idle and with many active sockets, and what its drain
 * costs in CPU per event rate. bench/phases/guest.ts boots the guests and collects the files.
 *
 *   node dist/bench/guest/measure.js --out FILE [--connections N --seconds S]
 *
 * Memory: /proc/meminfo before the daemon starts and after it is up (Percpu, VmallocUsed, Slab
 * deltas) and the memlock of every map the daemon holds (fdinfo, named by bpftool). With
 * --connections, `loadgen flows N S` (N loopback TCP connections, 2N active sockets, 64 bytes each
 * way per connection per second; pinned to vCPU 1, the daemon to vCPU 0) runs against it: the
 * daemon's CPU (/proc/<pid>/stat) over the steady part, the event rate loadgen made, and the
 * memory readings again at their peak during it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SockscopeDaemon } from '../lib/daemon';
import {
  mapsHeldBy,
  meminfoDelta,
  namedMapsHeldBy,
  possibleCpus,
  readMeminfo,
  totalMemlock,
  type MapMemory,
  type Meminfo,
} from '../lib/kernel-memory';
import { cpuSeconds, memoryKiB } from '../lib/proc-stats';
import { runChild } from '../lib/children';
import { round } from '../lib/stats';

const LOADGEN = path.join(__dirname, '..', 'native', 'loadgen');
const IDLE_SECONDS = 5;

export interface MemoryReading {
  /** /proc/meminfo now minus before the daemon started, KiB. */
  meminfoDeltaKiB: Meminfo;
  /** Sum of the memlock of every map the daemon holds. */
  mapsMemlockBytes: number;
  maps: MapMemory[];
}

export interface DrainReading {
  connections: number;
  activeSockets: number;
  /** Wall time of the steady part (every connection open), seconds. */
  seconds: number;
  events: number;
  eventsPerSecond: number;
  daemonCpuSeconds: number;
  /** Daemon CPU as a fraction of one CPU, per 100k events/s: (cpu s / wall s) / (events/s / 100k). */
  daemonCpuPer100kEventsPerSecond: number;
  /** Bytes loadgen moved and bytes sockscope exported for it: the drain must stay exact. */
  loadgenBytes: number;
  exportedBytes: number;
  lost: number;
  /** Memory during the steady part, sockets open: the once-a-second reading with the most map memlock. */
  memory: MemoryReading;
}

export interface GuestMeasurement {
  kernel: string;
  possibleCpus: number;
  onlineCpus: number;
  node: string;
  meminfoBeforeKiB: Meminfo;
  idle: MemoryReading & { daemonCpuSeconds: number; seconds: number; daemonRssKiB: number };
  drain?: DrainReading;
  /** /proc/meminfo after the daemon stopped minus before it started (what was not given back yet). */
  afterStopDeltaKiB: Meminfo;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => {
  process.stderr.write(`[guest ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function memoryReading(pid: number, before: Meminfo): Promise<MemoryReading> {
  const maps = await namedMapsHeldBy(pid);
  return { meminfoDeltaKiB: meminfoDelta(readMeminfo(), before), mapsMemlockBytes: totalMemlock(maps), maps };
}

/** Per-map memlock now, named from an earlier bpftool listing (bpftool is too slow to run every second under TCG). */
function heldMaps(pid: number, named: readonly MapMemory[]): MapMemory[] {
  const names = new Map(named.map((m) => [m.id, m.name]));
  return [...mapsHeldBy(pid).values()].map((m) => ({ ...m, name: names.get(m.id) ?? '' })).sort((a, b) => b.memlockBytes - a.memlockBytes);
}

async function drain(daemon: SockscopeDaemon, before: Meminfo, idleMaps: readonly MapMemory[], connections: number, seconds: number): Promise<DrainReading> {
  // loadgen on vCPU 1, the daemon on vCPU 0 (main): two busy vCPUs whatever the guest's count.
  const loadgen = spawn('taskset', ['-c', '1', LOADGEN, 'flows', String(connections), String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let start: { cpu: number; at: number } | undefined;
  loadgen.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  loadgen.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    if (!start && stderr.includes('connected\n')) start = { cpu: cpuSeconds(daemon.pid)!, at: performance.now() };
  });
  const exited = once(loadgen, 'close');
  // Memory while every socket is open, read once a second: the reading with the most map memory
  // (maps that allocate on use hold the sockets active since the last swap).
  let peak: MemoryReading | undefined;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    await Promise.race([sleep(1000), exited]);
    if (!done && start) {
      const maps = heldMaps(daemon.pid, idleMaps);
      const reading = { meminfoDeltaKiB: meminfoDelta(readMeminfo(), before), mapsMemlockBytes: totalMemlock(maps), maps };
      if (!peak || reading.mapsMemlockBytes > peak.mapsMemlockBytes) peak = reading;
    }
  }
  const end = { cpu: cpuSeconds(daemon.pid)!, at: performance.now() };
  const [code] = (await exited) as [number | null];
  if (code !== 0 || !start) throw new Error(`loadgen flows exited with ${code}: ${stderr.trim()}`);
  const report = JSON.parse(stdout) as { events: number; txBytes: number; rxBytes: number };
  const samples = await daemon.scrape();
  const exported = SockscopeDaemon.bytesOf(samples, 'ssb-flows');
  const losses = SockscopeDaemon.losses(samples);
  const wall = (end.at - start.at) / 1000;
  const cpu = end.cpu - start.cpu;
  const eventsPerSecond = report.events / wall;
  return {
    connections,
    activeSockets: 2 * connections,
    seconds: round(wall, 2),
    events: report.events,
    eventsPerSecond: Math.round(eventsPerSecond),
    daemonCpuSeconds: round(cpu, 2),
    daemonCpuPer100kEventsPerSecond: round(cpu / wall / (eventsPerSecond / 100_000), 4),
    loadgenBytes: report.txBytes + report.rxBytes,
    exportedBytes: exported.txBytes + exported.rxBytes,
    lost: losses.ringFull + losses.missed + losses.mapFull,
    memory: peak ?? (await memoryReading(daemon.pid, before)),
  };
}

function parseArgs(argv: string[]): { out: string; connections: number; seconds: number } {
  const args = { out: '', connections: 0, seconds: 30 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[++i];
    if (value === undefined) throw new Error(`${argv[i - 1]} needs a value`);
    if (argv[i - 1] === '--out') args.out = value;
    else if (argv[i - 1] === '--connections') args.connections = Number(value);
    else if (argv[i - 1] === '--seconds') args.seconds = Number(value);
    else throw new Error(`unknown argument ${argv[i - 1]}`);
  }
  if (!args.out) throw new Error('--out FILE is required');
  for (const [flag, n] of [['--connections', args.connections], ['--seconds', args.seconds]] as const) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got ${n}`);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await sleep(2000); // let the boot's own allocations settle
  const before = readMeminfo();
  log(`${os.release()}, ${possibleCpus()} possible CPUs: starting the daemon at its defaults`);
  // Node and the BPF load are slow under TCG with many vCPUs on a 2-CPU host.
  const daemon = await SockscopeDaemon.start({ readyTimeoutMs: 600_000 });
  try {
    // All its threads on vCPU 0: TCG counts a vCPU's time as CPU time while the host has it
    // descheduled, so threads spread over 16 vCPUs of a 2-CPU host would bill more than on 2.
    await runChild('taskset', ['-a', '-p', '-c', '0', String(daemon.pid)]);
    const cpu0 = cpuSeconds(daemon.pid)!;
    await sleep(IDLE_SECONDS * 1000);
    const idleCpu = cpuSeconds(daemon.pid)! - cpu0;
    const idle = { ...(await memoryReading(daemon.pid, before)), daemonCpuSeconds: round(idleCpu, 2), seconds: IDLE_SECONDS, daemonRssKiB: memoryKiB(daemon.pid)?.rss ?? NaN };
    log(`idle: maps ${round(idle.mapsMemlockBytes / 2 ** 20)} MiB memlock, Percpu +${round(idle.meminfoDeltaKiB.Percpu / 1024)} MiB`);
    let drainReading: DrainReading | undefined;
    if (args.connections > 0) {
      log(`drain: ${args.connections} connections for ${args.seconds} s`);
      drainReading = await drain(daemon, before, idle.maps, args.connections, args.seconds);
      log(`drain: ${drainReading.eventsPerSecond} events/s, daemon CPU ${drainReading.daemonCpuPer100kEventsPerSecond} per 100k events/s`);
    }
    await daemon.stop();
    await sleep(2000); // freed maps go after an RCU grace period
    const result: GuestMeasurement = {
      kernel: os.release(),
      possibleCpus: possibleCpus(),
      onlineCpus: os.cpus().length,
      node: process.version,
      meminfoBeforeKiB: before,
      idle,
      drain: drainReading,
      afterStopDeltaKiB: meminfoDelta(readMeminfo(), before),
    };
    writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');
  } finally {
    await daemon.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`guest measure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
