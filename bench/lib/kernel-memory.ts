/**
 * Kernel memory as the kernel accounts it: /proc/meminfo (the Percpu, VmallocUsed and Slab
 * pools BPF maps are allocated from) and, per map a process holds, the memlock figure of
 * its fdinfo (what `bpftool map show` prints as bytes_memlock), named through bpftool.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { runChild } from './children';

/** The /proc/meminfo fields BPF maps and their bookkeeping show up in, in KiB. */
export const MEMINFO_FIELDS = ['MemFree', 'Percpu', 'VmallocUsed', 'Slab', 'SUnreclaim'] as const;
export type Meminfo = Record<(typeof MEMINFO_FIELDS)[number], number>;

export function parseMeminfo(text: string): Meminfo {
  const out = {} as Meminfo;
  for (const field of MEMINFO_FIELDS) {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!match) throw new Error(`/proc/meminfo has no ${field} line`);
    out[field] = Number(match[1]);
  }
  return out;
}

export function readMeminfo(): Meminfo {
  return parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
}

export function meminfoDelta(after: Meminfo, before: Meminfo): Meminfo {
  const out = {} as Meminfo;
  for (const field of MEMINFO_FIELDS) out[field] = after[field] - before[field];
  return out;
}

export interface MapMemory {
  id: number;
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** The kernel's memlock figure for the map (fdinfo `memlock`, bpftool's bytes_memlock). */
  memlockBytes: number;
}

/** Parses one map fdinfo; undefined when the fd is not a BPF map. */
export function parseMapFdinfo(text: string): Omit<MapMemory, 'name'> | undefined {
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const id = field('map_id');
  if (id === undefined) return undefined;
  return {
    id,
    type: field('map_type') ?? NaN,
    keySize: field('key_size') ?? NaN,
    valueSize: field('value_size') ?? NaN,
    maxEntries: field('max_entries') ?? NaN,
    memlockBytes: field('memlock') ?? NaN,
  };
}

/** Every BPF map `pid` holds an fd to, once each, without names (cheap enough to poll). */
export function mapsHeldBy(pid: number): Map<number, Omit<MapMemory, 'name'>> {
  const maps = new Map<number, Omit<MapMemory, 'name'>>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed since the listing
    }
    if (target !== 'anon_inode:bpf-map') continue;
    const info = parseMapFdinfo(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    if (info) maps.set(info.id, info);
  }
  return maps;
}

/** mapsHeldBy() with the names bpftool reports, largest first. */
export async function namedMapsHeldBy(pid: number): Promise<MapMemory[]> {
  const held = mapsHeldBy(pid);
  const { stdout } = await runChild('bpftool', ['map', 'show', '--json']);
  const names = new Map<number, string>();
  for (const m of JSON.parse(stdout) as Array<{ id: number; name?: string }>) names.set(m.id, m.name ?? '');
  return [...held.values()].map((m) => ({ ...m, name: names.get(m.id) ?? '' })).sort((a, b) => b.memlockBytes - a.memlockBytes);
}

export const totalMemlock = (maps: Iterable<{ memlockBytes: number }>): number => {
  let sum = 0;
  for (const m of maps) sum += m.memlockBytes;
  return sum;
};

/** The CPU count per-CPU maps are sized by: /sys/devices/system/cpu/possible ("0-63"). */
export function possibleCpus(): number {
  return countCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
}

/** Counts a kernel CPU list such as "0-3,8,10-11". */
export function countCpuList(list: string): number {
  const text = list.trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) throw new Error(`not a CPU list: ${JSON.stringify(list)}`);
  let count = 0;
  for (const range of text.split(',')) {
    const [lo, hi] = range.split('-').map(Number);
    count += (hi ?? lo!) - lo! + 1;
  }
  return count;
}
