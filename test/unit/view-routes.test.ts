import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import * as defs from '../../src/metrics/definitions';
import { MetricsServer } from '../../src/export/metrics-server';
import { ViewRoutes, type UiFiles } from '../../src/export/view-routes';
import { ViewModel } from '../../src/view/view-model';
import type { ViewHistory, ViewSnapshot } from '../../src/view/snapshot';
import { FakeCollection, io } from '../helpers/fake-collection';

describe('the view routes on the metrics server', () => {
  const fake = new FakeCollection();
  fake.io.set(io('nginx', 'transmit'), 1234);
  fake.losses.push([defs.EVENTS_LOST, 3]);
  const errors: Error[] = [];
  const view = new ViewModel({
    collect: async () => fake.result(),
    plan: { hooks: [{ hook: 'sock_sendmsg', required: true, chosen: 'tp_btf' }, { hook: 'tcp_<retransmit>', required: false }] },
    version: '1.2.3',
    hostname: 'node-<1>',
  });
  const uiFiles: UiFiles = async (relativePath) =>
    relativePath === '' ? { contentType: 'text/html; charset=utf-8', body: Buffer.from('<p>live</p>') } : undefined;
  const withView = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true, viewRoutes: new ViewRoutes(view, { uiFiles }), onError: (e) => errors.push(e) });
  const withoutUiFiles = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true, viewRoutes: new ViewRoutes(view) });
  const uiDisabled = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true });
  // /metrics needs its reader registered.
  const provider = new MeterProvider({ readers: [uiDisabled.reader] });
  let base = '';
  let baseNoFiles = '';
  let baseDisabled = '';

  before(async () => {
    base = `http://127.0.0.1:${(await withView.start()).port}`;
    baseNoFiles = `http://127.0.0.1:${(await withoutUiFiles.start()).port}`;
    baseDisabled = `http://127.0.0.1:${(await uiDisabled.start()).port}`;
  });
  after(async () => {
    await Promise.all([withView.stop(), withoutUiFiles.stop(), uiDisabled.stop()]);
    await provider.shutdown();
  });

  it('GET /api/v1/snapshot answers the ViewSnapshot as JSON, sampled on the first request', async () => {
    const response = await fetch(`${base}/api/v1/snapshot?group=process&window=5&limit=3&filter=ngi`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const snapshot = (await response.json()) as ViewSnapshot;
    assert.equal(snapshot.apiVersion, 'v1');
    assert.equal(snapshot.groupBy, 'process');
    assert.deepEqual(snapshot.rows.map((r) => [r.id, r.txBytes]), [['nginx', 1234]]);
    assert.equal(snapshot.losses.eventsLost, 3);
  });

  it('GET /api/v1/history answers aligned arrays', async () => {
    await view.sample();
    const response = await fetch(`${base}/api/v1/history?group=unit&window=60&limit=2`);
    assert.equal(response.status, 200);
    const history = (await response.json()) as ViewHistory;
    assert.equal(history.groupBy, 'unit');
    for (const row of history.rows) assert.equal(row.txBytesPerSecond.length, history.times.length);
  });

  it('a bad query is a 400 with one line of JSON naming what was wrong', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/api/v1/snapshot?group=host', /^group: "host" is not one of process, container, pod, unit$/],
      ['/api/v1/snapshot?window=0', /^window: "0" is not a number of seconds/],
      ['/api/v1/snapshot?window=abc', /^window: "abc"/],
      ['/api/v1/snapshot?limit=1001', /^limit: "1001" is not a whole number from 1 to 1000$/],
      ['/api/v1/snapshot?limit=-1', /^limit: "-1"/],
      ['/api/v1/snapshot?sort=rx', /^unknown parameter "sort"; known: group, window, limit, filter$/],
      ['/api/v1/snapshot?group=pod&group=unit', /^parameter "group" given more than once$/],
      ['/api/v1/history?filter=x', /^unknown parameter "filter"; known: group, window, limit$/],
      ['/api/v1/history?window=90000', /^window: "90000"/],
    ];
    for (const [path, message] of cases) {
      const response = await fetch(base + path);
      assert.equal(response.status, 400, path);
      const body = await response.text();
      assert.equal(body.split('\n').length, 2, `one line: ${body}`);
      assert.match((JSON.parse(body) as { error: string }).error, message, path);
    }
  });

  it('an unknown API path is a JSON 404; other methods than GET and HEAD a 405', async () => {
    const response = await fetch(`${base}/api/v2/snapshot`);
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as { error: string }).error, /no API endpoint \/api\/v2\/snapshot/);
    assert.equal((await fetch(`${base}/api/v1/snapshot`, { method: 'POST' })).status, 405);
  });

  it('GET / is the landing page: version, links, the plan and every loss counter, escaped', async () => {
    const response = await fetch(`${base}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await response.text();
    assert.match(html, /version 1\.2\.3, on node-&lt;1&gt;/);
    for (const href of ['/metrics', '/healthz', '/readyz', '/ui/']) assert.ok(html.includes(`<a href="${href}">`), href);
    assert.match(html, /1\/2 hooks attached: sock_sendmsg=tp_btf, tcp_&lt;retransmit&gt;=none/);
    assert.match(html, /<tr class="bad"><td>sockscope_ebpf_events_lost_total<\/td><td class="n">3<\/td><\/tr>/);
    assert.match(html, /<tr><td>sockscope_ebpf_events_missed_total<\/td><td class="n">0<\/td><\/tr>/);
    assert.ok(!html.includes('<script'), 'no script');
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'nothing from elsewhere');
  });

  it('/ui/ is served by the hook; without one it is 404; /ui redirects to /ui/', async () => {
    const page = await fetch(`${base}/ui/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<p>live</p>');
    assert.equal((await fetch(`${base}/ui/app.js`)).status, 404);
    assert.equal((await fetch(`${baseNoFiles}/ui/`)).status, 404);
    const redirect = await fetch(`${base}/ui`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get('location'), '/ui/');
  });

  it('without the view routes (ui.enabled=false), /, /ui/ and /api/ are 404 and /metrics still answers', async () => {
    for (const path of ['/', '/ui/', '/api/v1/snapshot', '/api/v1/history']) assert.equal((await fetch(baseDisabled + path)).status, 404, path);
    assert.equal((await fetch(`${baseDisabled}/metrics`)).status, 200);
  });

  it('a failed collection is a 500 (JSON on the API) and is reported', async () => {
    const fresh = new ViewModel({ collect: async () => ({ ...fake.result(), errors: [new Error('collector gone')] }), plan: { hooks: [] }, version: 'x' });
    const server = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true, viewRoutes: new ViewRoutes(fresh), onError: (e) => errors.push(e) });
    const port = (await server.start()).port;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/snapshot`);
      assert.equal(response.status, 500);
      assert.match(((await response.json()) as { error: string }).error, /collection for the view failed/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 500);
      assert.ok(errors.some((e) => /serving \/api\/v1\/snapshot failed/.test(e.message)));
    } finally {
      await server.stop();
    }
  });
});
