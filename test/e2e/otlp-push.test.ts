/**
 * OTLP push to a real gRPC receiver decoding the official OTLP protobuf messages:
 * periodic pushes carry the exact byte counts, and SIGTERM flushes a last batch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { DaemonProcess } from '../helpers/daemon';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';
import { NamedProcess } from '../helpers/named-process';

const PUSHING = 'pushing OTLP metrics';

describe('OTLP push', bpfTestOptions(), () => {
  let receiver: OtlpReceiver;

  before(async () => {
    requireBpf();
    receiver = await OtlpReceiver.start();
  });
  after(async () => receiver?.stop());

  /** A process's bytes may span several series (e.g. peer groups): sum those of the latest export. */
  const latestTotal = (name: string, direction: string): number | undefined => {
    const points = receiver.dataPoints('sockscope.network.io', attrs(name, direction));
    if (points.length === 0) return undefined;
    const last = Math.max(...points.map((p) => p.requestIndex));
    return points.filter((p) => p.requestIndex === last).reduce((n, p) => n + p.value, 0);
  };
  const attrs = (name: string, direction: string) => ({
    'process.executable.name': name,
    'network.transport': 'udp',
    'network.type': 'ipv6',
    'network.io.direction': direction,
  });

  test('periodic pushes carry the exact byte counter of a named process', async () => {
    const daemon = await DaemonProcess.start(
      ['--prometheus.enabled=false', '--otlp.endpoint', receiver.endpoint, '--otlp.interval', '300ms'],
      PUSHING,
    );
    try {
      const name = uniqueProcessName('ssotlpudp');
      const traffic = await runTraffic({ name, transport: 'udp', family: 'ipv6', messageSize: 512, messages: 100 });
      await receiver.waitFor(
        () =>
          latestTotal(name, 'transmit') === traffic.udp.ipv6.tx && latestTotal(name, 'receive') === traffic.udp.ipv6.rx,
        30_000,
      );
      const point = receiver.dataPoints('sockscope.network.io', attrs(name, 'transmit')).at(-1)!;
      assert.equal(point.isMonotonic, true);
      assert.equal(point.aggregationTemporality, 'AGGREGATION_TEMPORALITY_CUMULATIVE');
      assert.equal(point.resourceAttributes['service.name'], 'sockscope');
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
  });

  test('with otlp.histograms=exponential, latency histograms arrive as base-2 exponential histograms', async () => {
    const daemon = await DaemonProcess.start(
      ['--prometheus.enabled=false', '--otlp.endpoint', receiver.endpoint, '--otlp.interval', '1h', '--otlp.histograms', 'exponential'],
      PUSHING,
    );
    const name = uniqueProcessName('ssexph');
    const server = NamedProcess.start({ name: `${name}s`.slice(0, 15), mode: 'serve', host: '127.0.0.1' });
    const { port } = await server.reply<{ port: number }>();
    const client = NamedProcess.start({ name, mode: 'connect', host: '127.0.0.1', port, count: 5 });
    assert.deepEqual(await client.reply(), { ok: 5, refused: 0 });
    await server.exit();
    assert.equal(await daemon.stop('SIGTERM'), 0);
    type ExpPoint = { attributes: Array<{ key: string; value: { stringValue?: string } }>; count: string; scale: number; positive: { bucketCounts: string[] } };
    // The receiver is shared: look only at this process's points, whichever kind they are.
    const mine = (p: ExpPoint) => p.attributes.some((a) => a.key === 'process.executable.name' && a.value.stringValue === name);
    const metrics = receiver.requests
      .flatMap((r) => r.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)))
      .filter((m) => m.name === 'sockscope.tcp.connect.duration');
    const kinds = (m: (typeof metrics)[number]) => m as unknown as { exponentialHistogram?: { dataPoints: ExpPoint[] }; histogram?: { dataPoints: ExpPoint[] } };
    assert.deepEqual(metrics.filter((m) => kinds(m).histogram?.dataPoints.some(mine)), [], 'no explicit-bucket points for this process');
    const points = metrics.flatMap((m) => kinds(m).exponentialHistogram?.dataPoints.filter(mine) ?? []);
    assert.equal(points.length, 1);
    assert.equal(Number(points[0]!.count), 5);
    assert.equal(points[0]!.positive.bucketCounts.reduce((n, c) => n + Number(c), 0), 5);
  });

  test('SIGTERM flushes the last batch before exit', async () => {
    // An interval far longer than the test: only the shutdown flush can deliver.
    const daemon = await DaemonProcess.start(['--prometheus.enabled=false', '--otlp.endpoint', receiver.endpoint, '--otlp.interval', '1h'], PUSHING);
    const name = uniqueProcessName('ssflush');
    const traffic = await runTraffic({ name, transport: 'udp', family: 'ipv6', messageSize: 100, messages: 10 });
    assert.equal(latestTotal(name, 'transmit'), undefined);
    assert.equal(await daemon.stop('SIGTERM'), 0);
    assert.equal(latestTotal(name, 'transmit'), traffic.udp.ipv6.tx);
    assert.equal(latestTotal(name, 'receive'), traffic.udp.ipv6.rx);
  });
});
