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
 * Whether sockscope's hash maps (socket I/O, socket and listener owners) must be
 * preallocated. Allocated on use they hold only what is live, but only since Linux 6.1 does
 * the kernel allocate safely from tracing programs (its BPF memory allocator). In a 5.10
 * guest both fexit and kprobe programs load with such maps and count exactly, but the
 * kprobe load (by the 5.10 source, a classic tracepoint's too; fexit's and tp_btf's do not)
 * fires a kernel WARN, "trace type BPF program uses run-time allocation" (fatal under
 * panic_on_warn): such a program may run inside the allocator's own locked sections.
 * The unchecked types carry the same hazard in principle, and before 6.1 the kernel's
 * memlock figure of a map allocated on use is its full size anyway (what
 * sockscope_ebpf_map_memory_bytes reports), so every kernel before 6.1 preallocates: one
 * rule, no kernel warning. Preallocated, the socket I/O maps are ebpf.maxFlows entries of
 * 192 bytes (13 MiB for both at the default) and the owner map ebpf.maxSockets entries of
 * 128 bytes (36 MiB at the default); from 6.1 they cost what is live.
 */
export function hashMapsNeedPreallocation(release: string = os.release()): boolean {
  return !kernelAtLeast(release, 6, 1);
}
