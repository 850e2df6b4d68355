/**
 * `npm run bench`: the whole performance benchmark in one run (docs/performance.md).
 *
 *   node dist/bench/run.js [--phases overhead,protos,programs,max-rate,flows,scrape,view,healthz,drain,connections,collector-down,soak] [--rounds N] [--program-rounds N]
 *                          [--quick] [--out FILE]
 *   node dist/bench/run.js --phases guest-memory,guest-drain [--guest-kernels 5.10,6.12] [--guest-smp 2,16,64]
 *                          [--guest-drain-smp 2,16] [--guest-connections 5000] [--out FILE]
 *
 * The guest phases boot QEMU guests (test/kernel-matrix/run-guest) and are not part of the default run.
 *
 * Needs root, clang, bpftool, gcc, libbpf-dev, bpftrace and a built sockscope
 * (`npm run build`). Writes bench/results/<date>.json and prints the tables.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChild, useReaper } from './lib/children';
import { buildNative, REPO_ROOT } from './lib/native-build';
import { BpftraceTracer, FloorTracer, NoTracer, ProtoTracer, SockscopeTracer, type Tracer } from './lib/tracers';
import { measureOverhead, type OverheadResult } from './phases/overhead';
import { measureMaxRate, type MaxRateResult } from './phases/max-rate';
import { measureFlows, measureNodeFloor, type FlowsResult, type NodeFloor } from './phases/flows';
import { measureScrape, type ScrapeResult } from './phases/scrape';
import { measureView, type ViewResult } from './phases/view';
import { measureHealthz, type HealthzResult } from './phases/healthz';
import type { DrainBlockingResult } from './tools/drain-blocking';
import { measurePrograms, type ProgramsResult } from './phases/programs';
import { measureConnections, type ConnectionsResult } from './phases/connections';
import { measureCollectorDown, type CollectorDownFigures } from './phases/collector-down';
import { measureSoak, type SoakResult } from './phases/soak';
import { measureGuests, type GuestPlan, type GuestRun } from './phases/guest';
import { renderReport } from './report';

// 'protos' adds the hot-path prototypes to the overhead alternation.
const ALL_PHASES = ['overhead', 'protos', 'programs', 'max-rate', 'flows', 'scrape', 'view', 'healthz', 'drain', 'connections', 'collector-down', 'soak'] as const;
// Each boots QEMU guests for tens of minutes: only when named.
const GUEST_PHASES = ['guest-memory', 'guest-drain'] as const;
type Phase = (typeof ALL_PHASES)[number] | (typeof GUEST_PHASES)[number];
const KNOWN_PHASES: readonly string[] = [...ALL_PHASES, ...GUEST_PHASES];

interface Args {
  phases: Set<Phase>;
  rounds: number;
  /** Rounds of the programs phase (each runs every tracer once). */
  programRounds: number;
  quick: boolean;
  /** Results file; default bench/results/<date>[-quick].json. */
  out?: string;
  guestKernels: string[];
  /** vCPU counts of the memory readings, and of the drain runs (5 000 connections). */
  guestSmp: number[];
  guestDrainSmp: number[];
  /** Loopback TCP connections of a drain run (2 active sockets each). */
  guestConnections: number;
}

function positiveIntegers(flag: string, text: string | undefined): number[] {
  const list = (text ?? '').split(',').filter(Boolean).map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${flag} needs a comma-separated list of positive integers`);
  return list;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    phases: new Set(ALL_PHASES),
    rounds: 16,
    programRounds: 9,
    quick: false,
    guestKernels: ['5.10', '6.12'],
    guestSmp: [2, 16, 64],
    guestDrainSmp: [2, 16],
    guestConnections: 5000,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--phases') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const p of list) if (!KNOWN_PHASES.includes(p)) throw new Error(`unknown phase ${p}; phases: ${KNOWN_PHASES.join(',')}`);
      args.phases = new Set(list as Phase[]);
    } else if (a === '--rounds') {
      args.rounds = Number(argv[++i]);
    } else if (a === '--program-rounds') {
      args.programRounds = Number(argv[++i]);
    } else if (a === '--guest-kernels') {
      args.guestKernels = (argv[++i] ?? '').split(',').filter(Boolean);
      if (args.guestKernels.length === 0) throw new Error('--guest-kernels needs a comma-separated list, e.g. 5.10,6.12');
    } else if (a === '--guest-smp') {
      args.guestSmp = positiveIntegers(a, argv[++i]);
    } else if (a === '--guest-drain-smp') {
      args.guestDrainSmp = positiveIntegers(a, argv[++i]);
    } else if (a === '--guest-connections') {
      [args.guestConnections] = positiveIntegers(a, argv[++i]) as [number];
    } else if (a === '--quick') {
      args.quick = true;
    } else if (a === '--out') {
      args.out = argv[++i];
      if (!args.out) throw new Error('--out needs a file name');
    } else {
      throw new Error(`unknown argument ${a}`);
    }
  }
  for (const [flag, n] of [['--rounds', args.rounds], ['--program-rounds', args.programRounds]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer`);
  }
  if (args.quick) {
    args.rounds = Math.min(args.rounds, 2);
    args.programRounds = Math.min(args.programRounds, 3);
  }
  return args;
}

const log = (line: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

export interface Environment {
  date: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  node: string;
  bpftrace: string;
  /** 1/5/15-minute load averages at start and end: the machine is shared. */
  loadAtStart: number[];
  loadAtEnd: number[];
  gitCommit: string;
  gitDirty: boolean;
}

export interface BenchResults {
  environment: Environment;
  durationSeconds: number;
  overhead?: OverheadResult;
  programs?: ProgramsResult;
  maxRate?: MaxRateResult;
  flows?: FlowsResult[];
  nodeFloor?: NodeFloor;
  scrape?: ScrapeResult;
  view?: ViewResult;
  healthz?: HealthzResult;
  drainBlocking?: DrainBlockingResult;
  connections?: ConnectionsResult;
  collectorDown?: CollectorDownFigures;
  soak?: SoakResult;
  guests?: GuestRun[];
}

async function environment(): Promise<Environment> {
  const git = async (args: string[]): Promise<string> => (await runChild('git', ['-C', REPO_ROOT, ...args]).catch(() => ({ stdout: '' }))).stdout.trim();
  return {
    date: new Date().toISOString(),
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    node: process.version,
    bpftrace: (await runChild('bpftrace', ['--version'])).stdout.trim(),
    loadAtStart: loadAverage(),
    loadAtEnd: [],
    gitCommit: await git(['rev-parse', 'HEAD']),
    gitDirty: (await git(['status', '--porcelain'])) !== '',
  };
}

const SAME_RUN_RATIOS: Array<[string, string]> = [
  ['sockscope/tracepoint', 'bpftrace/tracepoint'],
  ['sockscope/tp_btf', 'bpftrace/tracepoint'],
  ['sockscope/tp_btf', 'floor/tp_btf'],
  ['sockscope/tracepoint', 'floor/tracepoint'],
  ['bpftrace/tracepoint', 'floor/tracepoint'],
];

const PROTO_RATIOS: Array<[string, string]> = [
  ['proto-ringbuf/tp_btf', 'floor/tp_btf'],
  ['proto-percpu/tp_btf', 'floor/tp_btf'],
  ['proto-percpu_direct/tp_btf', 'floor/tp_btf'],
  ['proto-percpu_sock/tp_btf', 'floor/tp_btf'],
  ['proto-percpu_sock/tp_btf', 'proto-ringbuf/tp_btf'],
  ['proto-ringbuf/tp_btf', 'sockscope/tp_btf'],
  ['proto-percpu_sock/tp_btf', 'bpftrace/tracepoint'],
  ['proto-percpu_sock/tracepoint', 'floor/tracepoint'],
  ['proto-percpu_sock/tracepoint', 'bpftrace/tracepoint'],
  ['proto-percpu_sock/tracepoint', 'sockscope/tracepoint'],
];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the benchmark loads BPF programs: run it as root');
  const started = Date.now();
  log('building the native helpers (loadgen, floor, prototypes)');
  const tools = await buildNative();
  useReaper(tools.reaper);
  const results: BenchResults = { environment: await environment(), durationSeconds: 0 };
  log(`load average ${results.environment.loadAtStart.join(' ')} on ${results.environment.cpus} CPUs`);
  const iterations = args.quick ? { tcp: 20_000, udp: 40_000 } : { tcp: 50_000, udp: 100_000 };

  if (args.phases.has('overhead')) {
    // One alternation for everything, so every ratio is a same-run ratio.
    log('phase overhead: baseline vs sockscope (tp_btf, tracepoint), bpftrace, floor' + (args.phases.has('protos') ? ', prototypes' : ''));
    const tracers: Tracer[] = [
      new NoTracer(),
      new SockscopeTracer('tp_btf'),
      new SockscopeTracer('tracepoint'),
      new BpftraceTracer(),
      new FloorTracer(tools, 'tp_btf'),
      new FloorTracer(tools, 'tracepoint'),
    ];
    if (args.phases.has('protos')) {
      for (const variant of ['ringbuf', 'percpu', 'percpu_direct', 'percpu_sock'] as const) tracers.push(new ProtoTracer(tools, variant, 'tp_btf'));
      tracers.push(new ProtoTracer(tools, 'percpu_sock', 'tracepoint'));
    }
    results.overhead = await measureOverhead(tools, {
      rounds: args.rounds,
      iterations,
      tracers,
      ratios: [...SAME_RUN_RATIOS, ...PROTO_RATIOS],
      log,
    });
  }
  if (args.phases.has('programs')) {
    log('phase programs: BPF program run time per event (kernel.bpf_stats_enabled)');
    results.programs = await measurePrograms(tools, {
      iterations,
      rounds: args.programRounds,
      withPrototypes: args.phases.has('protos'),
      ratios: [
        ...SAME_RUN_RATIOS,
        // What the process id alone costs, and sockscope against a floor that makes that call too.
        ['floor+pid/tp_btf', 'floor/tp_btf'],
        ['sockscope/tp_btf', 'floor+pid/tp_btf'],
        ['proto-sock_cache/tp_btf', 'floor/tp_btf'],
        ['proto-sock_cache/tracepoint', 'floor/tracepoint'],
      ],
      log,
    });
  }
  if (args.phases.has('max-rate')) {
    log('phase max-rate: several UDP senders as fast as they go, daemon attached');
    results.maxRate = await measureMaxRate(tools, { seconds: args.quick ? 5 : 20, senders: args.quick ? [2] : [1, 2, 4], log });
  }
  if (args.phases.has('flows')) {
    log('phase flows: daemon memory with 10k active flows');
    results.flows = await measureFlows(tools, { connections: 5000, seconds: args.quick ? 10 : 30, log });
    results.nodeFloor = await measureNodeFloor();
  }
  if (args.phases.has('scrape')) {
    log('phase scrape: /metrics latency and size by active series');
    results.scrape = await measureScrape(tools, { seriesCounts: [1_000, 10_000, 50_000], scrapes: args.quick ? 10 : 40, log });
  }
  if (args.phases.has('view')) {
    log('phase view: /metrics latency and daemon CPU with the view off, unread, and polled every second');
    results.view = await measureView(tools, { seriesCounts: [1_000, 10_000], seconds: args.quick ? 5 : 20, log });
  }
  if (args.phases.has('collector-down')) {
    const minutes = args.quick ? 2 : 10;
    log(`phase collector-down: the OTLP receiver stopped for ${minutes} minutes under steady traffic`);
    results.collectorDown = await measureCollectorDown({ outageMs: minutes * 60_000, log });
  }
  if (args.phases.has('soak')) {
    const minutes = args.quick ? 2 : 10;
    log(`phase soak: ${minutes} minutes at the highest rate (2 flood senders) with socket churn and a scrape every second`);
    results.soak = await measureSoak(tools, { minutes, warmupSeconds: args.quick ? 20 : 60, senders: 2, log });
  }

  if (args.phases.has('healthz')) {
    log('phase healthz: /healthz latency and event-loop delay with 10k series under max-rate load');
    results.healthz = await measureHealthz(tools, { series: 10_000, senders: 2, seconds: args.quick ? 10 : 20, log });
  }

  if (args.phases.has('drain')) {
    log('phase drain: how long one collector drain holds the JavaScript thread, with 10k active flows');
    // Its own process, as the daemon would be: the tool loads the collector of this build.
    const { stdout } = await runChild(process.execPath, [path.join(__dirname, 'tools', 'drain-blocking.js'), '5000', args.quick ? '40' : '120']);
    results.drainBlocking = JSON.parse(stdout) as DrainBlockingResult;
    log(`drain: ${stdout.trim()}`);
  }
  if (args.phases.has('connections')) {
    log('phase connections: 100k concurrent TCP connections, active gauge, daemon RSS and /metrics latency');
    results.connections = await measureConnections({ total: args.quick ? 20_000 : 100_000, ratePerSecond: 1000, scrapes: 20, log });
  }

  if (args.phases.has('guest-memory') || args.phases.has('guest-drain')) {
    log('phases guest-memory/guest-drain: kernel memory and drain cost in QEMU guests');
    // Rounds of one exchange per connection: under TCG a round takes several seconds, not one.
    results.guests = await measureGuests({ plan: guestPlan(args), seconds: args.quick ? 3 : 10, log });
  }

  results.environment.loadAtEnd = loadAverage();
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  const file = args.out
    ? path.resolve(args.out)
    : path.join(REPO_ROOT, 'bench', 'results', `${results.environment.date.slice(0, 10)}${args.quick ? '-quick' : ''}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(renderReport(results));
  log(`wrote ${path.relative(REPO_ROOT, file)} in ${results.durationSeconds} s; load average now ${results.environment.loadAtEnd.join(' ')}`);
}

/** One boot per kernel and vCPU count; a drain run also gives that count's memory reading. */
function guestPlan(args: Args): GuestPlan[] {
  const memory = args.phases.has('guest-memory') ? args.guestSmp : [];
  const drain = args.phases.has('guest-drain') ? args.guestDrainSmp : [];
  const counts = [...new Set([...memory, ...drain])].sort((a, b) => a - b);
  return args.guestKernels.flatMap((kernelId) => counts.map((smp) => ({ kernelId, smp, connections: drain.includes(smp) ? args.guestConnections : 0 })));
}

/** For report.ts and tools: a results file. */
export function readResults(file: string): BenchResults {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
