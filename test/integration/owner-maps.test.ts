/**
 * The kernel's socket-owner maps (`sockets`, `listeners` in ebpf/conn.bpf.c): a closed
 * listener leaves its map, and a full map is counted instead of evicting live owners.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { dumpMap, mapIdsOwnedBy } from '../helpers/bpftool';

const options = { mode: 'auto' as const, ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 };

async function listen(): Promise<net.Server> {
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
const close = (server: net.Server) => new Promise<void>((r) => server.close(() => r()));

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  return s;
}

/** Listening ports in this collector's `listeners` map. */
function listenerPorts(): number[] {
  const [id] = mapIdsOwnedBy(process.pid, 'listeners');
  assert.ok(id !== undefined, 'this process holds the listeners map');
  return dumpMap<{ lport: number }, unknown>(id).map((e) => e.key.lport);
}

describe('socket-owner maps', bpfTestOptions(), () => {
  test('a closed listener leaves the listeners map (bound to port 0: the kernel has zeroed skc_num at CLOSE)', async () => {
    requireBpf();
    const collector = BpfCollector.start(options);
    try {
      const server = await listen();
      const port = portOf(server);
      assert.ok(listenerPorts().includes(port), `listener on ${port} is in the map`);
      await close(server);
      assert.ok(!listenerPorts().includes(port), `closed listener on ${port} is gone from the map`);
    } finally {
      collector.close();
    }
  });

  test('full sockets and listeners maps refuse new owners and count it, rather than evicting live ones', async () => {
    requireBpf();
    // Other processes on the machine may add entries too: at least these refusals, maybe more.
    const MAX_SOCKETS = 4;
    const MAX_LISTENERS = 2;
    const collector = BpfCollector.start({ ...options, maxSockets: MAX_SOCKETS, maxListeners: MAX_LISTENERS });
    const servers: net.Server[] = [];
    const clients: net.Socket[] = [];
    try {
      for (let i = 0; i < 5; i++) servers.push(await listen());
      for (let i = 0; i < 10; i++) clients.push(await connect(portOf(servers[0]!)));
      const { mapFull } = collector.stats();
      assert.ok(mapFull.listeners >= 5 - MAX_LISTENERS, `listeners refused: ${mapFull.listeners}`);
      // 10 connect()s and 10 accepted sockets held open at once.
      assert.ok(mapFull.sockets >= 20 - MAX_SOCKETS, `sockets refused: ${mapFull.sockets}`);
    } finally {
      for (const c of clients) c.destroy();
      for (const s of servers) await close(s);
      collector.close();
    }
  });
});
