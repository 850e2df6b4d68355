/**
 * What kernel.bpf_stats_enabled costs sockscope's traced path: loadgen pingpong CPU ns per
 * traced event with sockscope attached (auto plan), the sysctl 0 and 1 alternating inside
 * each round (order swapped every round, so drift of a shared machine cancels). The sysctl is
 * restored afterwards. Quoted in README.md (Metrics).
 *
 *   node dist/bench/tools/bpf-stats-cost.js [ROUNDS=10] [--out FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { BPF_STATS_SYSCTL } from '../../src/collector/bpf-stats-sysctl';
import { buildNative } from '../lib/native-build';
import { median } from '../lib/stats';
import { pingpong } from '../lib/workload';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args.splice(outAt, 2)[1] : undefined;
  const rounds = Number(args[0] ?? 10);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`ROUNDS must be a whole number >= 1, not ${args[0]}`);
  const previous = readFileSync(BPF_STATS_SYSCTL, 'utf8').trim();
  const tools = await buildNative();
  const collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 1 << 22, drainIntervalMillis: 1000, maxFlows: 65536 });
  const drain = setInterval(() => collector.drain(), 1000);
  const off: number[] = [];
  const on: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const perEvent: Record<string, number> = {};
      for (const value of r % 2 === 0 ? ['0', '1'] : ['1', '0']) {
        writeFileSync(BPF_STATS_SYSCTL, value);
        const run = await pingpong(tools, 'udp', 40_000);
        perEvent[value] = run.cpuNs / run.events;
      }
      writeFileSync(BPF_STATS_SYSCTL, previous);
      off.push(perEvent['0']!);
      on.push(perEvent['1']!);
      console.error(`round ${r}: off ${perEvent['0']!.toFixed(1)} ns/event, on ${perEvent['1']!.toFixed(1)}`);
    }
  } finally {
    writeFileSync(BPF_STATS_SYSCTL, previous);
    clearInterval(drain);
    collector.close();
  }
  const result = {
    note: 'loadgen udp pingpong CPU ns per traced event, sockscope attached, kernel.bpf_stats_enabled 0 vs 1 in the same round',
    plan: Object.fromEntries(collector.plan.hooks.map((h) => [h.hook, h.chosen ?? 'none'])),
    rounds,
    medianOffNs: median(off),
    medianOnNs: median(on),
    medianDifferenceNs: median(on.map((v, i) => v - off[i]!)),
    off,
    on,
  };
  const text = JSON.stringify(result, null, 2);
  if (out) writeFileSync(out, text + '\n');
  console.log(text);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
