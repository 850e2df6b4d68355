/** The kprobe events sockscope defined in tracefs (addon/src/tracefs_kprobe.cc). */
import { existsSync, readFileSync } from 'node:fs';

const KPROBE_EVENTS = ['/sys/kernel/tracing/kprobe_events', '/sys/kernel/debug/tracing/kprobe_events'];

/** Definitions of process `pid`'s probes (named sockscope/p<pid>_<n>_<function>); none where tracefs has no kprobe_events. */
export function kprobeEventsOf(pid: number): string[] {
  const file = KPROBE_EVENTS.find((f) => existsSync(f));
  if (!file) return [];
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.includes(`:sockscope/p${pid}_`));
}
