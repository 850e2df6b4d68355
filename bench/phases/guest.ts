/**
 * Kernel memory and drain cost by CPU count: boots kernel-matrix guests (QEMU/TCG, any -smp on
 * this host) and runs bench/guest/measure.ts in each, the real daemon at its defaults.
 *
 * - guest-memory: every kernel × vCPU count, the memory readings of an idle daemon.
 * - guest-drain: the same plus 10k active sockets (5 000 loopback TCP connections) moving a known
 *   event rate, for the daemon's CPU per 100k events/s. Under TCG the absolute CPU figure means
 *   little; the ratio between vCPU counts of one run is the result.
 *
 * One guest at a time: each takes the whole host under TCG.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChild } from '../lib/children';
import { REPO_ROOT } from '../lib/native-build';
import type { GuestMeasurement } from '../guest/measure';

export interface GuestRun {
  kernelId: string;
  smp: number;
  memory: string;
  measurement?: GuestMeasurement;
  /** Why the guest gave no measurement; the other guests still run. */
  error?: string;
}

/** One boot: a kernel, a vCPU count, and connections for the drain (0: memory only). */
export interface GuestPlan {
  kernelId: string;
  smp: number;
  connections: number;
}

export interface GuestOptions {
  plan: GuestPlan[];
  /** Seconds of steady load in a drain run. */
  seconds: number;
  log: (line: string) => void;
}

const RUN_GUEST = path.join(REPO_ROOT, 'test', 'kernel-matrix', 'run-guest');
const MEASURE = path.join('dist', 'bench', 'guest', 'measure.js');

/**
 * Under TCG on a busy host each vCPU's delay-loop calibration fails and retries for seconds
 * (minutes at 64 vCPUs); a preset loops-per-jiffy skips it. It only scales udelay().
 */
const SKIP_CALIBRATION = 'lpj=10000000';

/** Guest memory: the daemon, the tmpfs overlay, and on 5.10 ≈ 14 MiB of preallocated per-CPU values per vCPU. */
function guestMemory(smp: number): string {
  return smp > 16 ? '4G' : '2G';
}

export async function measureGuests(options: GuestOptions): Promise<GuestRun[]> {
  const runs: GuestRun[] = [];
  for (const { kernelId, smp, connections } of options.plan) {
    const memory = guestMemory(smp);
    options.log(`guest ${kernelId}, ${smp} vCPUs, ${memory}${connections ? `, ${connections} connections` : ''}`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sockscope-guest-'));
    try {
      const command = ['node', MEASURE, '--out', '/run/kernel-matrix/results/measure.json'];
      if (connections) command.push('--connections', String(connections), '--seconds', String(options.seconds));
      await runChild('bash', [RUN_GUEST, '--quiet', '--smp', String(smp), '--memory', memory, '--timeout', '40m', '--out', dir, kernelId, '--', ...command], {
        cwd: REPO_ROOT,
        env: { ...process.env, KERNEL_MATRIX_APPEND: [process.env.KERNEL_MATRIX_APPEND, SKIP_CALIBRATION].filter(Boolean).join(' ') },
      }).catch((err: Error) => {
        const output = (() => {
          try {
            return readFileSync(path.join(dir, 'output.log'), 'utf8').slice(-3000);
          } catch {
            return '';
          }
        })();
        throw new Error(`${err.message}\n${output}`);
      });
      const measurement = JSON.parse(readFileSync(path.join(dir, 'results', 'measure.json'), 'utf8')) as GuestMeasurement;
      runs.push({ kernelId, smp, memory, measurement });
      const m = measurement;
      options.log(
        `  ${m.kernel}: maps ${(m.idle.mapsMemlockBytes / 2 ** 20).toFixed(1)} MiB memlock idle, Percpu +${(m.idle.meminfoDeltaKiB.Percpu / 1024).toFixed(1)} MiB` +
          (m.drain ? `; loaded ${(m.drain.memory.mapsMemlockBytes / 2 ** 20).toFixed(1)} MiB, ${m.drain.daemonCpuPer100kEventsPerSecond} CPU per 100k events/s` : ''),
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      options.log(`  failed: ${message.split('\n')[0]}`);
      runs.push({ kernelId, smp, memory, error: message });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return runs;
}
