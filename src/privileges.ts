/**
 * Linux capabilities: what this process holds, what the daemon still needs once its
 * probes are attached, and dropping the rest in every thread (the addon's capabilities.cc
 * does the per-thread work; this module decides and checks).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { kernelAtLeast } from './collector/kernel-release';
import { loadNativeAddon, type NativeAddon } from './collector/native-addon';

/** capability(7) numbers, as in linux/capability.h. */
export const CAPABILITY_NUMBERS = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
} as const;

export type CapabilityName = keyof typeof CAPABILITY_NUMBERS;

const NAMES_BY_NUMBER = new Map<number, CapabilityName>(
  Object.entries(CAPABILITY_NUMBERS).map(([name, bit]) => [bit, name as CapabilityName]),
);

export function isCapabilityName(name: string): name is CapabilityName {
  return Object.prototype.hasOwnProperty.call(CAPABILITY_NUMBERS, name);
}

/** The names in a capability mask (as /proc/<pid>/status prints it), lowest bit first. */
export function capabilitiesInMask(mask: bigint): CapabilityName[] {
  const names: CapabilityName[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (((mask >> BigInt(bit)) & 1n) === 0n) continue;
    const name = NAMES_BY_NUMBER.get(bit);
    if (name) names.push(name);
  }
  return names;
}

/** One thread's sets, from /proc/<pid>/task/<tid>/status. */
export interface ThreadCapabilities {
  tid: number;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  bounding: bigint;
  ambient: bigint;
  noNewPrivs: boolean;
}

/** Parses the Cap* and NoNewPrivs lines of a proc status file. */
export function parseStatusCapabilities(tid: number, status: string): ThreadCapabilities {
  const mask = (field: string): bigint => {
    const match = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    return match?.[1] === undefined ? 0n : BigInt(`0x${match[1]}`);
  };
  return {
    tid,
    effective: mask('CapEff'),
    permitted: mask('CapPrm'),
    inheritable: mask('CapInh'),
    bounding: mask('CapBnd'),
    ambient: mask('CapAmb'),
    noNewPrivs: /^NoNewPrivs:\s*1$/m.test(status),
  };
}

/** Every thread of a process (default: this one). Threads that exit meanwhile are left out. */
export function readThreadCapabilities(pid: number | 'self' = 'self'): ThreadCapabilities[] {
  const threads: ThreadCapabilities[] = [];
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.push(parseStatusCapabilities(Number(entry), readFileSync(`/proc/${pid}/task/${entry}/status`, 'utf8')));
    } catch {
      // the thread exited between readdir and read
    }
  }
  return threads;
}

/** What the kernel facts that decide the run-time needs are. */
export interface KernelFacts {
  /** uname -r, e.g. "6.1.0-18-amd64". */
  release: string;
  /** kernel.unprivileged_bpf_disabled; undefined when unreadable. */
  unprivilegedBpfDisabled: number | undefined;
}

export function readKernelFacts(): KernelFacts {
  let unprivilegedBpfDisabled: number | undefined;
  try {
    unprivilegedBpfDisabled = Number(readFileSync('/proc/sys/kernel/unprivileged_bpf_disabled', 'utf8').trim());
  } catch {
    unprivilegedBpfDisabled = undefined;
  }
  return { release: os.release(), unprivilegedBpfDisabled };
}

/**
 * What the daemon needs once its probes are attached and the /proc socket walk is done.
 * The ring buffer is mmapped and the programs stay attached through their open fds, so
 * the only privileged operation left is reading the stats map with bpf(BPF_MAP_LOOKUP_ELEM)
 * on an fd we hold. Linux 6.5 checks capabilities only where maps and programs are created;
 * before it, every bpf() call needs CAP_BPF (CAP_SYS_ADMIN before 5.8) unless unprivileged
 * BPF is enabled. Everything else (cgroup and pod directories, /proc/<pid>/cgroup, the
 * HTTP server on a port above 1024, OTLP) needs no capability.
 */
export function runtimeCapabilities(kernel: KernelFacts, needs: { conntrack?: boolean } = {}): CapabilityName[] {
  // Every conntrack netlink query is checked against the sending thread's CAP_NET_ADMIN.
  const conntrack: CapabilityName[] = needs.conntrack ? ['CAP_NET_ADMIN'] : [];
  if (kernelAtLeast(kernel.release, 6, 5) || kernel.unprivilegedBpfDisabled === 0) return conntrack;
  return [kernelAtLeast(kernel.release, 5, 8) ? 'CAP_BPF' : 'CAP_SYS_ADMIN', ...conntrack];
}

/** What dropCapabilities did, for the log. */
export interface DropResult {
  /** Held before and still held (effective and permitted) in every thread that could be asked. */
  kept: CapabilityName[];
  /** Held before, gone now. */
  dropped: CapabilityName[];
  /** Threads that dropped, this one included. */
  threads: number;
  /**
   * Threads that block every signal and so could not be asked: Node's SIGUSR1 watchdog,
   * which only waits on a semaphore. They keep their start-up set.
   */
  unreachableThreads: number[];
  /** Whether the bounding set shrank too (needs CAP_SETPCAP; otherwise the runtime's stays). */
  boundingSetReduced: boolean;
}

/** The addon's side (declared with the rest of the addon), narrowed so that tests can stand in for it. */
export type CapabilitiesAddon = Pick<NativeAddon, 'dropCapabilities'>;

export class CapabilityDropError extends Error {
  override name = 'CapabilityDropError';
}

/**
 * Keeps only `keep` (of what is held) in every thread of this process, clears the ambient
 * and inheritable sets and sets no_new_privs, then checks each thread in /proc. Throws
 * CapabilityDropError when a thread that could be asked still holds more.
 */
export function dropCapabilities(
  keep: readonly CapabilityName[],
  addon: CapabilitiesAddon = loadNativeAddon(),
): DropResult {
  for (const name of keep) {
    if (!isCapabilityName(name)) throw new TypeError(`unknown capability ${JSON.stringify(name)}`);
  }
  const before = readThreadCapabilities('self').find((t) => t.tid === process.pid);
  const outcome = addon.dropCapabilities(keep.map((name) => CAPABILITY_NUMBERS[name]));
  if (outcome.error !== null) throw new CapabilityDropError(`dropping capabilities failed: ${outcome.error}`);
  if (outcome.unansweredThreads > 0) {
    throw new CapabilityDropError(`${outcome.unansweredThreads} thread(s) did not drop their capabilities in time`);
  }

  const allowed = keep.reduce((mask, name) => mask | (1n << BigInt(CAPABILITY_NUMBERS[name])), 0n);
  const unreachable = new Set(outcome.unreachableTids);
  const stillPrivileged = readThreadCapabilities('self').filter(
    (t) => !unreachable.has(t.tid) && ((t.effective | t.permitted | t.ambient | t.inheritable) & ~allowed) !== 0n,
  );
  if (stillPrivileged.length > 0) {
    const detail = stillPrivileged.map((t) => `${t.tid}: ${capabilitiesInMask(t.permitted).join(',')}`).join('; ');
    throw new CapabilityDropError(`threads still hold capabilities after the drop (${detail})`);
  }

  const held = before?.permitted ?? 0n;
  return {
    kept: capabilitiesInMask(held & allowed),
    dropped: capabilitiesInMask(held & ~allowed),
    threads: outcome.threadsDropped,
    unreachableThreads: outcome.unreachableTids,
    boundingSetReduced: outcome.boundingSetReduced,
  };
}
