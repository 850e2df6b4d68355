/**
 * Two network namespaces run the same loopback client and server with identical
 * addresses and ports at the same time, under different process names: the real
 * kernel events and the real producer must keep them apart (connections are keyed
 * by namespace and tuple), and each process's counts and bytes must be exact.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Attributes } from '@opentelemetry/api';
import { BpfCollector } from '../../src/collector/bpf-collector';
import type { ConnectionRecord } from '../../src/collector/types';
import type { ProbeMode } from '../../src/collector/attach-plan';
import { bpfTestOptions } from '../helpers/bpf-gate';
import { assertModeAttaches, probeModeOptions } from '../helpers/probe-modes';
import { NamedProcess } from '../helpers/named-process';
import { uniqueProcessName } from '../helpers/traffic';
import { testProducer } from '../helpers/producer';

const MODES: ProbeMode[] = ['auto', 'fentry', 'kprobe', 'tracepoint'];
const SERVER_PORT = 18080;
const CLIENT_PORT = 41000;
/** Bytes each client sends and reads back from its echoing server. */
const BYTES = 100_003;

interface Pod {
  netns: string;
  inode: number;
  server: string;
  client: string;
}

/** Sum of a store's values over the series of one process (and matching `more`). */
function sumOf(store: { entries(): IterableIterator<{ attributes: Attributes; value: { value: number } }> }, comm: string, more: Attributes = {}): number {
  let n = 0;
  for (const e of store.entries()) {
    if (e.attributes['process.executable.name'] !== comm) continue;
    if (Object.entries(more).every(([k, v]) => e.attributes[k] === v)) n += e.value.value;
  }
  return n;
}

/** Two fresh namespaces with lo up, each with its own server and client name. */
function createPods(tag: string): Pod[] {
  return ['a', 'b'].map((side) => {
    const netns = `ssns-${side}-${tag}`;
    execFileSync('ip', ['netns', 'add', netns]);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    return { netns, inode: statSync(`/run/netns/${netns}`).ino, server: uniqueProcessName(`ssnsrv${side}`), client: uniqueProcessName(`ssncli${side}`) };
  });
}

describe('two network namespaces with the same loopback tuple', bpfTestOptions(), () => {
  for (const mode of MODES) {
    test(`probes.mode=${mode}: opened, closed, active and bytes are exact per process, and events carry the owner of their namespace`, probeModeOptions(mode, 'socket_send'), async () => {
      assertModeAttaches(mode, ['socket_send', 'socket_recv', 'tcp_state']);
      const pods = createPods(randomBytes(3).toString('hex'));
      const children: NamedProcess[] = [];
      const collector = BpfCollector.start({ mode, ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 });
      try {
        await exactPerProcess(collector, pods, children);
      } finally {
        for (const c of children) c.kill();
        collector.close();
        for (const p of pods) execFileSync('ip', ['netns', 'del', p.netns]);
      }
    });
  }
});

/** Through a real producer: both pods' connections held at once, then closed; every count per process. */
async function exactPerProcess(collector: BpfCollector, pods: Pod[], children: NamedProcess[]): Promise<void> {
  assert.notEqual(pods[0]!.inode, pods[1]!.inode);
  const records: ConnectionRecord[] = [];
  const producer = testProducer(collector, { onRecords: (r) => records.push(...r) });
  const c = producer.connections.stores;

  const servers = pods.map((p) => NamedProcess.start({ name: p.server, mode: 'serve', host: '127.0.0.1', port: SERVER_PORT, echo: true }, { netns: p.netns }));
  children.push(...servers);
  for (const s of servers) assert.deepEqual(await s.reply(), { port: SERVER_PORT });
  // Both clients connect from the same port and hold their connection: the tuples are open at once.
  const clients = pods.map((p) =>
    NamedProcess.start({ name: p.client, mode: 'hold', host: '127.0.0.1', port: SERVER_PORT, count: 1, localPort: CLIENT_PORT, bytes: BYTES }, { netns: p.netns }),
  );
  children.push(...clients);
  for (const cl of clients) assert.deepEqual(await cl.reply(), { open: 1, localPorts: [CLIENT_PORT], echoed: BYTES });

  await producer.ingest();
  for (const p of pods) {
    assert.equal(sumOf(c.active, p.client, { 'sockscope.connection.direction': 'active' }), 1, `${p.client} holds its connection`);
    assert.equal(sumOf(c.active, p.server, { 'sockscope.connection.direction': 'passive' }), 1, `${p.server} holds its connection`);
  }

  for (const cl of clients) cl.send('close');
  for (const cl of clients) assert.deepEqual(await cl.reply(), { closed: 1 });
  for (const s of servers) await s.exit();
  await producer.ingest();

  const f = producer.flows.stores;
  for (const p of pods) {
    for (const [comm, direction] of [[p.client, 'active'], [p.server, 'passive']] as const) {
      const d = { 'sockscope.connection.direction': direction };
      assert.equal(sumOf(c.opened, comm, d), 1, `${comm} opened`);
      assert.equal(sumOf(c.closed, comm, d), 1, `${comm} closed`);
      assert.equal(sumOf(c.active, comm), 0, `${comm} active`);
      assert.equal(sumOf(f.bytes, comm, { 'network.io.direction': 'transmit' }), BYTES, `${comm} sent`);
      assert.equal(sumOf(f.bytes, comm, { 'network.io.direction': 'receive' }), BYTES, `${comm} received`);
    }
  }

  // Every kernel event of the two connections names the process of its own namespace.
  for (const p of pods) {
    const mine = records.filter((r) => r.netns === p.inode && (r.localPort === SERVER_PORT || r.localPort === CLIENT_PORT));
    // (A retransmit, which loopback can have under load, is ESTABLISHED->ESTABLISHED too.)
    const opened = mine.filter((r) => r.kind === 'state' && r.newState === 'ESTABLISHED');
    assert.deepEqual(opened.map((r) => [r.localPort, r.owner?.comm, r.direction]).sort(), [
      [SERVER_PORT, p.server, 'passive'],
      [CLIENT_PORT, p.client, 'active'],
    ].sort());
    const closed = mine.filter((r) => r.newState === 'CLOSE' && r.oldState !== 'LISTEN');
    assert.deepEqual(closed.map((r) => [r.localPort, r.owner?.comm]).sort(), [
      [SERVER_PORT, p.server],
      [CLIENT_PORT, p.client],
    ].sort());
    for (const r of mine) {
      const expected = r.localPort === CLIENT_PORT ? p.client : p.server;
      assert.equal(r.owner?.comm, expected, `${r.oldState}->${r.newState} on port ${r.localPort} in ${p.netns}`);
    }
  }
  assert.equal(collector.stats().eventsLost, 0);
}
