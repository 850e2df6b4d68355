/**
 * A daemon started under some wrapper (setpriv, podman), whose JSON log lines are
 * collected as they come: for tests that check what sockscope says at start-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export class LoggedProcess {
  readonly logs: LogLine[] = [];
  output = '';
  private readonly exit: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    let buffered = '';
    const onData = (chunk: string) => {
      this.output += chunk;
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('{')) {
          try {
            this.logs.push(JSON.parse(line) as LogLine);
          } catch {
            // not a log line
          }
        }
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    this.exit = once(child, 'exit').then(([code]) => code as number | null);
  }

  static start(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): LoggedProcess {
    return new LoggedProcess(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async waitForLog(message: string, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find((l) => l.msg === message);
      if (found) return found;
      if (this.exited) throw new Error(`exited (${this.child.exitCode}) before logging "${message}":\n${this.output.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`no "${message}" within ${timeoutMs} ms:\n${this.output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.exited) this.child.kill(signal);
    return this.exit;
  }

  /** Resolves when the process exits on its own. */
  waitForExit(): Promise<number | null> {
    return this.exit;
  }
}
