/**
 * How long one drain of the collector holds the JavaScript thread, in-process, while
 * `loadgen flows` keeps CONNECTIONS loopback connections busy (2 flows each): the
 * synchronous part of `BpfCollector.drain()` (until it returns), the whole drain (until
 * the records are decoded), and the event loop's delay (perf_hooks.monitorEventLoopDelay)
 * while drains run back to back. Works on builds whose drain() is synchronous too, so one
 * tool measures before and after.
 *
 *   node dist/bench/tools/drain-blocking.js [CONNECTIONS=5000] [DRAINS=60]
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { runChild } from '../lib/children';
import { buildNative } from '../lib/native-build';
import { quantile, round } from '../lib/stats';

export interface DrainBlockingResult {
  connections: number;
  drains: number;
  flowsPerDrain: number;
  /** Per drain: the JS thread inside the drain() call, and drain() to decoded records. */
  syncCallMs: { p50: number; p99: number; max: number };
  wholeDrainMs: { p50: number; p99: number; max: number };
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

const summary = (values: number[]) => ({
  p50: round(quantile(values, 0.5), 3),
  p99: round(quantile(values, 0.99), 3),
  max: round(Math.max(...values), 3),
});

async function main(): Promise<void> {
  const connections = Number(process.argv[2] ?? 5000);
  const drains = Number(process.argv[3] ?? 60);
  const tools = await buildNative();
  const collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 1 << 20, drainIntervalMillis: 50, maxFlows: 65536 });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const sync: number[] = [];
  const whole: number[] = [];
  let flows = 0;
  try {
    const load = runChild(tools.loadgen, ['flows', String(connections), String(Math.ceil(drains / 4) + 5)]);
    // Let every connection open and move data before measuring.
    await new Promise((r) => setTimeout(r, 3000));
    delay.enable();
    for (let i = 0; i < drains; i++) {
      // A quarter second apart, so each drain reads a quarter second of traffic.
      await new Promise((r) => setTimeout(r, 250));
      const start = performance.now();
      const pending = collector.drain() as unknown;
      sync.push(performance.now() - start);
      const records = (await pending) as unknown[];
      whole.push(performance.now() - start);
      flows += records.length;
    }
    delay.disable();
    await load;
  } finally {
    collector.close();
  }
  const result: DrainBlockingResult = {
    connections,
    drains,
    flowsPerDrain: Math.round(flows / drains),
    syncCallMs: summary(sync),
    wholeDrainMs: summary(whole),
    eventLoopDelayMs: { p50: round(delay.percentile(50) / 1e6, 3), p99: round(delay.percentile(99) / 1e6, 3), max: round(delay.max / 1e6, 3) },
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`drain-blocking: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
