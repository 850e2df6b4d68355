/**
 * The metrics contract end to end, without the kernel: a fixed batch of flow deltas,
 * connection events and collector stats, through the real producer and /metrics
 * server, must give exactly the committed exposition (test/golden/exposition.prom),
 * which must pass `promtool check metrics` and name only documented families.
 * After an intended change: UPDATE_GOLDEN=1 node --test dist/test/unit/golden-exposition.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { AttachPlan } from '../../src/collector/attach-plan';
import { EnrichedConnections } from '../../src/collector/enriched-connections';
import type { CollectorStats, ConnectionEvent, FlowDelta } from '../../src/collector/types';
import { MetricsServer } from '../../src/export/metrics-server';
import { METRICS } from '../../src/metrics/definitions';
import { ServerPorts } from '../../src/metrics/server-ports';
import { SockscopeProducer } from '../../src/metrics/sockscope-producer';

const GOLDEN = path.join(__dirname, '..', '..', '..', 'test', 'golden', 'exposition.prom');

const flow = (over: Partial<FlowDelta>): FlowDelta => ({
  tgid: 100, comm: 'curl', threadName: 'curl', netns: 4026531840, cgroupId: 0n, family: 'ipv4', transport: 'tcp',
  localAddress: '10.0.0.5', localPort: 40001, remoteAddress: '93.184.216.34', remotePort: 443,
  txBytes: 0, rxBytes: 0, txMessages: 0, rxMessages: 0, srttMicros: 0, ...over,
});

const event = (over: Partial<ConnectionEvent>): ConnectionEvent => ({
  kind: 'state', timestampNs: 1n, oldState: 'SYN_SENT', newState: 'ESTABLISHED', family: 'ipv4',
  localAddress: '10.0.0.5', localPort: 40001, remoteAddress: '93.184.216.34', remotePort: 443,
  owner: { tgid: 100, pid: 100, comm: 'curl', threadName: 'curl', cgroupId: 0n }, direction: 'active',
  durationNs: 0, error: 0, srttMicros: 0, netns: 4026531840, wireFamily: 'ipv4', ...over,
});

const FLOWS: FlowDelta[] = [
  flow({ txBytes: 517, rxBytes: 9000, txMessages: 2, rxMessages: 5, srttMicros: 12_000 }),
  flow({ comm: 'nginx', tgid: 7, localPort: 80, remoteAddress: '192.168.1.9', remotePort: 51000, txBytes: 4096, rxBytes: 300, txMessages: 1, rxMessages: 1, srttMicros: 150 }),
  flow({ comm: 'dnsmasq', tgid: 9, transport: 'udp', family: 'ipv6', localAddress: '::1', localPort: 53, remoteAddress: '::', remotePort: 0, txBytes: 120, rxBytes: 60, txMessages: 2, rxMessages: 2 }),
];

const EVENTS: ConnectionEvent[] = [
  event({ oldState: 'CLOSE', newState: 'SYN_SENT', localPort: 0 }),
  event({ durationNs: 2_500_000 }),
  event({ oldState: 'SYN_SENT', newState: 'CLOSE', localPort: 40002, remoteAddress: '10.0.0.7', remotePort: 5432, error: 111 }),
  event({ kind: 'retransmit', oldState: 'ESTABLISHED', newState: 'ESTABLISHED' }),
  event({ oldState: 'LAST_ACK', newState: 'CLOSE', durationNs: 3_000_000_000 }),
  event({ oldState: 'CLOSE', newState: 'LISTEN', owner: { tgid: 7, pid: 7, comm: 'nginx', threadName: 'nginx', cgroupId: 0n }, direction: undefined, localAddress: '0.0.0.0', localPort: 80, remoteAddress: '0.0.0.0', remotePort: 0 }),
  event({ oldState: 'SYN_RECV', newState: 'ESTABLISHED', owner: { tgid: 7, pid: 7, comm: 'nginx', threadName: 'nginx', cgroupId: 0n }, direction: 'passive', localPort: 80, remoteAddress: '192.168.1.9', remotePort: 51000 }),
];

const STATS: CollectorStats = {
  eventsLost: 0,
  eventsReceived: 42,
  drainWakeups: 3,
  ioCallsSpilled: 5,
  ioCacheEvictions: 11,
  flowMapErrors: 2,
  malformedRecords: 1,
  mapFull: { sockets: 0, listeners: 0, flow_table: 0, connection_events: 0 },
  missedByHook: { socket_send: 0, socket_recv: 0, tcp_state: 0, tcp_retransmit: 1 },
  mapMemoryBytes: { events: 16_781_312, sockets: 6_832_128, io_socks_a: 2_098_528 },
  programRuns: [
    { hook: 'socket_send', implementation: 'tp_btf', program: 'btf_sock_send_length', runTimeNs: 1_234_567_890, runCount: 9_000_000 },
    { hook: 'tcp_state', implementation: 'tp_btf', program: 'btf_inet_sock_set_state', runTimeNs: 500, runCount: 3 },
  ],
};

const PLAN = {
  hooks: [
    { hook: 'socket_send', required: true, chosen: 'tp_btf', programs: [], failures: [] },
    { hook: 'socket_recv', required: true, chosen: 'tp_btf', programs: [], failures: [] },
    { hook: 'tcp_state', required: true, chosen: 'tp_btf', programs: [], failures: [] },
    { hook: 'tcp_retransmit', required: false, programs: [], failures: [] },
  ],
} as unknown as AttachPlan;

async function exposition(): Promise<string> {
  let flows = FLOWS;
  let events = EVENTS;
  const source = {
    drainInto: async (visit: (f: FlowDelta) => void) => [flows, (flows = [])][0]!.forEach((f) => visit(f)),
    drainConnectionEvents: async () => [events, (events = [])][0]!,
    stats: () => STATS,
  };
  const producer = new SockscopeProducer(source, new EnrichedConnections(source), {
    buildInfo: { version: '0.0.0-golden', nodeVersion: '20.0.0' },
    plan: PLAN,
    limits: { maxSeries: 1000, ttlMs: 300_000 },
    serverPorts: new ServerPorts({ low: 32768, high: 60999 }),
    eventStreamStats: () => ({ written: 40, dropped: { buffer_full: 1, write_error: 2, file_removed: 0 } }),
    conntrackStats: () => ({ outcomes: new Map([['backend', 12], ['no_nat', 3], ['not_found', 1]]), evicted: 2 }),
    otlpExportStats: () => ({
      exports: new Map([['', 30], ['UNAVAILABLE', 4]]),
      dataPoints: new Map([['', 1500], ['UNAVAILABLE', 200]]),
    }),
  });
  const server = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true, withoutScopeLabels: true, metricProducers: [producer] });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'sockscope' }), readers: [server.reader] });
  const { port } = await server.start();
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } finally {
    await server.stop();
    await provider.shutdown();
  }
}

test('a fixed batch gives exactly the committed exposition', async () => {
  const text = await exposition();
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(GOLDEN)) writeFileSync(GOLDEN, text);
  assert.equal(text, readFileSync(GOLDEN, 'utf8'));
});

test('the exposition passes promtool check metrics', { skip: !existsSync('/usr/bin/promtool') && process.env.CI !== 'true' ? 'promtool not installed' : false }, async () => {
  const check = spawnSync('promtool', ['check', 'metrics'], { input: await exposition(), encoding: 'utf8' });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
});

test('every family in the exposition is documented, and every documented family appears', async () => {
  const families = new Set([...(await exposition()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  families.delete('target_info');
  const documented = new Set(METRICS.map((m) => m.prometheusName.replace(/_total$/, '')));
  for (const f of families) assert.ok(documented.has(f.replace(/_total$/, '')), `${f} is not in docs/metrics.md`);
  for (const d of documented) assert.ok([...families].some((f) => f.replace(/_total$/, '') === d), `${d} is documented but not exposed`);
});
