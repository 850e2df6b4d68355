/** Runs the real `sockscope run` CLI as a child process, for end-to-end tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { NODE_ENVIRONMENT, NODE_FLAGS } from '../../src/runtime-settings';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
/** As in the Dockerfile and deploy/systemd/sockscope.service (with MALLOC_ARENA_MAX=2). */

export interface DaemonLogLine {
  msg?: string;
  level: number;
  [key: string]: unknown;
}

export class DaemonProcess {
  readonly logs: DaemonLogLine[] = [];
  stderr = '';
  private exit: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as DaemonLogLine);
        } catch {
          this.stderr += `(stdout) ${line}\n`;
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exit = once(child, 'exit').then(([code]) => code as number | null);
  }

  /** Starts the daemon and waits until it logged `readyMessage` (or exited, which is an error). */
  /** `asLaunched`: with the node flags and environment the launchers pass (src/runtime-settings.ts), for memory figures. */
  static async start(args: string[], readyMessage: string, timeoutMs = 30_000, { asLaunched = false } = {}): Promise<DaemonProcess> {
    const nodeArgs = asLaunched ? [...NODE_FLAGS, CLI] : [CLI];
    const env = asLaunched ? { ...process.env, ...NODE_ENVIRONMENT } : process.env;
    const child = spawn(process.execPath, [...nodeArgs, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const daemon = new DaemonProcess(child);
    await daemon.waitForLog((l) => l.msg === readyMessage, timeoutMs);
    return daemon;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** null while the daemon runs. */
  get exitCode(): number | null {
    return this.child.exitCode;
  }

  async waitForLog(predicate: (line: DaemonLogLine) => boolean, timeoutMs: number): Promise<DaemonLogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(predicate);
      if (found) return found;
      if (this.child.exitCode !== null) {
        throw new Error(`daemon exited with ${this.child.exitCode}; stderr: ${this.stderr}; logs: ${JSON.stringify(this.logs)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`daemon did not log the expected line; logs: ${JSON.stringify(this.logs)}; stderr: ${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a signal and resolves to the exit status. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exit;
  }
}
