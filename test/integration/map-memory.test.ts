/**
 * sockscope_ebpf_map_memory_bytes against an independent reading of the kernel's memory,
 * and exact bytes in the same session.
 *
 * The metric reads each map's `memlock` from fdinfo. Reading that field back would prove
 * nothing, so the reference is the memory cgroup: since Linux 5.11 the kernel charges BPF map
 * memory (hash elements, per-CPU values on every possible CPU, ring-buffer pages, arrays) to
 * the memcg of the process that creates the map. Held to it from Linux 6.4, where fdinfo
 * memlock is the map's map_mem_usage(); 5.11-6.3 print an estimate (docs/counting.md). This test moves its own process into a
 * cgroup it creates, then takes the growth of memory.stat `kernel` (all kernel memory charged
 * there) across the collector's start, minus the parts that are not maps (`kernel_stack` of
 * the new threads, `pagetables` of the grown heap). What remains besides the maps (the
 * programs, a few file objects) is about 1 % of the maps at the defaults.
 * memory.stat is flushed every 2 s, and the attach planner's throwaway maps are freed
 * asynchronously, so each reading waits until the figure stops moving.
 *
 * The kernel matrix also runs this file in a guest with more vCPUs than the host
 * (MAP_MEMORY_MIN_CPUS, run-matrix.sh), where per-CPU maps and the per-CPU cache weigh more.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { kernelAtLeast } from '../../src/collector/kernel-release';
import { loadConfig } from '../../src/config/load';
import { ATTR_DIRECTION, ATTR_EXECUTABLE, ATTR_MAP, MAP_MEMORY, NETWORK_IO } from '../../src/metrics/definitions';
import type { SockscopeProducer } from '../../src/metrics/sockscope-producer';
import { collectorOptions } from '../../src/startup';
import { bpfTestOptions, inCi, requireBpf } from '../helpers/bpf-gate';
import { testProducer } from '../helpers/producer';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';

const CGROUP_ROOT = '/sys/fs/cgroup';
/**
 * The acceptance asks for 10 %; 5 % is held, because at the defaults the smaller maps that matter
 * (ring buffer, listeners, each socket I/O map) are each 6-10 % of the total, so a metric that
 * left one of them out would still pass at 10 %. Measured on 6.12 with 8 vCPUs: 1.0 % under.
 */
const TOLERANCE = 0.05;
/** Set by the kernel matrix's wide guest: the test must see at least this many CPUs. */
const MIN_CPUS = Number(process.env.MAP_MEMORY_MIN_CPUS ?? 0);

/** Why the metric cannot be held to the memcg here, or undefined. */
function memcgUnavailableReason(): string | undefined {
  if (!kernelAtLeast(os.release(), 5, 11)) return `Linux ${os.release()} does not charge BPF maps to memory cgroups (5.11+ does)`;
  // 5.11-6.3 report memlock as (key + value) x max_entries, rounded to a page: an estimate, not usage.
  if (!kernelAtLeast(os.release(), 6, 4)) return `Linux ${os.release()} reports map memlock as an estimate from the map's sizes (6.4+ reports usage)`;
  if (!existsSync(path.join(CGROUP_ROOT, 'cgroup.subtree_control'))) return `${CGROUP_ROOT} is not a cgroup v2 hierarchy`;
  if (!readFileSync(path.join(CGROUP_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) {
    return 'the cgroup v2 hierarchy has no memory controller';
  }
  if (readFileSync('/proc/self/cgroup', 'utf8').trim() !== '0::/') return 'this process is not in the root cgroup, where the test may create its own';
  return undefined;
}

function possibleCpus(): number {
  // "0-7" or "0,2-3": the CPUs per-CPU maps hold a value for.
  return readFileSync('/sys/devices/system/cpu/possible', 'utf8')
    .trim()
    .split(',')
    .reduce((n, range) => {
      const [lo, hi] = range.split('-').map(Number);
      return n + (hi === undefined ? 1 : hi - lo! + 1);
    }, 0);
}

type MemoryStat = Record<string, number>;

function readMemoryStat(cgroup: string): MemoryStat {
  const stat: MemoryStat = {};
  for (const line of readFileSync(path.join(cgroup, 'memory.stat'), 'utf8').split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value !== undefined) stat[key] = Number(value);
  }
  return stat;
}

/** Kernel memory charged to the cgroup that is neither a thread's stack nor a page table. */
const nonTaskKernelMemory = (s: MemoryStat) => s.kernel! - (s.kernel_stack ?? 0) - (s.pagetables ?? 0);

/** memory.stat once two readings a flush period apart agree (freed maps are uncharged late). */
async function settledMemoryStat(cgroup: string): Promise<MemoryStat> {
  let previous = readMemoryStat(cgroup);
  for (let i = 0; i < 20; i++) {
    await sleep(2500);
    const current = readMemoryStat(cgroup);
    if (Math.abs(nonTaskKernelMemory(current) - nonTaskKernelMemory(previous)) < 64 * 1024) return current;
    previous = current;
  }
  return previous;
}

function metric(metrics: MetricData[], name: string): MetricData {
  const found = metrics.find((m) => m.descriptor.name === name);
  assert.ok(found, `${name} is exported`);
  return found;
}

async function collect(producer: SockscopeProducer): Promise<MetricData[]> {
  return (await producer.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
}

describe('map memory self-metric', bpfTestOptions(), () => {
  // The daemon's defaults: the maps, their sizes and flags are what a user gets.
  const config = loadConfig({ argv: [], env: {} });
  let collector: BpfCollector | undefined;
  let producer: SockscopeProducer;
  let cgroup: string | undefined;
  let baseline: MemoryStat | undefined;
  let loaded: MemoryStat | undefined;
  const memcgSkip = memcgUnavailableReason();

  before(async () => {
    requireBpf();
    if (MIN_CPUS > 0) assert.ok(possibleCpus() >= MIN_CPUS, `MAP_MEMORY_MIN_CPUS=${MIN_CPUS}, but this kernel has ${possibleCpus()} possible CPUs`);
    if (memcgSkip === undefined) {
      writeFileSync(path.join(CGROUP_ROOT, 'cgroup.subtree_control'), '+memory');
      cgroup = path.join(CGROUP_ROOT, `sockscope-map-memory-${process.pid}`);
      mkdirSync(cgroup);
      writeFileSync(path.join(cgroup, 'cgroup.procs'), String(process.pid));
      baseline = await settledMemoryStat(cgroup);
    }
    collector = BpfCollector.start(collectorOptions(config));
    producer = testProducer(collector);
    if (cgroup) loaded = await settledMemoryStat(cgroup);
  });

  after(() => {
    collector?.close();
    if (cgroup) {
      writeFileSync(path.join(CGROUP_ROOT, 'cgroup.procs'), String(process.pid));
      rmdirSync(cgroup);
    }
  });

  test('every map the session created is exported with its kernel memory', async () => {
    const points = metric(await collect(producer), MAP_MEMORY.name).dataPoints;
    const maps = points.map((p) => String(p.attributes[ATTR_MAP]));
    // Whatever maps the session has; these two every configuration creates.
    for (const required of ['events', 'sockets']) assert.ok(maps.includes(required), `${required} in ${maps.join(', ')}`);
    for (const p of points) assert.ok((p.value as number) > 0, `${String(p.attributes[ATTR_MAP])}: ${String(p.value)} bytes`);
    // The ring buffer is at least its data pages.
    const events = points.find((p) => p.attributes[ATTR_MAP] === 'events')!;
    assert.ok((events.value as number) >= config.ebpf.ringBufferSize);
  });

  test(
    'the sum over maps is within 5 % of what the kernel charged the memory cgroup',
    { skip: memcgSkip !== undefined && MIN_CPUS === 0 ? memcgSkip : false },
    async (t) => {
      assert.equal(memcgSkip, undefined, `${memcgSkip}${inCi() ? ' (the wide kernel-matrix guest must be able to run this)' : ''}`);
      const points = metric(await collect(producer), MAP_MEMORY.name).dataPoints;
      const exported = points.reduce((n, p) => n + (p.value as number), 0);
      const charged = nonTaskKernelMemory(loaded!) - nonTaskKernelMemory(baseline!);
      t.diagnostic(`possible CPUs ${possibleCpus()}; exported ${exported} B; memcg kernel growth ${charged} B`);
      t.diagnostic(`per map: ${points.map((p) => `${String(p.attributes[ATTR_MAP])}=${String(p.value)}`).join(' ')}`);
      t.diagnostic(`memcg growth: percpu ${loaded!.percpu! - baseline!.percpu!}, vmalloc ${(loaded!.vmalloc ?? 0) - (baseline!.vmalloc ?? 0)}, slab ${loaded!.slab! - baseline!.slab!}`);
      assert.ok(
        Math.abs(exported - charged) <= TOLERANCE * charged,
        `exported ${exported} B, memcg charged ${charged} B: off by ${(((exported - charged) / charged) * 100).toFixed(1)} %`,
      );
    },
  );

  test('known traffic is counted exactly in the same session', async () => {
    const name = uniqueProcessName('ssmapmem');
    // Few messages, a long time limit: under TCG with more vCPUs than host CPUs a child takes a while.
    const result = await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 4099, messages: 64, timeoutMs: 300_000 });
    const io = metric(await collect(producer), NETWORK_IO.name).dataPoints.filter((p) => p.attributes[ATTR_EXECUTABLE] === name);
    const bytes = (direction: string) =>
      io.filter((p) => p.attributes[ATTR_DIRECTION] === direction).reduce((n, p) => n + (p.value as number), 0);
    assert.ok(result.tcp.ipv4.tx > 0, 'the child moved traffic');
    assert.deepEqual({ tx: bytes('transmit'), rx: bytes('receive') }, result.tcp.ipv4);
    assert.equal(collector!.stats().eventsLost, 0);
  });
});
