/**
 * The self-test's private network namespace: created by `unshare --net` around a holder
 * child, entered by the other children with `nsenter`, gone when its last process ends.
 * No name under /run/netns is left behind if the self-test is killed: every child exits
 * when its stdin (a pipe from the self-test) closes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildJob } from './jobs';

const CHILD_SCRIPT = path.join(__dirname, 'child.js');

/** One workload child: JSON lines in, JSON lines out. */
export class Child {
  private readonly replies: unknown[] = [];
  private wake: () => void = () => undefined;
  private stderr = '';
  private spawnError: string | undefined;

  constructor(readonly name: string, readonly process: ChildProcess) {
    createInterface({ input: process.stdout! }).on('line', (line) => {
      this.replies.push(JSON.parse(line));
      this.wake();
    });
    process.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    process.on('exit', () => this.wake());
    // e.g. ENOENT: unshare, nsenter (util-linux) or node not found.
    process.on('error', (err) => {
      this.spawnError = `${err.message}`;
      this.wake();
    });
  }

  async reply<T>(timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.spawnError !== undefined) throw new Error(`self-test child ${this.name} could not start: ${this.spawnError}`);
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`self-test child ${this.name} ended without an answer: ${this.stderr.trim() || `status ${this.process.exitCode}`}`);
      }
      if (Date.now() > deadline) throw new Error(`self-test child ${this.name} did not answer in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    return this.replies.shift() as T;
  }

  send(line: string): void {
    this.process.stdin!.write(line + '\n');
  }

  async exited(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await once(this.process, 'exit');
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
  }
}

export class PrivateNamespace {
  private readonly children: Child[] = [];

  private readonly holder: Child;

  /** Spawns the process that holds a fresh namespace; ready() brings its loopback up. */
  constructor(holderName: string) {
    const job: ChildJob = { kind: 'namespace', name: holderName };
    this.holder = new Child(holderName, spawnNode(['unshare', '--net', '--'], job));
    this.children.push(this.holder);
  }

  /** Resolves once the namespace has lo up (127.0.0.1 and, unless IPv6 is off, ::1). */
  async ready(): Promise<void> {
    await this.holder.reply();
    this.exec(['ip', 'link', 'set', 'lo', 'up']);
  }

  private get netnsPath(): string {
    return `/proc/${this.holder.process.pid}/ns/net`;
  }

  /** Runs a command inside the namespace; throws with its stderr when it fails. */
  exec(command: readonly string[]): string {
    return execFileSync('nsenter', [`--net=${this.netnsPath}`, '--', ...command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  start(job: ChildJob): Child {
    const child = new Child(job.name, spawnNode(['nsenter', `--net=${this.netnsPath}`, '--'], job));
    this.children.push(child);
    return child;
  }

  /**
   * Drops every fourth TCP segment with data arriving for `port` (nftables, in this namespace
   * only), so that the sender retransmits. Returns why it could not, e.g. no nft or no nf_tables.
   */
  dropSomeSegments(port: number): string | undefined {
    const rule = ['tcp', 'dport', String(port), 'meta', 'length', '>', '500', 'numgen', 'inc', 'mod', '4', '==', '0', 'drop'];
    try {
      this.exec(['nft', 'add', 'table', 'inet', 'sockscope_selftest']);
      this.exec(['nft', 'add', 'chain', 'inet', 'sockscope_selftest', 'in', '{ type filter hook input priority 0; policy accept; }']);
      this.exec(['nft', 'add', 'rule', 'inet', 'sockscope_selftest', 'in', ...rule]);
      return undefined;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string; status?: number };
      return e.status === 127 || e.code === 'ENOENT' ? 'nft is not installed' : `nft failed: ${(e.stderr ?? e.message).trim().split('\n')[0]}`;
    }
  }

  /** The namespace's own TCP MIB: retransmitted segments so far. */
  retransmittedSegments(): number {
    const snmp = readFileSync(`/proc/${this.holder.process.pid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
    const [header, values] = snmp.map((l) => l.trim().split(/\s+/));
    const i = header?.indexOf('RetransSegs') ?? -1;
    if (i < 0 || values?.[i] === undefined) throw new Error('no Tcp RetransSegs in the namespace /proc/net/snmp');
    return Number(values[i]);
  }

  /** Ends every child; the namespace goes with the last of them. */
  remove(): void {
    for (const c of this.children) c.kill();
  }
}

function spawnNode(prefix: readonly string[], job: ChildJob): ChildProcess {
  const [file, ...args] = [...prefix, process.execPath, CHILD_SCRIPT, JSON.stringify(job)];
  return spawn(file!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
}
