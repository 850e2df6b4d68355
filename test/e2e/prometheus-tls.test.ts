/**
 * Prometheus over TLS with basic auth, for real: `sockscope run` with a web config whose
 * certificates come from a CA made here with openssl, and a real Prometheus scraping it.
 * The right password scrapes, a wrong one gets 401 and `up == 0`, certificate files rotated
 * under the running daemon are served from the next scrape on, a web config broken at
 * run time leaves the last good one in force with one log line, and a rate_limit added at
 * run time answers 429 past its burst.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { bpfTestOptions, inCi, requireBpf } from '../helpers/bpf-gate';
import { programIdsOwnedBy, waitUntilUnloaded } from '../helpers/bpftool';
import { DaemonProcess } from '../helpers/daemon';
import { httpsGet, servedCertificate } from '../helpers/https-client';
import { PrometheusServer, prometheusInstalled } from '../helpers/prometheus-server';
import { installServingPair, TestCa, type CertFiles } from '../helpers/test-ca';

const skip = bpfTestOptions().skip || (!prometheusInstalled() && !inCi() ? 'Debian package prometheus is not installed' : false);
const PASSWORD = 'scrape-secret';

describe('Prometheus scrapes sockscope over TLS with basic auth', { skip }, () => {
  let dir: string;
  let firstCa: TestCa;
  let secondCa: TestCa;
  let first: CertFiles;
  let second: CertFiles;
  let webConfigFile: string;
  let daemon: DaemonProcess;
  let prometheus: PrometheusServer;
  let port: number;

  function writeWebConfig(extra = ''): void {
    writeFileSync(webConfigFile, `tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
basic_auth_users:
  prometheus: ${bcrypt.hashSync(PASSWORD, 10)}
${extra}`);
  }

  before(async () => {
    requireBpf();
    dir = mkdtempSync(path.join(tmpdir(), 'sockscope-promtls-'));
    firstCa = new TestCa(dir, 'first-ca');
    secondCa = new TestCa(dir, 'second-ca');
    first = firstCa.issue('first', ['IP:127.0.0.1']);
    second = secondCa.issue('second', ['IP:127.0.0.1']);
    installServingPair(dir, first);
    webConfigFile = path.join(dir, 'web-config.yml');
    writeWebConfig();
    daemon = await DaemonProcess.start(
      ['--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--prometheus.webConfigFile', webConfigFile],
      'serving Prometheus metrics on /metrics',
    );
    const serving = await daemon.waitForLog((l) => l.msg === 'serving Prometheus metrics on /metrics', 1000);
    assert.equal(serving.scheme, 'https');
    port = serving.port as number;
    const https = (ca: TestCa, password: string) => ({
      scheme: 'https',
      tls_config: { ca_file: ca.cert },
      basic_auth: { username: 'prometheus', password },
    });
    prometheus = await PrometheusServer.start({
      targets: [`127.0.0.1:${port}`],
      scrapeIntervalSeconds: 1,
      scrapeSettings: https(firstCa, PASSWORD),
      extraJobs: {
        'wrong-password': https(firstCa, 'not-the-password'),
        // Trusts only the CA of the certificate the rotation installs.
        'second-ca': https(secondCa, PASSWORD),
      },
    });
  });

  after(async () => {
    await prometheus?.stop();
    await daemon?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('with the CA and the password, Prometheus scrapes the metrics over HTTPS', async () => {
    await prometheus.waitForQuery('up{job="sockscope"}', (r) => r.length === 1 && r[0]!.value === 1);
    const info = await prometheus.waitForQuery('sockscope_build_info{job="sockscope"}', (r) => r.length === 1);
    assert.equal(info[0]!.value, 1);
  });

  test('a wrong password gets 401 and up == 0, with no samples', async () => {
    const answer = await httpsGet(port, '/metrics', { ca: firstCa.cert, user: 'prometheus', password: 'not-the-password' });
    assert.equal(answer.status, 401);
    assert.equal(answer.headers['www-authenticate'], 'Basic');
    assert.equal((await httpsGet(port, '/metrics', { ca: firstCa.cert })).status, 401);
    assert.equal((await httpsGet(port, '/healthz', { ca: firstCa.cert })).status, 401, 'probes are not open unless asked');
    await prometheus.waitForQuery('up{job="wrong-password"}', (r) => r.length === 1 && r[0]!.value === 0);
    const scraped = await prometheus.waitForQuery('scrape_samples_scraped{job="wrong-password"}', (r) => r.length === 1);
    assert.equal(scraped[0]!.value, 0);
    assert.deepEqual(await prometheus.query('sockscope_build_info{job="wrong-password"}'), []);
  });

  test('rotating the certificate files: the next connection, and the next scrape, see the new certificate', async () => {
    // Before: the first certificate, which a Prometheus trusting only the second CA refuses.
    assert.equal((await servedCertificate(port)).fingerprint256, first.fingerprint256);
    await prometheus.waitForQuery('up{job="second-ca"}', (r) => r.length === 1 && r[0]!.value === 0);
    installServingPair(dir, second);
    assert.equal((await servedCertificate(port)).fingerprint256, second.fingerprint256);
    const answer = await httpsGet(port, '/metrics', { ca: secondCa.cert, user: 'prometheus', password: PASSWORD });
    assert.equal(answer.status, 200);
    // up turns 1 only through a scrape that verified the second certificate.
    await prometheus.waitForQuery('up{job="second-ca"}', (r) => r.length === 1 && r[0]!.value === 1);
    await prometheus.waitForQuery('sockscope_build_info{job="second-ca"}', (r) => r.length === 1);
    assert.equal(daemon.exitCode, null);
  });

  test('a web config broken at run time: the last good one stays in force and the error is logged once', async () => {
    const logged = () => daemon.logs.filter((l) => String(l.msg).includes('the last good web config stays in force'));
    const before = logged().length;
    writeFileSync(webConfigFile, 'tls_server_config:\n  cert_file: tls.crt\n  key_file: [tls.key]\n');
    for (let i = 0; i < 5; i++) {
      assert.equal((await httpsGet(port, '/metrics', { ca: secondCa.cert, user: 'prometheus', password: PASSWORD })).status, 200);
      assert.equal((await httpsGet(port, '/metrics', { ca: secondCa.cert })).status, 401);
    }
    const errors = logged().slice(before);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(String(errors[0]!.msg), /tls_server_config\.key_file = \["tls\.key"\] must be a string \(line 3\)/);
    writeWebConfig();
    assert.equal((await httpsGet(port, '/metrics', { ca: secondCa.cert, user: 'prometheus', password: PASSWORD })).status, 200);
    assert.ok(daemon.logs.some((l) => l.msg === 'web config read again'));
  });

  test('rate_limit added at run time: past its burst every request gets 429 and up == 0; removed, scrapes succeed again', async () => {
    // One token an hour: Prometheus's three jobs, scraping every second, spend it at once.
    writeWebConfig('rate_limit:\n  interval: 1h\n  burst: 1\n');
    let answer = await httpsGet(port, '/metrics', { ca: secondCa.cert, user: 'prometheus', password: PASSWORD });
    for (let i = 0; i < 3 && answer.status === 200; i++) answer = await httpsGet(port, '/metrics', { ca: secondCa.cert, user: 'prometheus', password: PASSWORD });
    assert.equal(answer.status, 429);
    assert.equal(answer.body, 'Too Many Requests\n');
    await prometheus.waitForQuery('up{job="second-ca"}', (r) => r.length === 1 && r[0]!.value === 0);
    writeWebConfig();
    assert.equal((await httpsGet(port, '/metrics', { ca: secondCa.cert, user: 'prometheus', password: PASSWORD })).status, 200);
    await prometheus.waitForQuery('up{job="second-ca"}', (r) => r.length === 1 && r[0]!.value === 1);
    assert.equal(daemon.exitCode, null);
  });

  test('SIGTERM exits 0 and detaches every sockscope BPF program', async () => {
    const ours = programIdsOwnedBy(daemon.pid);
    assert.ok(ours.length >= 4, `the daemon holds its programs while it runs (found ${ours.length})`);
    assert.equal(await daemon.stop('SIGTERM'), 0);
    assert.deepEqual(await waitUntilUnloaded(ours), []);
  });
});
