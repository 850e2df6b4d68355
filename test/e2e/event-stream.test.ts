/** `sockscope events` and `sockscope check`, run as a user would run them. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import { DaemonProcess } from '../helpers/daemon';
import { HOOKS } from '../../src/collector/hooks';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { mapNamesHeldBy, programIdsOwnedBy } from '../helpers/bpftool';
import { NamedProcess } from '../helpers/named-process';
import { uniqueProcessName } from '../helpers/traffic';
import type { EventRecord } from '../../src/export/event-stream';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');

describe('sockscope events', bpfTestOptions(), () => {
  test('writes one JSON line per state change, attributed to the process that connected', async () => {
    requireBpf();
    const events = spawn(process.execPath, [CLI, 'events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const records: EventRecord[] = [];
    createInterface({ input: events.stdout! }).on('line', (l) => records.push(JSON.parse(l) as EventRecord));
    let stderr = '';
    events.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    try {
      // Logs go to stderr; the collector is attached once /proc has been read.
      const deadline = Date.now() + 30_000;
      while (!stderr.includes('read existing TCP sockets')) {
        assert.ok(Date.now() < deadline && events.exitCode === null, `sockscope events did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Connection events only: the socket I/O programs are not even loaded.
      const loaded = programIdsOwnedBy(events.pid!).map((id) => programName(id));
      const programsOf = (hooks: string[]) =>
        HOOKS.filter((h) => hooks.includes(h.hook)).flatMap((h) => h.implementations.flatMap((i) => i.programs));
      assert.ok(loaded.length > 0, 'sockscope events holds its programs');
      assert.deepEqual(loaded.filter((p) => programsOf(['socket_send', 'socket_recv']).includes(p)), [], `loaded: ${loaded.join(', ')}`);
      assert.ok(loaded.every((p) => programsOf(['tcp_state', 'tcp_retransmit']).includes(p)), `loaded: ${loaded.join(', ')}`);
      // Nor are their maps created, so the drain thread has none to swap; the kernel keeps 15 characters of a name.
      const maps = mapNamesHeldBy(events.pid!);
      assert.ok(maps.includes('events'), `the ring buffer is held: ${maps.join(', ')}`);
      const socketIoMaps = ['io_socks_a', 'io_socks_b', 'io_socks_live', 'io_cache', 'io_calls'];
      assert.deepEqual(maps.filter((m) => socketIoMaps.some((io) => io.startsWith(m))), [], `maps: ${maps.join(', ')}`);
      const serverName = uniqueProcessName('ssevs');
      const clientName = uniqueProcessName('ssevc');
      const server = NamedProcess.start({ name: serverName, mode: 'serve', host: '127.0.0.1' });
      const { port } = await server.reply<{ port: number }>();
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const failPort = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const client = NamedProcess.start({ name: clientName, mode: 'connect', host: '127.0.0.1', port, count: 1, failPort, failCount: 1 });
      assert.deepEqual(await client.reply(), { ok: 1, refused: 1 });
      await server.exit();

      const find = (pred: (r: EventRecord) => boolean) => records.find(pred);
      const until = Date.now() + 10_000;
      while (!find((r) => r.comm === clientName && r.new_state === 'CLOSE' && r.error === 'refused') && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const established = find((r) => r.comm === clientName && r.old_state === 'SYN_SENT' && r.new_state === 'ESTABLISHED');
      assert.ok(established, `no SYN_SENT->ESTABLISHED line for ${clientName}: ${JSON.stringify(records.slice(-20))}`);
      assert.equal(established.direction, 'active');
      assert.equal(established.remote.port, port);
      assert.equal(established.family, 'ipv4');
      assert.ok(established.duration_ms! > 0, 'connect latency is reported');
      assert.ok(!Number.isNaN(Date.parse(established.time)));
      assert.ok(Math.abs(Date.parse(established.time) - Date.now()) < 60_000, 'timestamps are wall-clock time');
      const accepted = find((r) => r.comm === serverName && r.old_state === 'SYN_RECV' && r.new_state === 'ESTABLISHED');
      assert.equal(accepted?.direction, 'passive');
      assert.ok(find((r) => r.comm === clientName && r.remote.port === failPort && r.error === 'refused'));
    } finally {
      events.kill('SIGTERM');
      const [code] = await once(events, 'exit');
      assert.equal(code, 0, stderr);
    }
  });
});

describe('sockscope run with events.file', bpfTestOptions(), () => {
  test('appends the same enriched lines to the file while serving metrics', async () => {
    requireBpf();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sockscope-events-'));
    const file = path.join(dir, 'events.jsonl');
    const daemon = await DaemonProcess.start(
      ['--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--events.file', file],
      'serving Prometheus metrics on /metrics',
    );
    const server = NamedProcess.start({ name: uniqueProcessName('ssrunevs'), mode: 'serve', host: '127.0.0.1' });
    try {
      const { port } = await server.reply<{ port: number }>();
      const clientName = uniqueProcessName('ssrunevc');
      const client = NamedProcess.start({ name: clientName, mode: 'connect', host: '127.0.0.1', port, count: 1 });
      assert.deepEqual(await client.reply(), { ok: 1, refused: 0 });
      const read = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EventRecord);
      const until = Date.now() + 15_000;
      const opened = () => read().find((r) => r.comm === clientName && r.old_state === 'SYN_SENT' && r.new_state === 'ESTABLISHED');
      while (!opened() && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      const line = opened();
      assert.ok(line, `no SYN_SENT->ESTABLISHED line for ${clientName} in ${file}`);
      assert.equal(line.direction, 'active');
      assert.equal(line.remote.port, port);
      assert.equal(`net:[${line.netns}]`, readlinkSync('/proc/self/ns/net'));
    } finally {
      await server.exit();
      assert.equal(await daemon.stop(), 0, daemon.stderr);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** bpftool gives the full name (from BTF) where the kernel keeps 15 characters. */
function programName(id: number): string {
  return (JSON.parse(execFileSync('bpftool', ['--json', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })) as { name: string }).name;
}

// Not behind the BPF gate: only the json case loads probes; a bad flag must be refused anywhere.
describe('sockscope check', () => {
  test('--output json reports a working implementation for every required hook and exits 0', bpfTestOptions(), () => {
    requireBpf();
    const run = spawnSync(process.execPath, [CLI, 'check', '--output', 'json'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { kernel: string; hooks: Array<{ hook: string; required: boolean; chosen: string | null }> };
    assert.deepEqual(report.hooks.map((h) => h.hook), ['socket_send', 'socket_recv', 'tcp_state', 'tcp_retransmit']);
    for (const h of report.hooks.filter((x) => x.required)) assert.ok(h.chosen, `${h.hook} has no implementation`);
  });

  test('a bad --output value exits 2 naming it', () => {
    const run = spawnSync(process.execPath, [CLI, 'check', '--output', 'yaml'], { encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--output = "yaml" is invalid: must be text or json/);
  });
});
