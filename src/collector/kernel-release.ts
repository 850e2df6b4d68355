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
 * Whether the per-CPU socket I/O maps must be preallocated. A preallocated per-CPU hash
 * holds max_entries values on every possible CPU (about 7 MiB per CPU per map at the
 * default ebpf.maxFlows); allocated on use it holds only the pairs active in one drain
 * interval. Tracing programs may use hash maps allocated on use since Linux 6.1.
 */
export function flowMapsNeedPreallocation(release: string = os.release()): boolean {
  return !kernelAtLeast(release, 6, 1);
}
