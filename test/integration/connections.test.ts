/**
 * Connection lifecycle from the real kernel: connects, refusals, accepts, closes and
 * connections older than the collector, attributed to the processes that own them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Attributes } from '@opentelemetry/api';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { bootstrapTcpSockets } from '../../src/collector/proc-sockets';
import { ConnectionTracker } from '../../src/metrics/connection-tracker';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { NamedProcess } from '../helpers/named-process';
import { uniqueProcessName } from '../helpers/traffic';

const collectorOptions = { mode: 'auto' as const, ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 };

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function recordingTracker() {
  const connect: Array<{ seconds: number; attributes: Attributes }> = [];
  const lifetime: Array<{ seconds: number; attributes: Attributes }> = [];
  const tracker = new ConnectionTracker({
    connectSeconds: (seconds, attributes) => connect.push({ seconds, attributes }),
    lifetimeSeconds: (seconds, attributes) => lifetime.push({ seconds, attributes }),
  });
  return { tracker, connect, lifetime };
}

const series = (comm: string, port: number, direction?: string): Attributes => ({
  'process.executable.name': comm,
  'network.type': 'ipv4',
  'server.port': port,
  ...(direction ? { 'sockscope.connection.direction': direction } : {}),
});

describe('TCP connections', bpfTestOptions(), () => {
  let collector: BpfCollector;
  const children: NamedProcess[] = [];

  before(() => requireBpf());
  after(() => {
    for (const c of children) c.kill();
    collector?.close();
  });

  test('N connects and M refusals: N opened (active) and M failed for the client, N opened (passive) for the server', async () => {
    collector = BpfCollector.start(collectorOptions);
    const { tracker, connect, lifetime } = recordingTracker();
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
    tracker.apply(collector.drainConnectionEvents());
    collector.close();

    assert.equal(tracker.opened.get(series(clientName, port, 'active')), N);
    assert.equal(tracker.opened.get(series(serverName, port, 'passive')), N);
    assert.equal(tracker.failed.get({ ...series(clientName, failPort), 'error.type': 'refused' }), M);
    assert.equal(tracker.closed.get(series(clientName, port, 'active')), N);
    assert.equal(tracker.closed.get(series(serverName, port, 'passive')), N);
    assert.equal(tracker.active.get(series(clientName, port, 'active')), 0);
    // The kernel timed every successful connect and every lifetime.
    assert.equal(connect.filter((c) => c.attributes['process.executable.name'] === clientName).length, N);
    assert.ok(connect.every((c) => c.seconds > 0 && c.seconds < 5));
    assert.equal(lifetime.filter((c) => c.attributes['process.executable.name'] === serverName).length, N);
  });

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
    const { tracker } = recordingTracker();
    tracker.bootstrap(bootstrapTcpSockets().sockets);
    assert.equal(tracker.active.get(series(clientName, port, 'active')), K);
    assert.equal(tracker.active.get(series(serverName, port, 'passive')), K);

    holder.send('close');
    assert.equal((await holder.reply<{ closed: number }>()).closed, K);
    await server.exit();
    tracker.apply(collector.drainConnectionEvents());
    collector.close();
    assert.equal(tracker.active.get(series(clientName, port, 'active')), 0);
    assert.equal(tracker.active.get(series(serverName, port, 'passive')), 0);
    assert.equal(tracker.closed.get(series(clientName, port, 'active')), K);
  });
});
