/**
 * Traced-path cost per event. Each tracer's block is bracketed by untraced baseline
 * blocks (B T1 B T2 B … Tn B), and the tracer order rotates every round, so slow drift
 * of this shared machine cancels. One block = one pinned loadgen pingpong run per
 * transport; the figure is the loadgen thread's CPU time per traced event (the BPF
 * programs run in that thread's syscalls), minus the mean of the two neighbouring
 * baselines. Ratios are taken inside a round (same minute, same machine state) and
 * their median over rounds is reported.
 */
import { median, round } from '../lib/stats';
import type { NativeTools } from '../lib/native-build';
import type { Counted, Tracer } from '../lib/tracers';
import { PINGPONG_COMM, pingpong, type PingpongResult, type Transport } from '../lib/workload';

export const TRANSPORTS: readonly Transport[] = ['tcp', 'udp'];

export interface OverheadOptions {
  rounds: number;
  iterations: Record<Transport, number>;
  tracers: Tracer[];
  /** Same-run ratios to report: [numerator tracer id, denominator tracer id]. */
  ratios: Array<[string, string]>;
  log: (line: string) => void;
}

type PerTransport<T> = Record<Transport, T>;

interface Block {
  runs: PerTransport<PingpongResult>;
}

export interface TracedBlock {
  tracer: string;
  round: number;
  /** CPU ns per event of the traced run and of the mean neighbouring baseline. */
  tracedNs: PerTransport<number>;
  baselineNs: PerTransport<number>;
  overheadNs: PerTransport<number>;
  wallOverheadNs: PerTransport<number>;
  counted: Counted;
  expected: { txBytes: number; rxBytes: number };
  /** Whether the tracer counted the workload's bytes (exactly for per-process tracers; at least, for host-wide ones). */
  countsMatch: boolean;
  /** The tracer's own user-space CPU per event while attached (daemon, bpftrace, loader). */
  tracerCpuNsPerEvent: number | undefined;
}

export interface TracerSummary {
  tracer: string;
  medianOverheadNs: PerTransport<number>;
  minOverheadNs: PerTransport<number>;
  maxOverheadNs: PerTransport<number>;
  medianTracerCpuNsPerEvent: number | undefined;
  allCountsMatch: boolean;
}

export interface RatioSummary {
  numerator: string;
  denominator: string;
  /** Median added cost of the numerator over that of the denominator (same run). */
  ofMedians: PerTransport<number>;
  /** Median over rounds of the same-round ratio (unstable when the denominator is near the noise). */
  medianOfRounds: PerTransport<number>;
  perRound: PerTransport<number[]>;
}

export interface OverheadResult {
  rounds: number;
  iterations: PerTransport<number>;
  baselineNsPerEvent: PerTransport<number>;
  blocks: TracedBlock[];
  tracers: TracerSummary[];
  ratios: RatioSummary[];
}

async function runBlock(tools: NativeTools, iterations: PerTransport<number>): Promise<Block> {
  const tcp = await pingpong(tools, 'tcp', iterations.tcp);
  const udp = await pingpong(tools, 'udp', iterations.udp);
  return { runs: { tcp, udp } };
}

const nsPerEvent = (r: PingpongResult, field: 'cpuNs' | 'wallNs' = 'cpuNs'): number => r[field] / r.events;

function perTransport<T>(f: (t: Transport) => T): PerTransport<T> {
  return { tcp: f('tcp'), udp: f('udp') };
}

function compare(tracer: Tracer, round: number, before: Block, traced: Block, after: Block, counted: Counted): TracedBlock {
  const baselineNs = perTransport((t) => (nsPerEvent(before.runs[t]) + nsPerEvent(after.runs[t])) / 2);
  const baselineWall = perTransport((t) => (nsPerEvent(before.runs[t], 'wallNs') + nsPerEvent(after.runs[t], 'wallNs')) / 2);
  const tracedNs = perTransport((t) => nsPerEvent(traced.runs[t]));
  const runs = Object.values(traced.runs);
  const expected = {
    txBytes: runs.reduce((s, r) => s + r.txBytes + r.warmupBytes / 2, 0),
    rxBytes: runs.reduce((s, r) => s + r.rxBytes + r.warmupBytes / 2, 0),
  };
  const events = runs.reduce((s, r) => s + r.events + r.warmupEvents, 0);
  let countsMatch: boolean;
  if (Number.isNaN(counted.txBytes)) countsMatch = true; // counts nothing (the noise control)
  else if (counted.scope === 'workload') countsMatch = counted.txBytes === expected.txBytes && counted.rxBytes === expected.rxBytes;
  else countsMatch = counted.txBytes >= expected.txBytes && counted.rxBytes >= expected.rxBytes;
  return {
    tracer: tracer.id,
    round,
    tracedNs,
    baselineNs,
    overheadNs: perTransport((t) => tracedNs[t] - baselineNs[t]),
    wallOverheadNs: perTransport((t) => nsPerEvent(traced.runs[t], 'wallNs') - baselineWall[t]),
    counted,
    expected,
    countsMatch,
    tracerCpuNsPerEvent: counted.cpuSeconds === undefined ? undefined : (counted.cpuSeconds * 1e9) / events,
  };
}

export async function measureOverhead(tools: NativeTools, options: OverheadOptions): Promise<OverheadResult> {
  const { tracers, iterations, log } = options;
  const blocks: TracedBlock[] = [];
  const baselines: number[][] = [[], []];
  for (let r = 0; r < options.rounds; r++) {
    // Rotate the order: no tracer always runs first (cold) or right after another.
    const order = tracers.map((_, i) => tracers[(i + r) % tracers.length]!);
    let before = await runBlock(tools, iterations);
    for (const tracer of order) {
      await tracer.start();
      await new Promise((r) => setTimeout(r, tracer.settleMs));
      let traced: Block;
      let counted: Counted;
      try {
        traced = await runBlock(tools, iterations);
      } finally {
        counted = await tracer.stop(PINGPONG_COMM);
      }
      const after = await runBlock(tools, iterations);
      const block = compare(tracer, r, before, traced, after, counted);
      blocks.push(block);
      TRANSPORTS.forEach((t, i) => baselines[i]!.push(nsPerEvent(before.runs[t])));
      log(
        `round ${r + 1}/${options.rounds} ${tracer.id.padEnd(24)} ` +
          TRANSPORTS.map((t) => `${t} ${round(block.tracedNs[t])} - ${round(block.baselineNs[t])} = ${round(block.overheadNs[t])} ns`).join('  ') +
          (block.countsMatch ? '' : '  COUNTS DIFFER'),
      );
      before = after;
    }
  }
  const summaries = tracers.map((tracer): TracerSummary => {
    const mine = blocks.filter((b) => b.tracer === tracer.id);
    const cpu = mine.map((b) => b.tracerCpuNsPerEvent).filter((v): v is number => v !== undefined);
    return {
      tracer: tracer.id,
      medianOverheadNs: perTransport((t) => median(mine.map((b) => b.overheadNs[t]))),
      minOverheadNs: perTransport((t) => Math.min(...mine.map((b) => b.overheadNs[t]))),
      maxOverheadNs: perTransport((t) => Math.max(...mine.map((b) => b.overheadNs[t]))),
      medianTracerCpuNsPerEvent: cpu.length ? median(cpu) : undefined,
      allCountsMatch: mine.every((b) => b.countsMatch),
    };
  });
  const ratios = options.ratios
    .filter(([n, d]) => tracers.some((t) => t.id === n) && tracers.some((t) => t.id === d))
    .map(([numerator, denominator]): RatioSummary => {
      const perRound = perTransport((t) =>
        Array.from({ length: options.rounds }, (_, r) => {
          const num = blocks.find((b) => b.round === r && b.tracer === numerator)!.overheadNs[t];
          const den = blocks.find((b) => b.round === r && b.tracer === denominator)!.overheadNs[t];
          return num / den;
        }),
      );
      const medianOf = (id: string, t: Transport): number => median(blocks.filter((b) => b.tracer === id).map((b) => b.overheadNs[t]));
      return {
        numerator,
        denominator,
        ofMedians: perTransport((t) => medianOf(numerator, t) / medianOf(denominator, t)),
        medianOfRounds: perTransport((t) => median(perRound[t])),
        perRound,
      };
    });
  return {
    rounds: options.rounds,
    iterations,
    baselineNsPerEvent: { tcp: median(baselines[0]!), udp: median(baselines[1]!) },
    blocks,
    tracers: summaries,
    ratios,
  };
}
