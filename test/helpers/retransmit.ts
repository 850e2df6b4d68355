/** Provoking and observing TCP retransmits on one loopback port (nftables drops, ftrace). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const TRACEFS = '/sys/kernel/tracing';

/** A private ftrace instance recording tcp_retransmit_skb for one port. */
export class RetransmitTrace {
  readonly dir = path.join(TRACEFS, 'instances', `sockscope-test-${randomBytes(4).toString('hex')}`);
  private readonly event = path.join(this.dir, 'events', 'tcp', 'tcp_retransmit_skb');

  constructor(port: number) {
    mkdirSync(this.dir);
    writeFileSync(path.join(this.event, 'filter'), `sport == ${port} || dport == ${port}`);
    writeFileSync(path.join(this.event, 'enable'), '1');
  }

  /** Retransmits per (sport, dport) as the kernel traced them. */
  read(): Array<{ sport: number; dport: number }> {
    writeFileSync(path.join(this.event, 'enable'), '0');
    return readFileSync(path.join(this.dir, 'trace'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('tcp_retransmit_skb:'))
      .map((l) => ({ sport: Number(/sport=(\d+)/.exec(l)![1]), dport: Number(/dport=(\d+)/.exec(l)![1]) }));
  }

  remove(): void {
    try {
      writeFileSync(path.join(this.event, 'enable'), '0');
    } catch {
      /* already gone */
    }
    rmdirSync(this.dir);
  }
}

/**
 * Drops a random tenth of the packets arriving for `port` (nftables, its own table).
 * On input, not output: a packet dropped on output is an error to the sending TCP,
 * which keeps it queued and sends it later without a retransmit.
 */
export class RandomDrop {
  readonly table = `sockscope_test_${randomBytes(3).toString('hex')}`;
  constructor(port: number) {
    execFileSync('nft', ['add', 'table', 'inet', this.table]);
    execFileSync('nft', ['add', 'chain', 'inet', this.table, 'in', '{ type filter hook input priority 0; policy accept; }']);
    execFileSync('nft', ['add', 'rule', 'inet', this.table, 'in', 'tcp', 'dport', String(port), 'numgen', 'random', 'mod', '10', '==', '0', 'counter', 'drop']);
  }
  /** Packets dropped so far. */
  dropped(): number {
    const listing = execFileSync('nft', ['list', 'table', 'inet', this.table], { encoding: 'utf8' });
    return Number(/counter packets (\d+)/.exec(listing)?.[1] ?? 0);
  }
  remove(): void {
    execFileSync('nft', ['delete', 'table', 'inet', this.table]);
  }
}

/**
 * Waits until no socket on `port` can still retransmit: every one is gone or in TIME-WAIT.
 * A server socket in LAST-ACK retransmits its FIN when the drop rule ate the client's ACK,
 * after the server process exited; reading the trace before that is a race.
 */
export async function waitForQuiescence(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = execFileSync('ss', ['-Htan', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split(/\s+/)[0]);
    const live = states.filter((s) => s !== 'TIME-WAIT');
    if (live.length === 0) return;
    if (Date.now() > deadline) throw new Error(`sockets on port ${port} still open after ${timeoutMs} ms: ${live.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
