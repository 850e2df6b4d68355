/**
 * Where the per-event cost goes: the kernel's own accounting of each BPF program's run
 * time (kernel.bpf_stats_enabled=1, read with bpftool). This measures the program body
 * only — not the tracepoint dispatch around it, which is the same for every program on
 * one hook type — and is immune to the noise that the A/B overhead figure fights, so it
 * shows which part of the work is expensive. The sysctl is restored afterwards (and on
 * any exit); it adds two clock reads per run while on, so this phase never overlaps the
 * overhead measurement.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { onBenchExit, runChild } from '../lib/children';
import type { NativeTools } from '../lib/native-build';
import { median, round } from '../lib/stats';
import { BpftraceTracer, FloorTracer, ProtoTracer, SockscopeTracer, type Tracer } from '../lib/tracers';
import { PINGPONG_COMM, pingpong, type Transport } from '../lib/workload';

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

interface ProgStat {
  id: number;
  name: string;
  runTimeNs: number;
  runCount: number;
}

export interface ProgramCost {
  tracer: string;
  /** Program name -> median over rounds of its mean run time (ns) and its runs in one round. */
  programs: Record<string, { nsPerRun: number; runs: number }>;
  /** All of the tracer's socket-I/O programs together (total run time / total runs): median over rounds. */
  nsPerRun: number;
  /** The same per round, in round order. */
  perRound: number[];
}

export interface ProgramRatio {
  numerator: string;
  denominator: string;
  /** Median over rounds of numerator ns/run / denominator ns/run in the same round. */
  medianOfRounds: number;
  perRound: number[];
}

export interface ProgramsResult {
  note: string;
  rounds: number;
  tracers: ProgramCost[];
  ratios: ProgramRatio[];
}

async function programStats(): Promise<Map<number, ProgStat>> {
  const { stdout } = await runChild('bpftool', ['prog', 'show', '--json']);
  const list = JSON.parse(stdout) as Array<{ id: number; name?: string; run_time_ns?: number; run_cnt?: number }>;
  return new Map(list.map((p) => [p.id, { id: p.id, name: p.name ?? '', runTimeNs: p.run_time_ns ?? 0, runCount: p.run_cnt ?? 0 }]));
}

interface RoundCost {
  programs: Record<string, { nsPerRun: number; runs: number }>;
  nsPerRun: number;
}

async function measureOne(tools: NativeTools, tracer: Tracer, iterations: Record<Transport, number>): Promise<RoundCost> {
  const before = await programStats();
  await tracer.start();
  await new Promise((r) => setTimeout(r, tracer.settleMs));
  let during: Map<number, ProgStat>;
  let after: Map<number, ProgStat>;
  try {
    during = await programStats();
    await pingpong(tools, 'tcp', iterations.tcp);
    await pingpong(tools, 'udp', iterations.udp);
    after = await programStats();
  } finally {
    await tracer.stop(PINGPONG_COMM);
  }
  // The tracer's programs: loaded after `before`, and run on socket I/O during the workload.
  const programs: RoundCost['programs'] = {};
  let time = 0;
  let runs = 0;
  for (const [id, end] of after) {
    const start = during.get(id);
    if (before.has(id) || !start) continue;
    const dRuns = end.runCount - start.runCount;
    const dTime = end.runTimeNs - start.runTimeNs;
    // Only the send/recv programs: state-change programs barely run here.
    if (dRuns < iterations.udp) continue;
    programs[end.name] = { nsPerRun: round(dTime / dRuns), runs: dRuns };
    time += dTime;
    runs += dRuns;
  }
  return { programs, nsPerRun: round(time / runs) };
}

/**
 * Rounds of every tracer in turn (A B C … A B C …), rotated so none is always first:
 * the run time of one program drifts with the machine between runs, so the ratios
 * are taken within a round and their median reported.
 */
export async function measurePrograms(
  tools: NativeTools,
  options: {
    iterations: Record<Transport, number>;
    rounds: number;
    withPrototypes: boolean;
    ratios: Array<[string, string]>;
    log: (line: string) => void;
  },
): Promise<ProgramsResult> {
  const previous = readFileSync(STATS_SYSCTL, 'utf8').trim();
  const restore = (): void => writeFileSync(STATS_SYSCTL, previous);
  onBenchExit(restore);
  writeFileSync(STATS_SYSCTL, '1');
  const tracers: Tracer[] = [
    new SockscopeTracer('tp_btf'),
    new SockscopeTracer('tracepoint'),
    new BpftraceTracer(),
    new FloorTracer(tools, 'tp_btf'),
    new FloorTracer(tools, 'tracepoint'),
    new FloorTracer(tools, 'tp_btf', true),
  ];
  if (options.withPrototypes) {
    for (const variant of ['ringbuf', 'percpu', 'percpu_direct', 'percpu_sock', 'sock_cache'] as const) {
      tracers.push(new ProtoTracer(tools, variant, 'tp_btf'));
    }
    tracers.push(new ProtoTracer(tools, 'percpu_sock', 'tracepoint'), new ProtoTracer(tools, 'sock_cache', 'tracepoint'));
  }
  const rounds = new Map<string, RoundCost[]>(tracers.map((t) => [t.id, []]));
  try {
    for (let r = 0; r < options.rounds; r++) {
      const order = tracers.map((_, i) => tracers[(i + r) % tracers.length]!);
      for (const tracer of order) {
        const cost = await measureOne(tools, tracer, options.iterations);
        options.log(`programs round ${r} ${tracer.id.padEnd(28)} ${cost.nsPerRun} ns/run  ${JSON.stringify(cost.programs)}`);
        rounds.get(tracer.id)!.push(cost);
      }
    }
  } finally {
    restore();
  }
  const costs: ProgramCost[] = tracers.map((t) => {
    const own = rounds.get(t.id)!;
    const names = [...new Set(own.flatMap((c) => Object.keys(c.programs)))];
    const programs = Object.fromEntries(
      names.map((name) => {
        const seen = own.map((c) => c.programs[name]).filter((p) => p !== undefined);
        return [name, { nsPerRun: round(median(seen.map((p) => p.nsPerRun))), runs: seen[0]!.runs }];
      }),
    );
    const perRound = own.map((c) => c.nsPerRun);
    return { tracer: t.id, programs, nsPerRun: round(median(perRound)), perRound };
  });
  const ratios: ProgramRatio[] = options.ratios
    .filter(([a, b]) => rounds.has(a) && rounds.has(b))
    .map(([numerator, denominator]) => {
      const a = rounds.get(numerator)!;
      const b = rounds.get(denominator)!;
      const perRound = a.map((c, i) => round(c.nsPerRun / b[i]!.nsPerRun, 3));
      return { numerator, denominator, medianOfRounds: round(median(perRound), 3), perRound };
    });
  for (const q of ratios) options.log(`programs ratio ${q.numerator} / ${q.denominator}: ${q.medianOfRounds} (rounds ${q.perRound.join(', ')})`);
  return {
    note: 'mean BPF program body run time per invocation (kernel.bpf_stats_enabled), excluding tracepoint dispatch; medians over rounds',
    rounds: options.rounds,
    tracers: costs,
    ratios,
  };
}
