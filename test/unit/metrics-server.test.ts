import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { MetricsServer, PROMETHEUS_CONTENT_TYPE } from '../../src/export/metrics-server';

const NETWORK_IO_LINE_PREFIX =
  'sockscope_network_io_bytes_total{network_transport="tcp",network_io_direction="transmit",otel_scope_name="sockscope",otel_scope_version="0.1.0"}';

/** Runs `promtool check metrics` on `body`; undefined when promtool is not installed. */
async function promtoolCheck(body: string): Promise<{ code: number | null; output: string } | undefined> {
  if (spawnSync('promtool', ['--version']).error) return undefined;
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(body);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, output };
}

function skipOrFailWithoutPromtool(t: TestContext): void {
  if (process.env.CI === 'true') assert.fail('promtool is required in CI (Debian/Ubuntu: apt-get install prometheus)');
  t.skip('promtool not installed');
}

describe('MetricsServer', () => {
  let ready = false;
  let transmitted = 1500;
  let failCollection = false;
  const errors: Error[] = [];
  const warnings: string[] = [];

  const server = new MetricsServer({
    host: '127.0.0.1',
    port: 0,
    isReady: () => ready,
    onError: (error) => errors.push(error),
    onWarning: (message) => warnings.push(message),
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'sockscope', 'host.name': 'test-node' }),
    readers: [server.reader],
  });
  let base = '';

  before(async () => {
    const meter = provider.getMeter('sockscope', '0.1.0');
    meter
      .createObservableCounter('sockscope.network.io', { unit: 'By', description: 'Bytes moved by sockets.' })
      .addCallback((result) => {
        result.observe(transmitted, { 'network.transport': 'tcp', 'network.io.direction': 'transmit' });
      });
    // Same instrument from a second meter: must join the family, not repeat it (promtool rejects that).
    provider
      .getMeter('sockscope.other')
      .createObservableCounter('sockscope.network.io', { unit: 'By', description: 'Bytes, other meter.' })
      .addCallback((result) => result.observe(7, { 'network.transport': 'udp' }));
    meter
      .createObservableGauge('sockscope.build.info', { description: 'Always 1.' })
      .addCallback((result) => result.observe(1, { version: '0.1.0' }));
    meter.createObservableGauge('sockscope.test.flaky').addCallback((result) => {
      if (failCollection) throw new Error('flaky callback failed');
      result.observe(0);
    });
    const bound = await server.start();
    assert.equal(bound.host, '127.0.0.1');
    assert.ok(bound.port > 0, `bound port ${bound.port}`);
    base = `http://127.0.0.1:${bound.port}`;
  });

  after(async () => {
    await server.stop();
    await provider.shutdown();
  });

  it('serves the counter under its documented Prometheus name, with live values', async () => {
    const first = await fetch(`${base}/metrics`);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
    const body = await first.text();
    const lines = body.split('\n');
    assert.ok(lines.includes('# TYPE sockscope_network_io_bytes_total counter'), body);
    assert.ok(lines.includes('# HELP sockscope_network_io_bytes_total Bytes moved by sockets.'), body);
    assert.ok(lines.includes(`${NETWORK_IO_LINE_PREFIX} 1500`), body);
    assert.ok(
      lines.includes('sockscope_network_io_bytes_total{network_transport="udp",otel_scope_name="sockscope.other"} 7'),
      body,
    );
    assert.ok(lines.includes('# TYPE sockscope_build_info gauge'), body);
    assert.ok(
      lines.includes('sockscope_build_info{version="0.1.0",otel_scope_name="sockscope",otel_scope_version="0.1.0"} 1'),
      body,
    );
    assert.ok(lines.includes('target_info{service_name="sockscope",host_name="test-node"} 1'), body);
    assert.ok(!body.includes('# UNIT'), body);
    const families = lines.filter((line) => line.startsWith('# TYPE ')).map((line) => line.split(' ')[2]);
    assert.deepEqual(families.sort(), [
      'sockscope_build_info',
      'sockscope_network_io_bytes_total',
      'sockscope_test_flaky',
      'target_info',
    ]);

    transmitted = 2500;
    const second = await (await fetch(`${base}/metrics`)).text();
    assert.ok(second.split('\n').includes(`${NETWORK_IO_LINE_PREFIX} 2500`), second);
  });

  it('produces an exposition that promtool check metrics accepts', async (t) => {
    // The control proves promtool really judges its input.
    const broken = await promtoolCheck('# HELP a x\n# TYPE a gauge\na 1\n# HELP a x\n# TYPE a gauge\na 2\n');
    if (broken === undefined) return skipOrFailWithoutPromtool(t);
    assert.notEqual(broken.code, 0, 'promtool accepted a duplicated family');

    const body = await (await fetch(`${base}/metrics`)).text();
    const checked = await promtoolCheck(body);
    assert.ok(checked);
    assert.equal(checked.code, 0, `promtool check metrics:\n${checked.output}\n--- body ---\n${body}`);
  });

  it('answers /healthz with 200 ok', async () => {
    const response = await fetch(`${base}/healthz`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'ok\n');
  });

  it('answers /readyz with 503 until isReady() says yes, then 200', async () => {
    ready = false;
    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    assert.equal(await notReady.text(), 'not ready\n');
    ready = true;
    const isReady = await fetch(`${base}/readyz`);
    assert.equal(isReady.status, 200);
    assert.equal(await isReady.text(), 'ready\n');
  });

  it('answers unknown paths with 404 and other methods with 405', async () => {
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    const posted = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(posted.status, 405);
    assert.equal(posted.headers.get('allow'), 'GET, HEAD');
    await posted.arrayBuffer();
  });

  it('ignores the query string', async () => {
    const response = await fetch(`${base}/healthz?verbose=1`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  });

  it('answers HEAD on every endpoint with the GET status and no body', async () => {
    ready = false;
    for (const [path, status] of [['/metrics', 200], ['/healthz', 200], ['/readyz', 503], ['/nope', 404]] as const) {
      const response = await fetch(`${base}${path}`, { method: 'HEAD' });
      assert.equal(response.status, status, path);
      assert.ok(Number(response.headers.get('content-length')) > 0, path);
      assert.equal(await response.text(), '', path);
    }
  });

  it('turns a collection error into a 500, reports it, and recovers', async () => {
    failCollection = true;
    const failed = await fetch(`${base}/metrics`);
    assert.equal(failed.status, 500);
    assert.match(await failed.text(), /flaky callback failed/);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /^metrics collection failed: .*flaky callback failed/);

    failCollection = false;
    const recovered = await fetch(`${base}/metrics`);
    assert.equal(recovered.status, 200);
    await recovered.arrayBuffer();
  });

  it('reports a dropped metric once, however often it is scraped', async () => {
    // `jobs` (counter) and `jobs.total` (gauge) both want the family `jobs_total`.
    const meter = provider.getMeter('sockscope.conflicts');
    meter.createObservableCounter('sockscope.jobs').addCallback((result) => result.observe(1));
    meter.createObservableUpDownCounter('sockscope.jobs.total').addCallback((result) => result.observe(2));
    for (let i = 0; i < 3; i += 1) {
      const body = await (await fetch(`${base}/metrics`)).text();
      assert.ok(body.split('\n').includes('sockscope_jobs_total{otel_scope_name="sockscope.conflicts"} 1'), body);
    }
    assert.deepEqual(warnings, [
      'metric "sockscope.jobs.total" maps to "sockscope_jobs_total" as a gauge, which is already a counter; dropped',
    ]);
  });

  it('rejects start() with host:port when the port is taken', async () => {
    const port = Number(new URL(base).port);
    const second = new MetricsServer({ host: '127.0.0.1', port, isReady: () => true });
    await assert.rejects(second.start(), (error: Error) => {
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(error.message, /EADDRINUSE/);
      return true;
    });
    await second.stop();
  });
});

describe('MetricsServer.stop', () => {
  it('closes the listener even with a keep-alive connection open', { timeout: 20_000 }, async () => {
    const server = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true });
    const provider = new MeterProvider({ readers: [server.reader] });
    const { port } = await server.start();
    // fetch keeps the connection alive after this response.
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(response.status, 200);
    await response.text();
    await server.stop();
    await server.stop();
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    await provider.shutdown();
  });

  it('lets an in-flight scrape finish, closing its connection', { timeout: 20_000 }, async () => {
    const server = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true });
    const provider = new MeterProvider({ readers: [server.reader] });
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = (): void => {};
    const inCallback = new Promise<void>((resolve) => (entered = resolve));
    provider
      .getMeter('sockscope')
      .createObservableGauge('sockscope.test.slow')
      .addCallback(async (result) => {
        entered();
        await gate;
        result.observe(1);
      });
    const { port } = await server.start();
    const scrape = fetch(`http://127.0.0.1:${port}/metrics`);
    await inCallback;
    const stopped = Promise.all([server.stop(), server.stop()]);
    release();
    const response = await scrape;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('connection'), 'close');
    assert.match(await response.text(), /^sockscope_test_slow\{otel_scope_name="sockscope"\} 1$/m);
    await stopped;
    await provider.shutdown();
  });

  it('answers 500 once the MeterProvider has shut the reader down', async () => {
    const errors: Error[] = [];
    const server = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true, onError: (e) => errors.push(e) });
    const provider = new MeterProvider({ readers: [server.reader] });
    const { port } = await server.start();
    try {
      await provider.shutdown();
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 500);
      assert.match(await response.text(), /MetricReader is shutdown/);
      assert.equal(errors.length, 1);
    } finally {
      await server.stop();
    }
  });
});
