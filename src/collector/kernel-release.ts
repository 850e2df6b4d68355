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
 * kernel allocate safely from tracing programs (its BPF memory allocator); before, a
 * kprobe or tracepoint program using such a map loads with a kernel WARN, and every
 * tracing program risks re-entering the allocator.
 */
export function flowMapsNeedPreallocation(release: string = os.release()): boolean {
  return !kernelAtLeast(release, 6, 1);
}
