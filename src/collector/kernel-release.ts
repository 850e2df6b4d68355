/** Kernel features that decide how BPF objects are set up, by `uname -r` release. */
import os from 'node:os';

/** True when `release` (e.g. "6.1.0-56-amd64") is at least major.minor; false if unreadable. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(release);
  if (!match) return false;
  const [have, haveMinor] = [Number(match[1]), Number(match[2])];
  return have > major || (have === major && haveMinor >= minor);
}

/**
 * Whether the socket I/O maps must be preallocated: ebpf.maxFlows entries of 192 bytes
 * each (6 MiB per map at the default), whatever the CPU count. Allocated on use they
 * hold only the pairs active in one drain interval, but only since Linux 6.1 does the
 * kernel allocate safely from tracing programs (its BPF memory allocator). In a 5.10
 * guest both fexit and kprobe programs load with such maps and count exactly, but the
 * kprobe load (by the 5.10 source, a classic tracepoint's too; fexit's does not) fires a
 * kernel WARN, "trace type BPF program uses run-time allocation" (fatal under
 * panic_on_warn): such a program may run inside the allocator's own locked sections.
 * fexit is not checked there, yet the same hazard holds in principle, and preallocation
 * keeps memory within budget (13 MiB for both maps at the default), so every kernel
 * before 6.1 preallocates: one rule, no kernel warning.
 */
export function flowMapsNeedPreallocation(release: string = os.release()): boolean {
  return !kernelAtLeast(release, 6, 1);
}
