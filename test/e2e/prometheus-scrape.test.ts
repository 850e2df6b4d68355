/**
 * The whole pipe with a real scraper: `sockscope run` on loopback, a real Prometheus
 * server scraping it, and traffic from a named process showing up, exactly, through
 * Prometheus's query API. SIGTERM then leaves no sockscope program loaded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfTestOptions, inCi, requireBpf } from '../helpers/bpf-gate';
import { programIdsOwnedBy, waitUntilUnloaded } from '../helpers/bpftool';
import { DaemonProcess } from '../helpers/daemon';
import { PrometheusServer, prometheusInstalled } from '../helpers/prometheus-server';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';
import { NamedProcess } from '../helpers/named-process';
import { spawnSync } from 'node:child_process';

const skip = bpfTestOptions().skip || (!prometheusInstalled() && !inCi() ? 'Debian package prometheus is not installed' : false);

describe('Prometheus scrapes sockscope', { skip }, () => {
  let daemon: DaemonProcess;
  let prometheus: PrometheusServer;
  let port: number;

  before(async () => {
    requireBpf();
    daemon = await DaemonProcess.start(
      ['--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--log.level', 'info'],
      'serving Prometheus metrics on /metrics',
    );
    port = (await daemon.waitForLog((l) => l.msg === 'serving Prometheus metrics on /metrics', 1000)).port as number;
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${port}`], scrapeIntervalSeconds: 1 });
  });

  after(async () => {
    await prometheus?.stop();
    await daemon?.stop();
  });

  test('the byte counter of a named process reaches Prometheus with the exact value', async () => {
    const name = uniqueProcessName('sspromtcp');
    const traffic = await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 4096, messages: 64 });
    const expected = traffic.tcp.ipv4;
    for (const [direction, bytes] of [['transmit', expected.tx], ['receive', expected.rx]] as const) {
      const promql = `sum(sockscope_network_io_bytes_total{process_executable_name="${name}",network_transport="tcp",network_type="ipv4",network_io_direction="${direction}"})`;
      const samples = await prometheus.waitForQuery(promql, (r) => r.length === 1 && r[0]!.value === bytes, 30_000);
      assert.equal(samples[0]!.value, bytes);
    }
  });

  test('self-metrics are exposed: no lost events, build info', async () => {
    const lost = await prometheus.waitForQuery('sockscope_ebpf_events_lost_total', (r) => r.length === 1, 30_000);
    assert.equal(lost[0]!.value, 0);
    const info = await prometheus.waitForQuery('sockscope_build_info', (r) => r.length === 1, 30_000);
    assert.equal(info[0]!.metric.version, require('../../../package.json').version);
  });

  test('the real exposition, connection metrics and histograms included, passes promtool check metrics', async () => {
    const server = NamedProcess.start({ name: uniqueProcessName('sspromsrv'), mode: 'serve', host: '127.0.0.1' });
    const { port: serverPort } = await server.reply<{ port: number }>();
    const client = NamedProcess.start({ name: uniqueProcessName('sspromcli'), mode: 'connect', host: '127.0.0.1', port: serverPort, count: 3 });
    await client.reply();
    await server.exit();
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const family of ['sockscope_tcp_connections_opened_total', 'sockscope_tcp_connect_duration_seconds_bucket', 'sockscope_tcp_rtt_seconds_bucket']) {
      assert.ok(body.includes(family), `${family} is exposed`);
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  test('/healthz and /readyz answer 200 once the probes are attached', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
  });

  test('SIGTERM exits 0 and detaches every sockscope BPF program', async () => {
    // Other processes may load BPF programs meanwhile: follow the daemon's own, by ID.
    const ours = programIdsOwnedBy(daemon.pid);
    assert.ok(ours.length >= 4, `the daemon holds its programs while it runs (found ${ours.length})`);
    assert.equal(await daemon.stop('SIGTERM'), 0);
    assert.deepEqual(await waitUntilUnloaded(ours), []);
    assert.ok(daemon.logs.some((l) => l.msg === 'probes detached'));
  });
});
