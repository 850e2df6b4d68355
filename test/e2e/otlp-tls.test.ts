/**
 * OTLP over TLS to a backend that wants a header: the real gRPC receiver serves mutual TLS
 * with a CA made here by openssl and refuses exports without `authorization`. Without the
 * header the daemon's pushes are refused, logged once and counted; with it (from a headers
 * file, gzip-compressed) the exact byte counts arrive.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { DaemonProcess } from '../helpers/daemon';
import { makeTestCa, type TestCa } from '../helpers/openssl-ca';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';

const PUSHING = 'pushing OTLP metrics';
const TOKEN = 'Bearer e2e-secret-token';

describe('OTLP over TLS with a required header', bpfTestOptions(), () => {
  let ca: TestCa;
  let receiver: OtlpReceiver;

  before(async () => {
    requireBpf();
    ca = makeTestCa();
    receiver = await OtlpReceiver.start({
      tls: { cert: ca.read(ca.serverCert), key: ca.read(ca.serverKey), clientCa: ca.read(ca.caCert) },
      requiredHeaders: { authorization: TOKEN },
    });
  });
  after(async () => {
    await receiver?.stop();
    ca?.remove();
  });

  const tlsArgs = () => [
    '--otlp.endpoint', receiver.endpoint,
    '--otlp.caFile', ca.caCert, '--otlp.certFile', ca.clientCert, '--otlp.keyFile', ca.clientKey,
  ];

  test('without the header, pushes are refused, logged once and counted by error.type', async () => {
    const daemon = await DaemonProcess.start(['--prometheus.port=0', '--prometheus.host=127.0.0.1', ...tlsArgs(), '--otlp.interval', '1s'], PUSHING);
    try {
      const port = (await daemon.waitForLog((l) => l.msg === 'serving Prometheus metrics on /metrics', 1000)).port as number;
      // Several refusals: the TLS handshake (client certificate included) went through every time.
      await receiver.waitFor((r) => r.rejected >= 5, 30_000);
      // The first push may time out while the channel connects on a loaded machine; a refusal
      // then gets a line of its own.
      await daemon.waitForLog((l) => l.msg?.startsWith('OTLP export failing') === true && l.errorType === 'UNAUTHENTICATED', 10_000);
      assert.equal(receiver.exports.length, 0);
      const refused = (text: string) => Number(/^sockscope_otlp_exports_total\{error_type="UNAUTHENTICATED"\} (\d+)$/m.exec(text)?.[1] ?? 0);
      let metrics = '';
      // The counter trails the receiver by the push in flight: wait until it has them all.
      for (let i = 0; i < 100 && refused(metrics) < 5; i++) {
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        if (refused(metrics) < 5) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(refused(metrics) >= 5, metrics);
      assert.match(metrics, /^otel_sdk_exporter_metric_data_point_exported_total\{error_type="UNAUTHENTICATED"\} [1-9]\d*$/m);
      assert.doesNotMatch(metrics, /^sockscope_otlp_exports_total \d/m, 'no push succeeded');
      const failing = daemon.logs.filter((l) => l.msg?.startsWith('OTLP export failing'));
      assert.equal(failing.filter((l) => l.errorType === 'UNAUTHENTICATED').length, 1, JSON.stringify(daemon.logs));
      assert.ok(failing.length <= 2, JSON.stringify(failing));
      assert.equal(daemon.logs.filter((l) => l.level >= 50).length, 0, 'no error lines');
      assert.doesNotMatch(JSON.stringify(daemon.logs), /e2e-secret-token/);
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
  });

  test('with the header from a file and gzip, the exact byte counts arrive', async () => {
    const headersFile = path.join(ca.dir, 'otlp-headers');
    writeFileSync(headersFile, `authorization=${encodeURIComponent(TOKEN)}\n`, { mode: 0o600 });
    const before = receiver.exports.length;
    const daemon = await DaemonProcess.start(
      ['--prometheus.enabled=false', ...tlsArgs(), '--otlp.headersFile', headersFile, '--otlp.compression', 'gzip', '--otlp.interval', '500ms'],
      PUSHING,
    );
    try {
      const started = daemon.logs.find((l) => l.msg === PUSHING)!;
      assert.deepEqual(started.headers, ['authorization'], 'header names only in the log');
      assert.equal(started.compression, 'gzip');
      const name = uniqueProcessName('sstlsudp');
      const traffic = await runTraffic({ name, transport: 'udp', family: 'ipv4', messageSize: 700, messages: 50 });
      const total = (direction: string): number | undefined => {
        const points = receiver.dataPoints('sockscope.network.io', {
          'process.executable.name': name, 'network.transport': 'udp', 'network.io.direction': direction,
        });
        if (points.length === 0) return undefined;
        const last = Math.max(...points.map((p) => p.requestIndex));
        return points.filter((p) => p.requestIndex === last).reduce((n, p) => n + p.value, 0);
      };
      await receiver.waitFor(() => total('transmit') === traffic.udp.ipv4.tx && total('receive') === traffic.udp.ipv4.rx, 30_000);
      const received = receiver.exports.slice(before);
      assert.ok(received.length > 0);
      for (const { metadata } of received) {
        // grpc-js takes grpc-encoding out of the metadata it hands on: that the gzip pushes
        // decode is what this test can see of compression.
        assert.deepEqual(metadata.get('authorization'), [TOKEN]);
      }
      // The pushes count themselves: the successes (no error.type) reach the backend too.
      await receiver.waitFor(() => (receiver.latestValue('sockscope.otlp.exports') ?? 0) >= 1, 30_000);
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
  });
});
