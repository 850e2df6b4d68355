/**
 * The view (src/view) and its HTTP API against the real pipeline: real probes, real
 * traffic from named processes.
 * - In-process, one collection feeds both the Prometheus text and the view: every
 *   total and loss counter of the snapshot equals the sum of the exposition's samples.
 * - `sockscope run`: the API's row of a named process equals /metrics between two
 *   identical scrapes, and the bytes it moved; bad queries are 400s; the landing page
 *   lists the plan and the loss counters; basic auth covers the API; ui.enabled=false
 *   answers 404.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { PrometheusTextSerializer } from '../../src/export/prometheus-text';
import { PrometheusViewBuilder } from '../../src/export/prometheus-view';
import * as defs from '../../src/metrics/definitions';
import { LOSS_METRICS } from '../../src/view/sample';
import type { ViewHistory, ViewSnapshot } from '../../src/view/snapshot';
import { ViewModel } from '../../src/view/view-model';
import { parseExposition, sumOf, type Sample } from '../deploy/helpers/exposition';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { DaemonProcess } from '../helpers/daemon';
import { NamedProcess } from '../helpers/named-process';
import { testProducer } from '../helpers/producer';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';

const READY = 'serving Prometheus metrics on /metrics';
const IO = defs.NETWORK_IO.prometheusName;
const ACTIVE = defs.CONNECTIONS_ACTIVE.prometheusName;
const EXE = 'process_executable_name';

async function until<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await attempt();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the view adds up the very series /metrics renders', bpfTestOptions(), () => {
  let collector: BpfCollector | undefined;
  const children: NamedProcess[] = [];
  after(() => {
    for (const c of children) c.kill();
    collector?.close();
  });

  test('one collection: snapshot totals, named rows and every loss counter equal the exposition', async () => {
    requireBpf();
    collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 });
    const producer = testProducer(collector);
    const serverName = uniqueProcessName('ssvsrv');
    const holderName = uniqueProcessName('ssvhold');
    const server = NamedProcess.start({ name: serverName, mode: 'serve', host: '127.0.0.1', echo: true });
    children.push(server);
    const { port } = await server.reply<{ port: number }>();
    const holder = NamedProcess.start({ name: holderName, mode: 'hold', host: '127.0.0.1', port, count: 3, bytes: 4096 });
    children.push(holder);
    await holder.reply();
    // One way only, so that transmit and receive cannot be mistaken for each other.
    const sinkName = uniqueProcessName('ssvsink');
    const senderName = uniqueProcessName('ssvbulk');
    const sink = NamedProcess.start({ name: sinkName, mode: 'serve', host: '127.0.0.1' });
    children.push(sink);
    const { port: sinkPort } = await sink.reply<{ port: number }>();
    const BULK = 300_000;
    const sender = NamedProcess.start({ name: senderName, mode: 'bulk', host: '127.0.0.1', port: sinkPort, bytes: BULK });
    children.push(sender);
    await sender.reply();

    const viewBuilder = new PrometheusViewBuilder({ withoutScopeLabels: true });
    const text = new PrometheusTextSerializer();
    let current: Awaited<ReturnType<typeof producer.collect>> | undefined;
    const view = new ViewModel({ collect: async () => current!, plan: collector.plan, version: 'test' });
    const row = await until(`${holderName} and ${senderName} moved their bytes`, async () => {
      current = await producer.collect();
      const samples = parseExposition(text.serialize(viewBuilder.build(current.resourceMetrics).resourceMetrics, { withoutTargetInfo: true }));
      await view.sample();
      const snapshot = view.snapshot({ groupBy: 'process', filter: 'ssv' });
      assertSameAsExposition(snapshot, samples);
      const holderRow = snapshot.rows.find((r) => r.id === holderName);
      const senderRow = snapshot.rows.find((r) => r.id === senderName);
      const done = holderRow?.txBytes === 3 * 4096 && holderRow.rxBytes === 3 * 4096 && senderRow?.txBytes === BULK;
      return done ? { holderRow, senderRow, sinkRow: snapshot.rows.find((r) => r.id === sinkName) } : undefined;
    });
    assert.equal(row.holderRow.activeConnections, 3);
    assert.equal(row.holderRow.label, holderName);
    assert.equal(row.senderRow.rxBytes, 0);
    assert.equal(row.sinkRow?.rxBytes, BULK);
    assert.equal(row.sinkRow?.txBytes, 0);
  });
});

function assertSameAsExposition(snapshot: ViewSnapshot, samples: readonly Sample[]): void {
  assert.equal(snapshot.totals.txBytes, sumOf(samples, IO, { network_io_direction: 'transmit' }));
  assert.equal(snapshot.totals.rxBytes, sumOf(samples, IO, { network_io_direction: 'receive' }));
  assert.equal(snapshot.totals.activeConnections, sumOf(samples, ACTIVE, {}));
  for (const [key, def] of Object.entries(LOSS_METRICS)) assert.equal(snapshot.losses[key], sumOf(samples, def.prometheusName, {}), key);
  for (const row of snapshot.rows) {
    assert.equal(row.txBytes, sumOf(samples, IO, { [EXE]: row.id, network_io_direction: 'transmit' }), row.id);
    assert.equal(row.rxBytes, sumOf(samples, IO, { [EXE]: row.id, network_io_direction: 'receive' }), row.id);
    assert.equal(row.activeConnections, sumOf(samples, ACTIVE, { [EXE]: row.id }), row.id);
  }
}

describe('the JSON API and landing page of `sockscope run`, behind basic auth', bpfTestOptions(), () => {
  const PASSWORD = 'view-secret';
  let dir: string;
  let daemon: DaemonProcess | undefined;
  let base = '';
  const auth = { Authorization: `Basic ${Buffer.from(`viewer:${PASSWORD}`).toString('base64')}` };
  const get = (urlPath: string) => fetch(base + urlPath, { headers: auth });

  before(async () => {
    requireBpf();
    dir = mkdtempSync(path.join(tmpdir(), 'sockscope-view-'));
    const webConfig = path.join(dir, 'web-config.yml');
    writeFileSync(webConfig, `basic_auth_users:\n  viewer: ${bcrypt.hashSync(PASSWORD, 4)}\n`);
    daemon = await DaemonProcess.start(['--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--prometheus.webConfigFile', webConfig], READY);
    base = `http://127.0.0.1:${(await daemon.waitForLog((l) => l.msg === READY, 1000)).port as number}`;
  });
  after(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without credentials the API, the landing page and /ui/ ask for them', async () => {
    for (const urlPath of ['/api/v1/snapshot', '/api/v1/history', '/', '/ui/']) {
      const response = await fetch(base + urlPath);
      assert.equal(response.status, 401, urlPath);
      assert.equal(response.headers.get('www-authenticate'), 'Basic');
    }
  });

  test("a named process's row equals /metrics between two identical scrapes, and the bytes it moved", async () => {
    const name = uniqueProcessName('ssviewtcp');
    const traffic = await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 4096, messages: 32 });
    const scrape = async () => {
      const samples = parseExposition(await (await get('/metrics')).text());
      return [sumOf(samples, IO, { [EXE]: name, network_io_direction: 'transmit' }), sumOf(samples, IO, { [EXE]: name, network_io_direction: 'receive' })];
    };
    const seen = await until(`the API and two scrapes agree on ${name}`, async () => {
      const before = await scrape();
      const response = await get(`/api/v1/snapshot?group=process&filter=${name}&window=5`);
      assert.equal(response.status, 200);
      const snapshot = (await response.json()) as ViewSnapshot;
      const after = await scrape();
      const row = snapshot.rows.find((r) => r.id === name);
      if (!row || before.join() !== after.join() || [row.txBytes, row.rxBytes].join() !== before.join()) return undefined;
      return { row, snapshot };
    });
    assert.deepEqual([seen.row.txBytes, seen.row.rxBytes], [traffic.tcp.ipv4.tx, traffic.tcp.ipv4.rx]);
    assert.equal(seen.snapshot.groupBy, 'process');
    assert.ok(seen.snapshot.plan.hooks.length > 0);
    const history = (await (await get('/api/v1/history?group=process&window=60&limit=1000')).json()) as ViewHistory;
    const historyRow = history.rows.find((r) => r.id === name);
    assert.ok(historyRow, `${name} is in the history`);
    assert.equal(historyRow.txBytesPerSecond.length, history.times.length);
  });

  test('a bad query is a 400 with a one-line JSON error', async () => {
    const response = await get('/api/v1/snapshot?group=hosts');
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(await response.text(), '{"error":"group: \\"hosts\\" is not one of process, container, pod, unit"}\n');
  });

  test('the landing page names the version, links the endpoints, lists the plan and every loss counter', async () => {
    const snapshot = (await (await get('/api/v1/snapshot')).json()) as ViewSnapshot;
    const html = await (await get('/')).text();
    assert.ok(html.includes(`version ${snapshot.sockscope.version}`));
    for (const href of ['/metrics', '/healthz', '/readyz', '/ui/']) assert.ok(html.includes(`href="${href}"`), href);
    for (const hook of snapshot.plan.hooks) assert.ok(html.includes(`<td>${hook.hook}</td>`), hook.hook);
    for (const def of Object.values(LOSS_METRICS)) assert.ok(html.includes(`<td>${def.prometheusName}</td>`), def.prometheusName);
  });
});

describe('ui.enabled=false', bpfTestOptions(), () => {
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.stop();
  });

  test('/, /ui/ and /api/ answer 404; /metrics still answers', async () => {
    requireBpf();
    daemon = await DaemonProcess.start(['--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--ui.enabled=false'], READY);
    const base = `http://127.0.0.1:${(await daemon.waitForLog((l) => l.msg === READY, 1000)).port as number}`;
    for (const urlPath of ['/', '/ui/', '/api/v1/snapshot', '/api/v1/history']) assert.equal((await fetch(base + urlPath)).status, 404, urlPath);
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
  });
});
