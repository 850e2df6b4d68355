/**
 * kernel.bpf_stats_enabled: while it is 0 the kernel does not time BPF programs, so
 * bpf_prog_info run_time_ns and run_cnt stand still and exporting them would mislead.
 * sockscope only reads the switch; turning it on is the operator's choice (it costs
 * every program run two clock reads).
 */
import { readFileSync } from 'node:fs';

export const BPF_STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/** True when the sysctl reads non-zero; false when it is 0 or absent (kernels before 5.1). */
export function bpfStatsEnabled(file: string = BPF_STATS_SYSCTL): boolean {
  try {
    return readFileSync(file, 'utf8').trim() !== '0';
  } catch {
    return false;
  }
}
