/**
 * Many TCP connections held open on the loopback of a network namespace made for them:
 * a server and a client process (test/fixtures/hold-connections.py), each with its own
 * name. The namespace gets its own port range and accept backlog, so the host's sysctls
 * are never changed, and its TIME_WAIT sockets go away with it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'hold-connections.py');

/** A fixture process answering in JSON lines. */
class JsonLineChild {
  private readonly lines: unknown[] = [];
  private wake: (() => void) | undefined;
  private stderr = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(JSON.parse(line));
      this.wake?.();
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    child.on('exit', () => this.wake?.());
  }

  async reply<T>(timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null) throw new Error(`hold-connections exited ${this.child.exitCode}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`hold-connections did not answer in ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 200);
      });
    }
    return this.lines.shift() as T;
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  async end(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin!.end();
    await once(this.child, 'exit');
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

export interface HeldConnectionsOptions {
  total: number;
  /**
   * Server processes, one listener each, and as many client processes, each connecting
   * total / processes times to its server: a process holds at most what the fd hard limit
   * allows (raising it takes CAP_SYS_RESOURCE). All servers share one name, all clients another.
   */
  processes: number;
  serverName: string;
  clientName: string;
  /** Connections opened (and closed) per second, over all clients; 0: as fast as they go. */
  ratePerSecond?: number;
  /** How long opening (or closing) may take before it is an error. */
  timeoutMs?: number;
}

export class HeldConnections {
  private constructor(
    readonly netns: string,
    private readonly servers: JsonLineChild[],
    private readonly clients: JsonLineChild[],
    private readonly timeoutMs: number,
  ) {}

  /** Opens `total` connections and resolves once the clients have them all and the servers accepted them all. */
  static async open(o: HeldConnectionsOptions): Promise<HeldConnections> {
    if (o.total % o.processes !== 0) throw new Error(`total ${o.total} is not a multiple of processes ${o.processes}`);
    const each = o.total / o.processes;
    const timeoutMs = o.timeoutMs ?? 300_000;
    const netns = `ssheld-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', netns]);
    const inNetns = (...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args]);
    const servers: JsonLineChild[] = [];
    const clients: JsonLineChild[] = [];
    try {
      inNetns('ip', 'link', 'set', 'lo', 'up');
      // Per-namespace sysctls: room for every connect, and no SYN dropped on a full accept queue.
      inNetns('sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535', 'net.core.somaxconn=65535', 'net.ipv4.tcp_max_syn_backlog=65535');
      const start = (args: string[]) =>
        new JsonLineChild(spawn('ip', ['netns', 'exec', netns, 'python3', FIXTURE, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
      // Each client process (and each server, when closing) takes its share of the rate.
      const rate = Math.ceil((o.ratePerSecond ?? 0) / o.processes);
      for (let i = 0; i < o.processes; i++) servers.push(start([o.serverName, 'server', '1', String(each), String(rate)]));
      for (const server of servers) {
        const { ports } = await server.reply<{ ports: number[] }>(30_000);
        clients.push(start([o.clientName, 'client', String(ports[0]), String(each), String(rate)]));
      }
      let open = 0;
      let accepted = 0;
      for (const client of clients) open += (await client.reply<{ open: number }>(timeoutMs)).open;
      for (const server of servers) accepted += (await server.reply<{ accepted: number }>(timeoutMs)).accepted;
      if (open !== o.total || accepted !== o.total) throw new Error(`opened ${open}, accepted ${accepted} of ${o.total}`);
      return new HeldConnections(netns, servers, clients, timeoutMs);
    } catch (err) {
      for (const c of [...clients, ...servers]) c.kill();
      execFileSync('ip', ['netns', 'del', netns]);
      throw err;
    }
  }

  /** The clients close their ends, then the servers their own; resolves to how many each side closed. */
  async close(): Promise<{ client: number; server: number }> {
    const closeAll = async (children: JsonLineChild[]) => {
      for (const c of children) c.send('close');
      let closed = 0;
      for (const c of children) closed += (await c.reply<{ closed: number }>(this.timeoutMs)).closed;
      return closed;
    };
    const client = await closeAll(this.clients);
    const server = await closeAll(this.servers);
    return { client, server };
  }

  /** Ends every process and removes the namespace (with any TIME_WAIT sockets in it). */
  async dispose(): Promise<void> {
    await Promise.all([...this.clients, ...this.servers].map((c) => c.end()));
    execFileSync('ip', ['netns', 'del', this.netns]);
  }

  kill(): void {
    for (const c of [...this.clients, ...this.servers]) c.kill();
    try {
      execFileSync('ip', ['netns', 'del', this.netns]);
    } catch {
      /* already gone */
    }
  }
}
