/**
 * sockscope_ebpf_map_memory_bytes against an independent reading of the kernel's memory,
 * and exact bytes in the same session.
 *
 * The metric reads each map's `memlock` from fdinfo. Reading that field back would prove
 * nothing, so the reference is the kernel's memory accounting across the collector's start
 * (test/helpers/kernel-memory.ts): from Linux 6.4, where memlock is each map's
 * map_mem_usage(), the memory cgroup this process moves into (BPF maps are charged to it since
 * 5.11); before 5.11, which charges maps to no cgroup and prints the cost it charged at creation,
 * /proc/meminfo of the idle guest. 5.11-6.3 print an estimate as memlock (docs/counting.md) and
 * are skipped. What grows besides the maps (the programs, a few file objects) is about 1 % of
 * the maps at the defaults.
 *
 * The kernel matrix also runs this file in a guest with more vCPUs than the host
 * (MAP_MEMORY_MIN_CPUS, run-matrix.sh), where per-CPU maps and the per-CPU cache weigh more.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { loadConfig } from '../../src/config/load';
import { ATTR_DIRECTION, ATTR_EXECUTABLE, ATTR_MAP, MAP_MEMORY, NETWORK_IO } from '../../src/metrics/definitions';
import type { SockscopeProducer } from '../../src/metrics/sockscope-producer';
import { collectorOptions } from '../../src/startup';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import {
  kernelMemoryReference,
  kernelMemoryReferenceReason,
  memlockMeansMemory,
  settledReading,
  type KernelMemoryReference,
} from '../helpers/kernel-memory';
import { testProducer } from '../helpers/producer';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';

/**
 * The acceptance asks for 10 %; 5 % is held, because at the defaults the smaller maps that matter
 * (ring buffer, listeners, each socket I/O map) are each 6-10 % of the total, so a metric that
 * left one of them out would still pass at 10 %. Measured on 6.12 with 8 vCPUs: 1.0 % under.
 */
const TOLERANCE = 0.05;
/** Set by the kernel matrix's wide guest: the test must see at least this many CPUs. */
const MIN_CPUS = Number(process.env.MAP_MEMORY_MIN_CPUS ?? 0);

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
  let reference: KernelMemoryReference | string = 'not chosen';
  let baseline = 0;
  let loaded = 0;

  before(async () => {
    requireBpf();
    if (MIN_CPUS > 0) assert.ok(possibleCpus() >= MIN_CPUS, `MAP_MEMORY_MIN_CPUS=${MIN_CPUS}, but this kernel has ${possibleCpus()} possible CPUs`);
    // The first BPF load after boot makes the kernel parse its own BTF and keep it (megabytes
    // on 5.10): a cost of the machine, not of these maps, so it is paid before the baseline.
    BpfCollector.start(collectorOptions(config)).close();
    reference = kernelMemoryReference();
    if (typeof reference !== 'string') baseline = await settledReading(reference);
    collector = BpfCollector.start(collectorOptions(config));
    producer = testProducer(collector);
    if (typeof reference !== 'string') loaded = await settledReading(reference);
  });

  after(() => {
    collector?.close();
    if (typeof reference !== 'string') reference.close();
  });

  test('every map the session created is exported with its kernel memory', async () => {
    const points = metric(await collect(producer), MAP_MEMORY.name).dataPoints;
    const maps = points.map((p) => String(p.attributes[ATTR_MAP]));
    // Whatever maps the session has; these two every configuration creates.
    for (const required of ['events', 'sockets']) assert.ok(maps.includes(required), `${required} in ${maps.join(', ')}`);
    if (!memlockMeansMemory()) return; // 5.11-6.3: the kernel's estimate, 0 for the ring buffer
    for (const p of points) assert.ok((p.value as number) > 0, `${String(p.attributes[ATTR_MAP])}: ${String(p.value)} bytes`);
    // The ring buffer is at least its data pages.
    const events = points.find((p) => p.attributes[ATTR_MAP] === 'events')!;
    assert.ok((events.value as number) >= config.ebpf.ringBufferSize);
  });

  test(
    'the sum over maps is within 5 % of the kernel memory the start took',
    // Decided before `before` runs: the same rule, without setting anything up.
    { skip: MIN_CPUS === 0 && typeof kernelMemoryReferenceReason() === 'string' ? kernelMemoryReferenceReason() : false },
    async (t) => {
      assert.ok(typeof reference !== 'string', `no reference here: ${String(reference)}${MIN_CPUS > 0 ? ' (the wide kernel-matrix guest must have one)' : ''}`);
      const points = metric(await collect(producer), MAP_MEMORY.name).dataPoints;
      const exported = points.reduce((n, p) => n + (p.value as number), 0);
      const grown = loaded - baseline;
      t.diagnostic(`possible CPUs ${possibleCpus()}; exported ${exported} B; ${reference.source} grew ${grown} B`);
      t.diagnostic(`per map: ${points.map((p) => `${String(p.attributes[ATTR_MAP])}=${String(p.value)}`).join(' ')}`);
      assert.ok(
        Math.abs(exported - grown) <= TOLERANCE * grown,
        `exported ${exported} B, the kernel's memory grew ${grown} B: off by ${(((exported - grown) / grown) * 100).toFixed(1)} %`,
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
