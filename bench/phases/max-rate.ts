/**
 * The highest event rate this machine produces: several loadgen processes, each
 * looping 64-byte UDP send + recv on loopback (two traced events per loop), with the
 * real daemon in its default configuration. Reports what sockscope observed against
 * what the senders did, every kind of loss, the daemon's CPU (user + sys of all its
 * threads, from /proc/<pid>/stat) per million events and its peak RSS. An untraced run
 * of the same senders shows what tracing costs the workload at saturation.
 *
 * Then the same load against two prototype loaders (bench/proto): sockscope's ring
 * path with a minimal consumer, and the per-socket per-CPU path that user space reads
 * once a second: what each costs in user space per event, and whether it loses any.
 */
import { SockscopeDaemon } from '../lib/daemon';
import { sumOf, type Sample } from '../lib/exposition';
import type { NativeTools } from '../lib/native-build';
import { ProcessSampler, mappedRssKiB, type MemoryKiB } from '../lib/proc-stats';
import { round } from '../lib/stats';
import { flood } from '../lib/workload';
import { ProtoTracer, type Counted } from '../lib/tracers';

const FLOOD_COMM = 'ssb-flood';

export interface MaxRateRun {
  senders: number;
  seconds: number;
  /** Send + recv calls the senders made, per second, with and without sockscope. */
  generatedEventsPerSecond: number;
  untracedEventsPerSecond: number;
  /** Calls sockscope exported for the senders (sockscope_network_messages_total). */
  observedEvents: number;
  observedEventsPerSecond: number;
  generatedEvents: number;
  lost: { ringFull: number; missed: number; mapFull: number; unaccounted: number };
  daemonCpuSeconds: number;
  daemonCpuMsPerMillionEvents: number;
  /** Percent of one core the daemon used, per 100k events/s observed. */
  daemonCorePercentPer100kEventsPerSecond: number;
  daemonMemoryKiB: MemoryKiB | undefined;
  ringBufferResidentKiB: number;
}

export interface ProtoRateRun {
  tracer: string;
  senders: number;
  seconds: number;
  generatedEventsPerSecond: number;
  /** Events the loader counted for everyone (host-wide), and the senders' own. */
  countedEvents: number;
  generatedEvents: number;
  lost: number;
  loaderCpuMsPerMillionEvents: number;
}

export interface MaxRateResult {
  runs: MaxRateRun[];
  best: MaxRateRun;
  prototypes: ProtoRateRun[];
}

const messagesOf = (samples: readonly Sample[]): number =>
  sumOf(samples, 'sockscope_network_messages_total', (l) => l.process_executable_name === FLOOD_COMM);

async function untracedRate(tools: NativeTools, senders: number, seconds: number): Promise<number> {
  const runs = await flood(tools, senders, seconds);
  return runs.reduce((s, r) => s + r.events, 0) / seconds;
}

async function tracedRun(tools: NativeTools, senders: number, seconds: number, untraced: number): Promise<MaxRateRun> {
  const daemon = await SockscopeDaemon.start();
  const sampler = new ProcessSampler(daemon.pid, 200);
  try {
    const before = await daemon.scrape();
    const cpuBefore = sampler.cpuSeconds();
    const runs = await flood(tools, senders, seconds);
    // The scrape drains the kernel's sums and the native table: everything sent is in it.
    const after = await daemon.scrape();
    const cpu = sampler.cpuSeconds() - cpuBefore;
    const memory = sampler.memory();
    const ring = mappedRssKiB(daemon.pid, /bpf-ringbuf|anon_inode:bpf/);
    const generated = runs.reduce((s, r) => s + r.events, 0);
    const observed = messagesOf(after) - messagesOf(before);
    const lossesBefore = SockscopeDaemon.losses(before);
    const lossesAfter = SockscopeDaemon.losses(after);
    const rate = observed / seconds;
    return {
      senders,
      seconds,
      generatedEventsPerSecond: Math.round(generated / seconds),
      untracedEventsPerSecond: Math.round(untraced),
      observedEvents: observed,
      observedEventsPerSecond: Math.round(rate),
      generatedEvents: generated,
      lost: {
        ringFull: lossesAfter.ringFull - lossesBefore.ringFull,
        missed: lossesAfter.missed - lossesBefore.missed,
        mapFull: lossesAfter.mapFull - lossesBefore.mapFull,
        unaccounted: generated - observed,
      },
      daemonCpuSeconds: round(cpu, 2),
      daemonCpuMsPerMillionEvents: round((cpu * 1e9) / observed, 1),
      daemonCorePercentPer100kEventsPerSecond: round(((cpu / seconds) * 100) / (rate / 100_000), 3),
      daemonMemoryKiB: memory,
      ringBufferResidentKiB: ring,
    };
  } finally {
    sampler.stop();
    await daemon.stop();
  }
}

export async function measureMaxRate(
  tools: NativeTools,
  options: { seconds: number; senders: number[]; log: (line: string) => void },
): Promise<MaxRateResult> {
  const runs: MaxRateRun[] = [];
  for (const senders of options.senders) {
    const untraced = await untracedRate(tools, senders, Math.max(3, Math.round(options.seconds / 4)));
    const run = await tracedRun(tools, senders, options.seconds, untraced);
    options.log(
      `max-rate ${senders} senders: ${run.observedEventsPerSecond} events/s observed (untraced ${run.untracedEventsPerSecond}), ` +
        `lost ${JSON.stringify(run.lost)}, daemon ${run.daemonCpuMsPerMillionEvents} ms CPU per 1M events, ` +
        `peak RSS ${round((run.daemonMemoryKiB?.peak ?? NaN) / 1024)} MiB`,
    );
    runs.push(run);
  }
  const best = runs.reduce((a, b) => (b.observedEventsPerSecond > a.observedEventsPerSecond ? b : a));
  const prototypes: ProtoRateRun[] = [];
  for (const variant of ['ringbuf', 'percpu_sock'] as const) {
    const tracer = new ProtoTracer(tools, variant, 'tp_btf');
    const seconds = Math.max(3, Math.round(options.seconds / 2));
    await tracer.start();
    let generated = 0;
    let counted: Counted;
    try {
      generated = (await flood(tools, best.senders, seconds)).reduce((s, r) => s + r.events, 0);
    } finally {
      counted = await tracer.stop('');
    }
    const run: ProtoRateRun = {
      tracer: tracer.id,
      senders: best.senders,
      seconds,
      generatedEventsPerSecond: Math.round(generated / seconds),
      countedEvents: counted.events ?? NaN,
      generatedEvents: generated,
      lost: counted.lost ?? NaN,
      loaderCpuMsPerMillionEvents: round(((counted.cpuSeconds ?? NaN) * 1e9) / generated, 1),
    };
    options.log(`max-rate ${tracer.id}: ${JSON.stringify(run)}`);
    prototypes.push(run);
  }
  return { runs, best, prototypes };
}
