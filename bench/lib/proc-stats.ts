/** A process's CPU time and memory, from /proc. */
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of the whole process (all threads), in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    // comm may contain spaces or ')': the fields start after the last ') '.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export interface MemoryKiB {
  /** Peak resident set (VmHWM). */
  peak: number;
  rss: number;
  anon: number;
  file: number;
  shmem: number;
}

export function memoryKiB(pid: number): MemoryKiB | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { peak: field('VmHWM'), rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile'), shmem: field('RssShmem') };
  } catch {
    return undefined;
  }
}

/** Resident KiB of mappings whose name matches, e.g. the BPF ring buffer ("anon_inode:bpf-ringbuf"). */
export function mappedRssKiB(pid: number, name: RegExp): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return NaN;
  }
  let total = 0;
  let inside = false;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inside = name.test(line);
    else if (inside && line.startsWith('Rss:')) total += Number(/(\d+)/.exec(line)![1]);
  }
  return total;
}

/** Samples a process's CPU and memory every `periodMs`, keeping the last readings after it exits. */
export class ProcessSampler {
  private cpu: number;
  private peakRss = 0;
  private lastMemory: MemoryKiB | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly pid: number, periodMs = 200) {
    this.cpu = cpuSeconds(pid) ?? 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), periodMs);
  }

  sample(): void {
    this.cpu = cpuSeconds(this.pid) ?? this.cpu;
    const m = memoryKiB(this.pid);
    if (m) {
      this.lastMemory = m;
      this.peakRss = Math.max(this.peakRss, m.rss, m.peak);
    }
  }

  cpuSeconds(): number {
    this.sample();
    return this.cpu;
  }

  memory(): MemoryKiB | undefined {
    this.sample();
    return this.lastMemory;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
