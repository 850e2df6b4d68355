/**
 * The tracers the overhead benchmark compares, behind one interface: start, let the
 * workload run, stop and say what was counted (the cross-check that every tracer saw
 * the same calls).
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { spawnChild, stopChild, waitForLine } from './children';
import { SockscopeDaemon } from './daemon';
import type { NativeTools } from './native-build';
import { REPO_ROOT } from './native-build';
import { cpuSeconds } from './proc-stats';

export type HookType = 'tp_btf' | 'tracepoint';

export interface Counted {
  txBytes: number;
  rxBytes: number;
  /** 'workload': only the benchmark's process name; 'all': every process on the host. */
  scope: 'workload' | 'all';
  /** CPU seconds the tracer's own process used while attached (user space), if known. */
  cpuSeconds?: number;
  /** Events the tracer reports as lost (ring full, misses, full maps). */
  lost?: number;
  /** Events (calls) the tracer counted, where it says. */
  events?: number;
}

export interface Tracer {
  /** e.g. "sockscope/tp_btf". */
  readonly id: string;
  readonly hook: HookType;
  /** How long to wait after start() before the workload: some tracers report ready before every probe is attached. */
  readonly settleMs: number;
  start(): Promise<void>;
  /** `comm`: the workload's process name, for tracers that count per process. */
  stop(comm: string): Promise<Counted>;
}

/**
 * Attaches nothing: its "overhead" is baseline minus baseline, i.e. the measurement's
 * own noise in the same run.
 */
export class NoTracer implements Tracer {
  readonly id = 'none (noise control)';
  readonly hook = 'tp_btf' as const;
  readonly settleMs = 200;

  async start(): Promise<void> {}

  async stop(): Promise<Counted> {
    return { txBytes: NaN, rxBytes: NaN, scope: 'all' };
  }
}

export class SockscopeTracer implements Tracer {
  readonly id: string;
  // The daemon logs "serving" after every probe is attached.
  readonly settleMs = 200;
  private daemon: SockscopeDaemon | undefined;
  private cpuAtStart = 0;

  constructor(readonly hook: HookType) {
    this.id = `sockscope/${hook}`;
  }

  async start(): Promise<void> {
    // auto picks tp_btf for socket I/O on this kernel (fentry is refused); tracepoint forces the classic ones.
    const args = this.hook === 'tracepoint' ? ['--probes.mode', 'tracepoint'] : [];
    this.daemon = await SockscopeDaemon.start({ args });
    this.cpuAtStart = cpuSeconds(this.daemon.pid) ?? 0;
  }

  async stop(comm: string): Promise<Counted> {
    const daemon = this.daemon!;
    this.daemon = undefined;
    try {
      const samples = await daemon.scrape();
      const cpu = (cpuSeconds(daemon.pid) ?? this.cpuAtStart) - this.cpuAtStart;
      const losses = SockscopeDaemon.losses(samples);
      return {
        ...SockscopeDaemon.bytesOf(samples, comm),
        scope: 'workload',
        cpuSeconds: cpu,
        lost: losses.ringFull + losses.missed + losses.mapFull,
      };
    } finally {
      await daemon.stop();
    }
  }
}

/** A child that prints a line when attached and its counts as the last JSON line when stopped. */
abstract class ChildTracer implements Tracer {
  abstract readonly id: string;
  abstract readonly hook: HookType;
  readonly settleMs: number = 200;
  private child: ChildProcess | undefined;
  private stdout = '';
  private cpuAtStart = 0;

  protected abstract command(): [string, string[]];
  protected abstract readonly readyPattern: RegExp;
  protected abstract readonly stopSignal: NodeJS.Signals;
  protected abstract parse(stdout: string, comm: string): Counted;

  async start(): Promise<void> {
    const [file, args] = this.command();
    const child = spawnChild(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (this.stdout += c));
    child.stderr!.resume();
    try {
      await waitForLine(child, this.readyPattern, 60_000, this.id);
    } catch (err) {
      await stopChild(child, 'SIGKILL');
      throw err;
    }
    this.child = child;
    this.cpuAtStart = cpuSeconds(child.pid!) ?? 0;
  }

  async stop(comm: string): Promise<Counted> {
    const child = this.child!;
    this.child = undefined;
    const cpu = (cpuSeconds(child.pid!) ?? this.cpuAtStart) - this.cpuAtStart;
    const code = await stopChild(child, this.stopSignal, 15_000);
    if (code !== 0) throw new Error(`${this.id} exited with ${code}: ${this.stdout.slice(-1000)}`);
    return { ...this.parse(this.stdout, comm), cpuSeconds: cpu };
  }
}

const lastJsonLine = (stdout: string): Record<string, unknown> =>
  JSON.parse(stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}') as Record<string, unknown>;

/** bpftrace 0.17 with bench/bpftrace/io-bytes.bt: per-comm byte sums on the classic tracepoints. */
export class BpftraceTracer extends ChildTracer {
  readonly id = 'bpftrace/tracepoint';
  readonly hook = 'tracepoint' as const;
  // bpftrace 0.17 prints "attached_probes" before the probes are live: events in the first
  // few hundred ms after it were measured to be missing.
  override readonly settleMs = 1000;
  protected readonly readyPattern = /"attached_probes"/;
  // bpftrace prints its maps on SIGINT (and on SIGTERM), then exits 0.
  protected readonly stopSignal = 'SIGINT' as const;

  protected command(): [string, string[]] {
    return ['bpftrace', ['-f', 'json', path.join(REPO_ROOT, 'bench', 'bpftrace', 'io-bytes.bt')]];
  }

  protected parse(stdout: string, comm: string): Counted {
    const maps: Record<string, Record<string, number>> = {};
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const msg = JSON.parse(line) as { type: string; data: Record<string, Record<string, number>> };
      if (msg.type === 'map') Object.assign(maps, msg.data);
    }
    return { txBytes: maps['@tx']?.[comm] ?? 0, rxBytes: maps['@rx']?.[comm] ?? 0, scope: 'workload' };
  }
}

/** The floor (bench/floor): one per-CPU array update per event, nothing else. */
export class FloorTracer extends ChildTracer {
  readonly id: string;
  protected readonly readyPattern = /^ready$/m;
  protected readonly stopSignal = 'SIGTERM' as const;

  /** withPid: the floor plus the process-id helper call (`floor+pid/<hook>`). */
  constructor(
    private readonly tools: NativeTools,
    readonly hook: HookType,
    readonly withPid = false,
  ) {
    super();
    this.id = `floor${withPid ? '+pid' : ''}/${hook}`;
  }

  protected command(): [string, string[]] {
    return [this.tools.floor, this.withPid ? [this.hook, 'pid'] : [this.hook]];
  }

  protected parse(stdout: string): Counted {
    const r = lastJsonLine(stdout);
    return { txBytes: Number(r.txBytes), rxBytes: Number(r.rxBytes), scope: 'all' };
  }
}

export type ProtoVariant = 'ringbuf' | 'percpu' | 'percpu_direct' | 'percpu_sock' | 'sock_cache';

/** A hot-path prototype (bench/proto): sockscope's flow key, different data path. */
export class ProtoTracer extends ChildTracer {
  readonly id: string;
  protected readonly readyPattern = /^ready$/m;
  protected readonly stopSignal = 'SIGTERM' as const;

  constructor(
    private readonly tools: NativeTools,
    readonly variant: ProtoVariant,
    readonly hook: HookType,
  ) {
    super();
    this.id = `proto-${variant}/${hook}`;
  }

  protected command(): [string, string[]] {
    return [this.tools.proto, [this.variant, this.hook]];
  }

  protected parse(stdout: string): Counted {
    const r = lastJsonLine(stdout);
    return {
      txBytes: Number(r.txBytes),
      rxBytes: Number(r.rxBytes),
      scope: 'all',
      lost: Number(r.lost) + Number(r.flowsFull),
      events: Number(r.records),
    };
  }
}
