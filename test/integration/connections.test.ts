/**
 * Connection lifecycle from the real kernel: connects, refusals, accepts, closes and
 * connections older than the collector, attributed to the processes that own them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BpfCollector } from '../../src/collector/bpf-collector';
import type { ProbeMode } from '../../src/collector/attach-plan';
import { assertModeAttaches, probeModeOptions } from '../helpers/probe-modes';
import { bootstrapTcpSockets } from '../../src/collector/proc-sockets';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { NamedProcess } from '../helpers/named-process';
import { uniqueProcessName } from '../helpers/traffic';
import { loopbackSeries, testProducer } from '../helpers/producer';

const collectorOptions = { mode: 'auto' as const, ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 };
const MODES: ProbeMode[] = ['auto', 'tracepoint', 'kprobe'];


/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const series = (comm: string, port: number, direction?: string) =>
  loopbackSeries(comm, port, direction ? { 'sockscope.connection.direction': direction } : {});

/** Histogram sample counts of series whose process is `comm`. */
function samplesOf(store: { entries(): IterableIterator<{ attributes: Record<string, unknown>; value: { count: number; min: number; max: number } }> }, comm: string) {
  return [...store.entries()].filter((e) => e.attributes['process.executable.name'] === comm).map((e) => e.value);
}

describe('TCP connections', bpfTestOptions(), () => {
  let collector: BpfCollector;
  const children: NamedProcess[] = [];

  before(() => requireBpf());
  after(() => {
    for (const c of children) c.kill();
    collector?.close();
  });

  for (const mode of MODES) {
    test(`probes.mode=${mode}: N connects and M refusals: N opened (active) and M failed for the client, N opened (passive) for the server`, probeModeOptions(mode, 'tcp_state'), async () => {
    assertModeAttaches(mode, ['tcp_state']);
    collector = BpfCollector.start({ ...collectorOptions, mode });
    const producer = testProducer(collector);
    const serverName = uniqueProcessName('sssrv');
    const clientName = uniqueProcessName('sscli');
    const server = NamedProcess.start({ name: serverName, mode: 'serve', host: '127.0.0.1' });
    children.push(server);
    const { port } = await server.reply<{ port: number }>();
    const failPort = await closedPort();
    const N = 25;
    const M = 7;
    const client = NamedProcess.start({ name: clientName, mode: 'connect', host: '127.0.0.1', port, count: N, failPort, failCount: M });
    children.push(client);
    assert.deepEqual(await client.reply(), { ok: N, refused: M });
    await server.exit();
    await producer.ingest();
    collector.close();
    const c = producer.connections.stores;

    assert.equal(c.opened.get(series(clientName, port, 'active')), N);
    assert.equal(c.opened.get(series(serverName, port, 'passive')), N);
    assert.equal(c.failed.get({ ...series(clientName, failPort), 'error.type': 'refused' }), M);
    assert.equal(c.closed.get(series(clientName, port, 'active')), N);
    assert.equal(c.closed.get(series(serverName, port, 'passive')), N);
    assert.equal(c.active.get(series(clientName, port, 'active')), 0);
    // The kernel timed every successful connect and every lifetime.
    const connects = samplesOf(c.connectDuration, clientName);
    assert.equal(connects.reduce((n, h) => n + h.count, 0), N);
    assert.ok(connects.every((h) => h.min > 0 && h.max < 5));
    assert.equal(samplesOf(c.lifetime, serverName).reduce((n, h) => n + h.count, 0), N);
  });
  }

  test('connections opened before the collector started are in the active gauge, then closed', async () => {
    const serverName = uniqueProcessName('ssold');
    const clientName = uniqueProcessName('ssoldc');
    const server = NamedProcess.start({ name: serverName, mode: 'serve', host: '127.0.0.1' });
    children.push(server);
    const { port } = await server.reply<{ port: number }>();
    const K = 5;
    const holder = NamedProcess.start({ name: clientName, mode: 'hold', host: '127.0.0.1', port, count: K });
    children.push(holder);
    assert.equal((await holder.reply<{ open: number }>()).open, K);

    // Only now does sockscope start: these connections are older than its probes.
    collector = BpfCollector.start(collectorOptions);
    const producer = testProducer(collector, { bootstrap: bootstrapTcpSockets().sockets });
    await producer.ingest(); // the first batch carries what existed at start
    const c = producer.connections.stores;
    assert.equal(c.active.get(series(clientName, port, 'active')), K);
    assert.equal(c.active.get(series(serverName, port, 'passive')), K);

    holder.send('close');
    assert.equal((await holder.reply<{ closed: number }>()).closed, K);
    await server.exit();
    await producer.ingest();
    collector.close();
    assert.equal(c.active.get(series(clientName, port, 'active')), 0);
    assert.equal(c.active.get(series(serverName, port, 'passive')), 0);
    assert.equal(c.closed.get(series(clientName, port, 'active')), K);
  });
});

describe('a server started before sockscope', bpfTestOptions(), () => {
  test('its accepted connections are attributed to it, from the /proc bootstrap of its listener', async () => {
    requireBpf();
    const serverName = uniqueProcessName('ssearly');
    const server = NamedProcess.start({ name: serverName, mode: 'serve', host: '127.0.0.1' });
    try {
      const { port } = await server.reply<{ port: number }>();
      // The listener exists before the probes: the kernel side never sees its listen().
      const collector = BpfCollector.start(collectorOptions);
      try {
        const producer = testProducer(collector, { bootstrap: bootstrapTcpSockets().sockets });
        const client = NamedProcess.start({ name: uniqueProcessName('sslate'), mode: 'connect', host: '127.0.0.1', port, count: 3 });
        assert.deepEqual(await client.reply(), { ok: 3, refused: 0 });
        await producer.ingest();
        assert.equal(producer.connections.stores.opened.get(series(serverName, port, 'passive')), 3);
      } finally {
        collector.close();
      }
    } finally {
      await server.exit();
    }
  });
});
