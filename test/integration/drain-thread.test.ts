/**
 * The kernel is read on the addon's drain thread, never on the event loop: a drain held
 * in that thread (holdDrains, a test hook) leaves JavaScript free to answer an HTTP
 * request, and the drain still hands over every byte moved before it was asked for.
 * Drains asked for together hand out every byte once; close() answers a drain still in flight. With the old
 * synchronous drain() none of this can hold: the call returned only after the swap.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BpfCollector } from '../../src/collector/bpf-collector';
import type { FlowDelta } from '../../src/collector/types';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';

function bytesOf(flows: readonly FlowDelta[], name: string): { tx: number; rx: number } {
  const mine = flows.filter((f) => f.comm === name);
  return { tx: mine.reduce((n, f) => n + f.txBytes, 0), rx: mine.reduce((n, f) => n + f.rxBytes, 0) };
}

async function udpTraffic(prefix: string): Promise<{ name: string; expected: { tx: number; rx: number } }> {
  const name = uniqueProcessName(prefix);
  const result = await runTraffic({ name, transport: 'udp', family: 'ipv4', messageSize: 777, messages: 200 });
  const expected = result.udp.ipv4;
  assert.ok(expected.tx > 0 && expected.rx > 0, 'the child moved traffic');
  return { name, expected };
}

/** Tracks whether a promise has settled, without awaiting it. */
function watch<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  return { promise: tracked, settled: () => settled };
}

describe('drains run on the native drain thread', bpfTestOptions(), () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer((_req, res) => res.end('ok\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const get = (): Promise<string> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });

  const start = () => BpfCollector.start({ mode: 'auto', ringBufferSize: 16 << 20, drainIntervalMillis: 20, maxFlows: 65536 });
  async function withCollector(run: (collector: BpfCollector) => Promise<void>): Promise<void> {
    const collector = start();
    try {
      await run(collector);
    } finally {
      collector.close();
    }
  }

  test('JavaScript answers a request while a drain waits in the native thread; the drain has every byte', async () => {
    requireBpf();
    await withCollector(async (collector) => {
      const { name, expected } = await udpTraffic('ssdrainheld');
      collector.holdDrains(true);
      const drain = watch(collector.drain());
      const events = watch(collector.drainConnectionEvents());
      assert.equal(await get(), 'ok\n', 'the event loop served an HTTP round trip');
      await nextTurn();
      assert.equal(drain.settled(), false, 'the held drain is still pending: nothing waited for it');
      assert.equal(events.settled(), false, 'the held event drain is still pending');
      collector.holdDrains(false);
      assert.deepEqual(bytesOf(await drain.promise, name), expected);
      await events.promise;
      assert.equal(collector.stats().eventsLost, 0);
    });
  });

  test('drains asked for together share one: every byte is handed out once', async () => {
    requireBpf();
    await withCollector(async (collector) => {
      const { name, expected } = await udpTraffic('ssdrainshare');
      collector.holdDrains(true);
      const drains = [collector.drain(), collector.drain(), collector.drain()];
      collector.holdDrains(false);
      const results = await Promise.all(drains);
      assert.deepEqual(bytesOf(results.flat(), name), expected);
      // A drain asked for after the shared one still finds nothing more of this traffic.
      assert.deepEqual(bytesOf(await collector.drain(), name), { tx: 0, rx: 0 });
    });
  });

  test('close() while a drain is in flight answers it with the last drain', async () => {
    requireBpf();
    const collector = start();
    const { name, expected } = await udpTraffic('ssdrainclose');
    collector.holdDrains(true);
    const drain = collector.drain();
    const events = collector.drainConnectionEvents();
    collector.close();
    assert.deepEqual(bytesOf(await drain, name), expected);
    assert.ok(Array.isArray(await events));
    assert.deepEqual(await collector.drain(), [], 'a closed collector drains nothing');
  });
});
