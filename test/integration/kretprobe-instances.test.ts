/**
 * More receive calls in flight than the kernel's default kretprobe instances
 * (max(10, 2 * CPUs)): 64 threads sleep inside recv() at once, then each gets one
 * datagram. Every return must reach its kretprobe, so the received bytes are exact and
 * the kprobe path's per-thread `io_calls` map is left empty. A kretprobe that missed
 * returns used to lose those bytes and leave its entry in the map for good.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { dumpMap, mapIdsOwnedBy } from '../helpers/bpftool';
import { assertModeAttaches, probeModeOptions } from '../helpers/probe-modes';
import { uniqueProcessName } from '../helpers/traffic';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'blocked-receivers.py');
const THREADS = 64;
const RECVFROM = '45'; // x86_64 syscall number, first field of /proc/<pid>/task/<tid>/syscall

/** True when the thread sleeps inside recvfrom(), i.e. is past the kprobe on inet_recvmsg. */
function sleepsInRecv(pid: number, tid: number): boolean {
  try {
    const syscall = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').split(' ')[0];
    const state = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.[0];
    return syscall === RECVFROM && state === 'S';
  } catch {
    return false;
  }
}

describe('kretprobe instances', probeModeOptions('kprobe', 'socket_recv'), () => {
  const cleanups: Array<() => void> = [];
  after(() => {
    for (const c of cleanups.reverse()) c();
  });

  test(`probes.mode=kprobe: ${THREADS} threads blocked in recv() at once: bytes exact, io_calls left empty`, async (t) => {
    assertModeAttaches('kprobe', ['socket_recv']);
    const collector = BpfCollector.start({ mode: 'kprobe', ringBufferSize: 16 << 20, drainIntervalMillis: 20, maxFlows: 65536 });
    cleanups.push(() => collector.close());

    const name = uniqueProcessName('ssblkrx');
    const child = spawn('python3', [FIXTURE, name, String(THREADS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => child.kill());
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async <T>(): Promise<T> => {
      const { value, done } = await lines.next();
      if (done) throw new Error(`${FIXTURE} ended early (exit ${child.exitCode})`);
      return JSON.parse(value as string) as T;
    };
    const { pid, ports, tids } = await next<{ pid: number; ports: number[]; tids: number[] }>();

    // Every thread inside the kernel's receive at the same time before any datagram goes out.
    const deadline = Date.now() + 120_000;
    while (!tids.every((tid) => sleepsInRecv(pid, tid))) {
      if (Date.now() > deadline) throw new Error(`threads ${tids.filter((tid) => !sleepsInRecv(pid, tid)).join(', ')} never slept in recvfrom`);
      await new Promise((r) => setTimeout(r, 50));
    }

    const sender = createSocket('udp4');
    cleanups.push(() => sender.close());
    let sent = 0;
    for (const [i, port] of ports.entries()) {
      const datagram = Buffer.alloc(100 + i, i);
      await new Promise<void>((resolve, reject) => sender.send(datagram, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      sent += datagram.length;
    }
    const { received } = await next<{ received: number }>();
    assert.equal(received, sent, 'the child received every datagram');

    const rx = (await collector.drain()).filter((f) => f.tgid === pid).reduce((n, f) => n + f.rxBytes, 0);
    const ids = mapIdsOwnedBy(process.pid, 'io_calls');
    assert.equal(ids.length, 1, `the collector holds one io_calls map (got ${ids.join(', ')})`);
    const entries = dumpMap<number, unknown>(ids[0]!);
    // Keys are pid_tgid: the thread-group id is the upper half.
    const leftByChild = entries.filter((e) => Math.floor(e.key / 2 ** 32) === pid).length;
    t.diagnostic(`sent ${sent} bytes to ${THREADS} blocked threads; exported rx ${rx}; io_calls holds ${entries.length} entries, ${leftByChild} of the exited child`);
    t.diagnostic(`collector stats: ${JSON.stringify(collector.stats())}`);
    assert.equal(rx, sent, 'exported received bytes equal the bytes the threads received');
    assert.equal(leftByChild, 0, 'no io_calls entry outlives the calls of the exited child');
  });
});
