/**
 * Kernel memory read independently of BPF's own per-map figures (fdinfo memlock), to hold
 * sockscope_ebpf_map_memory_bytes to: the growth of one of these across the collector's start.
 *
 * - memcg (Linux 6.4+ with cgroup v2): the process moves into a memory cgroup of its own; BPF
 *   maps are charged to it since 5.11. Its memory.stat `kernel`, minus the stacks of new threads
 *   and the page tables of a grown heap.
 * - meminfo (before 5.11, which charges maps to no cgroup): the whole machine's memory in use
 *   that is neither user pages, page cache, page tables, stacks nor reclaimable slab. Sound only
 *   on an otherwise idle machine: the kernel matrix's guests.
 * 5.11 to 6.3 have neither a usable reference nor a memlock that means usage (an estimate from
 * the map's sizes), so there is nothing to hold the metric to.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kernelAtLeast } from '../../src/collector/kernel-release';

const CGROUP_ROOT = '/sys/fs/cgroup';

export interface KernelMemoryReference {
  /** What is read, for messages. */
  readonly source: string;
  /** Kernel memory in use now that is not a stack or page table, bytes. */
  read(): number;
  /** Undoes what choosing the reference set up (the cgroup). */
  close(): void;
}

/** The reference this kernel allows (set up: a memcg reference moves this process), or why there is none. */
export function kernelMemoryReference(release: string = os.release()): KernelMemoryReference | string {
  const kind = referenceKind(release);
  return kind === 'memcg' ? memcgReference() : kind === 'meminfo' ? meminfoReference() : kind;
}

/** Why this kernel allows no reference, or undefined; sets nothing up. */
export function kernelMemoryReferenceReason(release: string = os.release()): string | undefined {
  const kind = referenceKind(release);
  return kind === 'memcg' || kind === 'meminfo' ? undefined : kind;
}

/**
 * False on 5.11 to 6.3: their memlock is (key + value) x max_entries rounded to a page, which
 * leaves out per-element overhead and is 0 for a ring buffer (measured on 6.1).
 */
export function memlockMeansMemory(release: string = os.release()): boolean {
  return !kernelAtLeast(release, 5, 11) || kernelAtLeast(release, 6, 4);
}

function referenceKind(release: string): 'memcg' | 'meminfo' | string {
  if (!memlockMeansMemory(release)) return `Linux ${release} prints map memlock as an estimate from the map's sizes (6.4+ prints usage)`;
  if (!kernelAtLeast(release, 5, 11)) return 'meminfo';
  if (!existsSync(path.join(CGROUP_ROOT, 'cgroup.subtree_control'))) return `${CGROUP_ROOT} is not a cgroup v2 hierarchy`;
  if (!readFileSync(path.join(CGROUP_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) {
    return 'the cgroup v2 hierarchy has no memory controller';
  }
  if (readFileSync('/proc/self/cgroup', 'utf8').trim() !== '0::/') return 'this process is not in the root cgroup, where it may make its own';
  return 'memcg';
}

function memcgReference(): KernelMemoryReference {
  writeFileSync(path.join(CGROUP_ROOT, 'cgroup.subtree_control'), '+memory');
  const cgroup = path.join(CGROUP_ROOT, `sockscope-map-memory-${process.pid}`);
  mkdirSync(cgroup);
  writeFileSync(path.join(cgroup, 'cgroup.procs'), String(process.pid));
  return {
    source: `memory.stat kernel - kernel_stack - pagetables of ${cgroup}`,
    read() {
      const s = keyedNumbers(path.join(cgroup, 'memory.stat'), 1);
      return s.kernel! - (s.kernel_stack ?? 0) - (s.pagetables ?? 0);
    },
    close() {
      writeFileSync(path.join(CGROUP_ROOT, 'cgroup.procs'), String(process.pid));
      rmdirSync(cgroup);
    },
  };
}

function meminfoReference(): KernelMemoryReference {
  return {
    source: '/proc/meminfo MemTotal - MemFree - AnonPages - Cached - Buffers - PageTables - KernelStack - SReclaimable',
    read() {
      const m = keyedNumbers('/proc/meminfo', 1024);
      const notMaps = ['MemFree', 'AnonPages', 'Cached', 'Buffers', 'PageTables', 'KernelStack', 'SReclaimable'];
      return notMaps.reduce((n, key) => n - (m[key] ?? 0), m.MemTotal!);
    },
    close() {},
  };
}

/** "key value" or "Key: value kB" lines, values times `unit`. */
function keyedNumbers(file: string, unit: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^(\w+):?\s+(\d+)/.exec(line);
    if (match) out[match[1]!] = Number(match[2]) * unit;
  }
  return out;
}

/**
 * A reading once two readings 2.5 s apart agree within 64 KiB: memcg statistics are flushed
 * every 2 s, vmstat every second, and maps the attach planner threw away are freed late.
 */
export async function settledReading(reference: KernelMemoryReference): Promise<number> {
  let previous = reference.read();
  for (let i = 0; i < 20; i++) {
    await sleep(2500);
    const current = reference.read();
    if (Math.abs(current - previous) < 64 * 1024) return current;
    previous = current;
  }
  return previous;
}
