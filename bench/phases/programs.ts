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
import { round } from '../lib/stats';
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
  /** Program name -> mean run time (ns) over its runs during the workload. */
  programs: Record<string, { nsPerRun: number; runs: number }>;
  /** All of the tracer's socket-I/O programs together: total run time / total runs. */
  nsPerRun: number;
}

export interface ProgramsResult {
  note: string;
  tracers: ProgramCost[];
}

async function programStats(): Promise<Map<number, ProgStat>> {
  const { stdout } = await runChild('bpftool', ['prog', 'show', '--json']);
  const list = JSON.parse(stdout) as Array<{ id: number; name?: string; run_time_ns?: number; run_cnt?: number }>;
  return new Map(list.map((p) => [p.id, { id: p.id, name: p.name ?? '', runTimeNs: p.run_time_ns ?? 0, runCount: p.run_cnt ?? 0 }]));
}

async function measureOne(tools: NativeTools, tracer: Tracer, iterations: Record<Transport, number>): Promise<ProgramCost> {
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
  const programs: ProgramCost['programs'] = {};
  let time = 0;
  let runs = 0;
  for (const [id, end] of after) {
    const start = during.get(id);
    if (before.has(id) || !start) continue;
    const dRuns = end.runCount - start.runCount;
    const dTime = end.runTimeNs - start.runTimeNs;
    // Only the send/recv programs: state-change programs barely run here.
    if (dRuns < iterations.udp) continue;
    programs[`${end.name}#${id}`] = { nsPerRun: round(dTime / dRuns), runs: dRuns };
    time += dTime;
    runs += dRuns;
  }
  return { tracer: tracer.id, programs, nsPerRun: round(time / runs) };
}

export async function measurePrograms(
  tools: NativeTools,
  options: { iterations: Record<Transport, number>; log: (line: string) => void },
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
    new ProtoTracer(tools, 'ringbuf', 'tp_btf'),
    new ProtoTracer(tools, 'percpu', 'tp_btf'),
    new ProtoTracer(tools, 'percpu_direct', 'tp_btf'),
    new ProtoTracer(tools, 'percpu_sock', 'tp_btf'),
    new ProtoTracer(tools, 'percpu_sock', 'tracepoint'),
  ];
  const results: ProgramCost[] = [];
  try {
    for (const tracer of tracers) {
      const cost = await measureOne(tools, tracer, options.iterations);
      options.log(`programs ${tracer.id.padEnd(28)} ${cost.nsPerRun} ns/run  ${JSON.stringify(cost.programs)}`);
      results.push(cost);
    }
  } finally {
    restore();
  }
  return {
    note: 'mean BPF program body run time per invocation (kernel.bpf_stats_enabled), excluding tracepoint dispatch',
    tracers: results,
  };
}
