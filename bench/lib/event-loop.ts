/**
 * The daemon's event-loop delay over a window the bench chooses: the daemon runs with
 * bench/lib/daemon-probe.js preloaded, which samples perf_hooks.monitorEventLoopDelay and
 * reports the window since the previous SIGUSR2 on each SIGUSR2.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface EventLoopDelay {
  /** Delay samples in the window (one per loop turn, at least every millisecond). */
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const PROBE = path.join(__dirname, 'daemon-probe.js');

export class EventLoopProbe {
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'ssbench-loop-'));
  readonly file = path.join(this.dir, 'event-loop.jsonl');

  /** Node flags that preload the probe, to add to the daemon's. */
  readonly nodeArgs = ['-r', PROBE];
  get env(): Record<string, string> {
    return { SSBENCH_EVENT_LOOP_FILE: this.file };
  }

  private lines(): EventLoopDelay[] {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as EventLoopDelay);
  }

  /** Ends the daemon's current window and returns it (waits for the probe to write it). */
  async mark(pid: number): Promise<EventLoopDelay> {
    const before = this.lines().length;
    process.kill(pid, 'SIGUSR2');
    for (let i = 0; i < 500; i++) {
      const lines = this.lines();
      if (lines.length > before) return lines[lines.length - 1]!;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`the daemon's event-loop probe wrote nothing to ${this.file}`);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
