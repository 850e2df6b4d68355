/* Self-tests of the real-peer test harness in test/helpers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metadata } from '@grpc/grpc-js';
import { ValueType } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { bpfTestOptions, bpfUnavailableReason, requireBpf, requireRoot, rootTestOptions } from '../helpers/bpf-gate';
import { int64ToNumber, OtlpReceiver } from '../helpers/otlp-receiver';
import { PrometheusServer, prometheusInstalled } from '../helpers/prometheus-server';
import { expectedTraffic, runTraffic, uniqueProcessName, type IpFamily, type Transport } from '../helpers/traffic';

test('OTLP receiver decodes a real OTLPMetricExporter export', async () => {
  const receiver = await OtlpReceiver.start();
  const metadata = new Metadata();
  metadata.set('x-harness', 'yes');
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: receiver.endpoint, metadata }),
    exportIntervalMillis: 60_000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'harness-test' }),
    readers: [reader],
  });
  try {
    const meter = provider.getMeter('harness');
    const ints = meter.createCounter('harness.int', { valueType: ValueType.INT });
    ints.add(5, { direction: 'tx', pid: 42 });
    ints.add(7, { direction: 'tx', pid: 42 });
    ints.add(3, { direction: 'rx', pid: 42 });
    meter.createCounter('harness.double', { valueType: ValueType.DOUBLE }).add(1.25, { direction: 'tx' });
    await reader.forceFlush();
    await receiver.waitFor((r) => r.latestValue('harness.double') !== undefined, 10_000);

    assert.equal(receiver.latestValue('harness.int', { direction: 'tx' }), 12);
    assert.equal(receiver.latestValue('harness.int', { direction: 'rx', pid: 42 }), 3);
    assert.equal(receiver.latestValue('harness.int', { direction: 'tx', pid: 43 }), undefined);
    assert.equal(receiver.latestValue('harness.double', { direction: 'tx' }), 1.25);
    const [point] = receiver.dataPoints('harness.int', { direction: 'rx' });
    assert.deepEqual(point?.attributes, { direction: 'rx', pid: 42 });
    assert.equal(point?.kind, 'sum');
    assert.equal(point?.isMonotonic, true);
    assert.equal(point?.aggregationTemporality, 'AGGREGATION_TEMPORALITY_CUMULATIVE');
    assert.equal(point?.resourceAttributes['service.name'], 'harness-test');
    assert.equal(point?.scopeName, 'harness');
    assert.deepEqual(receiver.metricNames(), ['harness.double', 'harness.int']);
    assert.deepEqual(receiver.exports[0]?.metadata.get('x-harness'), ['yes']);
  } finally {
    await provider.shutdown();
    await receiver.stop();
  }
});

test('OTLP receiver waitFor fails with what it received', async () => {
  const receiver = await OtlpReceiver.start();
  try {
    await assert.rejects(receiver.waitFor(() => false, 50), /condition not met after 50 ms; received:\n0 export/);
  } finally {
    await receiver.stop();
  }
});

test('int64 values convert exactly or not at all', () => {
  assert.equal(int64ToNumber('9007199254740991'), Number.MAX_SAFE_INTEGER);
  assert.equal(int64ToNumber(-5n), -5);
  assert.equal(int64ToNumber({ toString: () => '42' }), 42); // a protobufjs Long
  assert.throws(() => int64ToNumber('9007199254740993'), RangeError);
});

const prometheusMissing = !prometheusInstalled();
test(
  'Prometheus helper scrapes a loopback target and sees its values',
  { skip: prometheusMissing && process.env.CI !== 'true' ? '/usr/bin/prometheus is not installed' : false },
  async () => {
    assert.ok(!prometheusMissing, '/usr/bin/prometheus is not installed, and CI=true requires it');
    let served = 1234;
    const target = createServer((_request, response) => {
      response.setHeader('content-type', 'text/plain; version=0.0.4');
      response.end(
        '# HELP harness_bytes_total Bytes seen by the harness test.\n' +
          '# TYPE harness_bytes_total counter\n' +
          `harness_bytes_total{direction="tx"} ${served}\n`,
      );
    });
    target.listen(0, '127.0.0.1');
    await new Promise((resolve) => target.once('listening', resolve));
    const { port } = target.address() as AddressInfo;
    const prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${port}`], jobName: 'harness' });
    try {
      const [first] = await prometheus.waitForQuery('harness_bytes_total', (s) => s.length === 1, 30_000);
      assert.equal(first?.value, 1234);
      assert.equal(first?.metric.direction, 'tx');
      assert.equal(first?.metric.job, 'harness');
      assert.equal(first?.metric.instance, `127.0.0.1:${port}`);
      served = 5678;
      await prometheus.waitForQuery('harness_bytes_total', (s) => s[0]?.value === 5678, 30_000);
      const [scalar] = await prometheus.query('scalar(sum(harness_bytes_total))');
      assert.equal(scalar?.value, 5678);
      await assert.rejects(
        prometheus.waitForQuery('harness_bytes_total', (s) => s[0]?.value === -1, 500),
        /timed out after 500 ms; last result: .*"value":5678/,
      );
    } finally {
      await prometheus.stop();
      target.close();
    }
  },
);

test('Prometheus helper refuses non-loopback targets', async () => {
  await assert.rejects(PrometheusServer.start({ targets: ['10.0.0.1:9100'] }), /non-loopback/);
});

const exchanges: Array<[Transport, IpFamily]> = [
  ['tcp', 'ipv4'],
  ['tcp', 'ipv6'],
  ['udp', 'ipv4'],
  ['udp', 'ipv6'],
];
for (const [transport, family] of exchanges) {
  test(`traffic child reports exact ${transport}/${family} bytes under its own comm`, async () => {
    const name = uniqueProcessName('harness');
    const request = { name, transport, family, messageSize: 1400, messages: 25 };
    const result = await runTraffic(request);
    assert.equal(result.comm, name);
    assert.ok(result.pid > 0 && result.pid !== process.pid);
    const zero = { tx: 0, rx: 0 };
    const expected = {
      tcp: { ipv4: zero, ipv6: zero },
      udp: { ipv4: zero, ipv6: zero },
      [transport]: { ipv4: zero, ipv6: zero, [family]: expectedTraffic(request) },
    };
    assert.deepEqual({ tcp: result.tcp, udp: result.udp }, expected);
    assert.deepEqual(result.datagrams, transport === 'udp' ? { tx: 50, rx: 50 } : undefined);
    assert.equal(result.server.address, family === 'ipv4' ? '127.0.0.1' : '::1');
    assert.equal(result.client.address, result.server.address);
    assert.notEqual(result.client.port, result.server.port);
  });
}

test('traffic child moves large TCP messages and maximal UDP datagrams exactly', async () => {
  const tcp = { name: uniqueProcessName('big'), transport: 'tcp', family: 'ipv6', messageSize: 3_000_000, messages: 2 } as const;
  assert.deepEqual((await runTraffic(tcp)).tcp.ipv6, expectedTraffic(tcp));
  const udp = { name: uniqueProcessName('big'), transport: 'udp', family: 'ipv4', messageSize: 65_507, messages: 3 } as const;
  assert.deepEqual((await runTraffic(udp)).udp.ipv4, expectedTraffic(udp));
});

test(
  'traffic child can run in its own network namespace',
  { skip: process.getuid?.() !== 0 ? 'creating a network namespace needs root' : false },
  async () => {
    const request = { name: uniqueProcessName('netns'), transport: 'udp', family: 'ipv6', messageSize: 100, messages: 4 } as const;
    const result = await runTraffic({ ...request, isolateNetwork: true });
    assert.deepEqual(result.udp.ipv6, expectedTraffic(request));
  },
);

test('traffic helper rejects names the kernel would truncate', async () => {
  const name = uniqueProcessName('a-rather-long-prefix');
  assert.ok(name.length <= 15 && name.startsWith('a-rather'), name);
  assert.notEqual(uniqueProcessName('x'), uniqueProcessName('x'));
  await assert.rejects(
    runTraffic({ name: 'sixteen-chars-xx', transport: 'tcp', family: 'ipv4', messageSize: 1, messages: 1 }),
    /1\.\.15 characters/,
  );
});

test('BPF gate never skips in CI and fails there with the reason', () => {
  const saved = process.env.CI;
  try {
    process.env.CI = 'true';
    assert.deepEqual(bpfTestOptions(), { skip: false });
    const reason = bpfUnavailableReason();
    if (reason === undefined) assert.doesNotThrow(requireBpf);
    else assert.throws(requireBpf, (e: Error) => e.message.includes(reason) && e.message.includes('CI=true'));
    delete process.env.CI;
    assert.deepEqual(bpfTestOptions(), { skip: reason ?? false });
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});

test('root gate never skips in CI; outside CI it skips exactly when not root', () => {
  const saved = process.env.CI;
  const root = process.getuid?.() === 0;
  try {
    process.env.CI = 'true';
    assert.deepEqual(rootTestOptions(), { skip: false });
    if (root) assert.doesNotThrow(requireRoot);
    else assert.throws(requireRoot, /needs root .*CI=true/);
    delete process.env.CI;
    const { skip } = rootTestOptions();
    if (root) assert.equal(skip, false);
    else assert.match(String(skip), /needs root/);
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});

test('BPF gate skips outside CI when not root', { skip: process.getuid?.() === 0 ? 'running as root' : false }, () => {
  assert.match(bpfUnavailableReason() ?? '', /need root/);
});
