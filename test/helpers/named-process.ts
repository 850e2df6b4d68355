/** Drives test/fixtures/connect-child.js: a named process that listens, connects, holds or sends. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const CHILD = path.join(__dirname, '..', 'fixtures', 'connect-child.js');

export class NamedProcess {
  private readonly replies: unknown[] = [];
  private waiters: Array<() => void> = [];
  private stderr = '';
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.replies.push(JSON.parse(line));
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    this.exited = once(child, 'exit').then(([code]) => {
      for (const w of this.waiters.splice(0)) w();
      return code as number | null;
    });
  }

  /**
   * `netns`: run in that named network namespace (`ip netns exec` execs the child: same pid).
   * `cgroup`: a cgroup v2 directory the process joins before it runs (a shell moves itself, then execs).
   */
  static start(command: Record<string, unknown>, { netns, cgroup }: { netns?: string; cgroup?: string } = {}): NamedProcess {
    const node = [process.execPath, CHILD, JSON.stringify(command)];
    const inNetns = netns ? ['ip', 'netns', 'exec', netns, ...node] : node;
    const [file, ...args] = cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...inNetns] : inNetns;
    return new NamedProcess(spawn(file!, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The next JSON line the child prints. */
  async reply<T>(timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.child.exitCode !== null) throw new Error(`child exited ${this.child.exitCode}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`child did not answer in ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return this.replies.shift() as T;
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  async exit(): Promise<number | null> {
    if (this.child.exitCode === null) {
      this.send('exit');
      this.child.stdin!.end();
    }
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
