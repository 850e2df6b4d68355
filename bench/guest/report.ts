/** Markdown tables of the guest phases: kernel memory by vCPU count, and the drain's CPU cost. */
import type { GuestRun } from '../phases/guest';
import type { MapMemory, Meminfo } from '../lib/kernel-memory';
import { round } from '../lib/stats';

/** Issue 11's target: all maps at defaults within 32 MiB + 0.5 MiB per CPU. */
export const budgetBytes = (cpus: number): number => (32 + 0.5 * cpus) * 2 ** 20;

const mib = (bytes: number): string => `${round(bytes / 2 ** 20, 1)}`;
const kibToMib = (kib: number): string => `${round(kib / 1024, 1)}`;
/** What the maps took from the kernel's pools: per-CPU chunks, vmalloc areas, slab. */
const pools = (d: Meminfo): number => (d.Percpu + d.VmallocUsed + d.Slab) * 1024;
const largest = (maps: readonly MapMemory[], n = 3): string =>
  maps
    .slice(0, n)
    .map((m) => `${m.name} ${mib(m.memlockBytes)}`)
    .join(', ');

/** Least-squares line through (cpus, bytes): memory = fixed + perCpu × CPUs. */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): { fixed: number; perCpu: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const perCpu = sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  return { fixed: my - perCpu * mx, perCpu };
}

const PROJECTED_CPUS = 256;

/** Per kernel, the memlock line through the idle readings and where it puts a 256-CPU node. */
function fitTable(runs: readonly GuestRun[]): string[] {
  const byKernel = new Map<string, Array<[number, number]>>();
  for (const r of runs) {
    if (!r.measurement) continue;
    const points = byKernel.get(r.measurement.kernel) ?? [];
    points.push([r.measurement.possibleCpus, r.measurement.idle.mapsMemlockBytes]);
    byKernel.set(r.measurement.kernel, points);
  }
  const out: string[] = ['', `Fit of the idle maps memlock over the vCPU counts, and the projection to ${PROJECTED_CPUS} CPUs:`, ''];
  out.push(`| kernel | readings | fixed MiB | MiB per CPU | at ${PROJECTED_CPUS} CPUs MiB | budget at ${PROJECTED_CPUS} MiB |`, '| --- | --- | --- | --- | --- | --- |');
  for (const [kernel, points] of byKernel) {
    if (new Set(points.map(([x]) => x)).size < 2) continue;
    const { fixed, perCpu } = fitLine(points);
    out.push(
      `| ${kernel} | ${points.length} | ${mib(fixed)} | ${round(perCpu / 2 ** 20, 3)} | ${mib(fixed + perCpu * PROJECTED_CPUS)} | ${mib(budgetBytes(PROJECTED_CPUS))} |`,
    );
  }
  return out;
}

export function renderGuestTables(runs: readonly GuestRun[]): string[] {
  const out: string[] = [];
  out.push('### Kernel memory of the maps at defaults, by vCPU count (QEMU/TCG guests)', '');
  out.push(
    'memlock: the sum over every map the daemon holds of the kernel\'s own figure (fdinfo, bpftool bytes_memlock). ' +
      'Δ: /proc/meminfo with the daemon up and idle minus before it started (MiB). Budget: 32 MiB + 0.5 MiB × CPUs.',
    '',
  );
  out.push('| kernel | vCPUs | maps memlock MiB | Δ Percpu | Δ VmallocUsed | Δ Slab | Δ sum | budget MiB | memlock within budget | largest maps (MiB) |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) {
    const m = r.measurement;
    if (!m) {
      out.push(`| ${r.kernelId} | ${r.smp} | failed: ${(r.error ?? '').split('\n')[0]} | | | | | | | |`);
      continue;
    }
    const d = m.idle.meminfoDeltaKiB;
    const budget = budgetBytes(m.possibleCpus);
    out.push(
      `| ${m.kernel} | ${m.possibleCpus} | ${mib(m.idle.mapsMemlockBytes)} | ${kibToMib(d.Percpu)} | ${kibToMib(d.VmallocUsed)} | ${kibToMib(d.Slab)} | ` +
        `${mib(pools(d))} | ${mib(budget)} | ${m.idle.mapsMemlockBytes <= budget ? 'yes' : 'NO'} | ${largest(m.idle.maps)} |`,
    );
  }
  out.push(...fitTable(runs));
  const drains = runs.filter((r) => r.measurement?.drain);
  if (drains.length > 0) {
    out.push('', '### With 10k active sockets: memory and the daemon\'s CPU per event rate', '');
    out.push(
      '`loadgen flows`: 5 000 loopback TCP connections, 64 bytes each way per connection per round; the steady part only. ' +
        'CPU per 100k events/s = (daemon CPU s ÷ wall s) ÷ (events/s ÷ 100 000). Under TCG compare vCPU counts of one run, not absolute figures.',
      '',
    );
    out.push('| kernel | vCPUs | events/s | daemon CPU s / wall s | CPU per 100k events/s | bytes exported = moved | lost | maps memlock MiB | Δ Percpu | Δ sum | largest maps (MiB) |');
    out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of drains) {
      const m = r.measurement!;
      const dr = m.drain!;
      out.push(
        `| ${m.kernel} | ${m.possibleCpus} | ${dr.eventsPerSecond} | ${dr.daemonCpuSeconds} / ${dr.seconds} | ${dr.daemonCpuPer100kEventsPerSecond} | ` +
          `${dr.exportedBytes === dr.loadgenBytes ? 'yes' : `NO (${dr.exportedBytes} of ${dr.loadgenBytes})`} | ${dr.lost} | ${mib(dr.memory.mapsMemlockBytes)} | ` +
          `${kibToMib(dr.memory.meminfoDeltaKiB.Percpu)} | ${mib(pools(dr.memory.meminfoDeltaKiB))} | ${largest(dr.memory.maps)} |`,
      );
    }
  }
  out.push('');
  return out;
}
