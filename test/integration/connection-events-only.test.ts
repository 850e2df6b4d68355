/**
 * A collector of connection events alone (`sockscope events`) creates no socket I/O
 * maps, so its drain thread has nothing to swap: the events still arrive, drain()
 * has no flows, and the addon refuses settings that need the missing maps.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { planAttach } from '../../src/collector/attach-plan';
import { HOOKS } from '../../src/collector/hooks';
import { loadNativeAddon } from '../../src/collector/native-addon';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { mapNamesHeldBy } from '../helpers/bpftool';
import type { ConnectionEvent } from '../../src/collector/types';

const SOCKET_IO_MAPS = ['io_socks_a', 'io_socks_b', 'io_socks_live', 'io_cache', 'io_calls'];
const EVENT_HOOKS = ['tcp_state', 'tcp_retransmit'];

describe('a collector of connection events only', bpfTestOptions(), () => {
  test('creates no socket I/O map, still reports state changes, and drains no flows', async () => {
    requireBpf();
    const collector = BpfCollector.start({ mode: 'auto', hooks: EVENT_HOOKS, ringBufferSize: 1 << 20, drainIntervalMillis: 20, maxFlows: 1 });
    const server = net.createServer((s) => s.end());
    try {
      const maps = mapNamesHeldBy(process.pid);
      assert.ok(maps.includes('events'), `the ring buffer is held: ${maps.join(', ')}`);
      // The kernel keeps 15 characters of a map's name.
      assert.deepEqual(maps.filter((m) => SOCKET_IO_MAPS.some((io) => io.startsWith(m))), [], `maps: ${maps.join(', ')}`);

      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      const client = net.connect(port, '127.0.0.1');
      client.on('data', () => {}).end('bytes no map will count');
      await once(client, 'close');

      const events: ConnectionEvent[] = [];
      const opened = () => events.find((e) => e.remotePort === port && e.oldState === 'SYN_SENT' && e.newState === 'ESTABLISHED');
      const until = Date.now() + 10_000;
      while (!opened() && Date.now() < until) {
        events.push(...(await collector.drainConnectionEvents()));
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(opened(), `no SYN_SENT->ESTABLISHED event for port ${port}`);
      assert.deepEqual((await collector.drain()), []);
      assert.equal(collector.stats().flowMapErrors, 0);
    } finally {
      server.close();
      collector.close();
    }
  });

  test('a socket I/O program without its maps fails to load with an error that says why', () => {
    requireBpf();
    const addon = loadNativeAddon();
    // The socket_send programs that do load here with their maps, whatever this kernel offers.
    const send = planAttach(addon, HOOKS.filter((h) => h.hook === 'socket_send'), { mode: 'auto' }).programs();
    assert.ok(send.length > 0, 'some socket_send implementation loads here');
    const session = new addon.BpfSession({ ringBufferSize: 1 << 20, wakeupDataSize: 1 << 18, maxFlows: 1, socketIo: false });
    try {
      for (const p of session.programs()) session.setAutoload(p.name, send.includes(p.name));
      assert.throws(() => session.load(), /socketIo is false/);
    } finally {
      session.close();
    }
  });
});

describe('the addon without socket I/O', () => {
  test('refuses a socket I/O cache, naming the option', () => {
    const addon = loadNativeAddon();
    assert.throws(
      () => new addon.BpfSession({ ringBufferSize: 1 << 20, wakeupDataSize: 1 << 18, maxFlows: 1, socketIo: false, ioCacheSlots: 64 }),
      /ioCacheSlots must be 0 without the socket I\/O programs \(socketIo: false\), not 64/,
    );
  });
});
