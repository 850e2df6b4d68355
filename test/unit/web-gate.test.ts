/**
 * The metrics server behind a web config, over real TLS on loopback: basic auth on every
 * endpoint (probes open only when asked), response headers, client certificates, and the
 * file read again when it or a certificate changes, keeping the last good one when it breaks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import bcrypt from 'bcryptjs';
import { MetricsServer } from '../../src/export/metrics-server';
import { WebConfigSource } from '../../src/export/web-config-source';
import { httpsGet as get, servedCertificate } from '../helpers/https-client';
import { installServingPair, TestCa, type CertFiles } from '../helpers/test-ca';

describe('metrics server behind a web config', () => {
  let dir: string;
  let ca: TestCa;
  let first: CertFiles;
  let second: CertFiles;
  let webConfigFile: string;
  const errors: Error[] = [];
  let reloads = 0;
  let server: MetricsServer;
  let provider: MeterProvider;
  let port: number;
  const hash = bcrypt.hashSync('right', 4);

  function writeWebConfig(extra = ''): void {
    writeFileSync(webConfigFile, `tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: ${hash}
${extra}`);
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sockscope-gate-'));
    ca = new TestCa(dir, 'ca');
    first = ca.issue('first', ['IP:127.0.0.1']);
    second = ca.issue('second', ['IP:127.0.0.1']);
    installServingPair(dir, first);
    webConfigFile = path.join(dir, 'web-config.yml');
    writeWebConfig();
    const source = new WebConfigSource(webConfigFile, { onError: (err) => errors.push(err), onReload: () => reloads++ });
    server = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true, webConfig: source, probesWithoutAuth: true });
    provider = new MeterProvider({ readers: [server.reader] });
    provider.getMeter('sockscope').createObservableGauge('sockscope.test.up').addCallback((result) => result.observe(1));
    port = (await server.start()).port;
  });

  after(async () => {
    await server?.stop();
    await provider?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/metrics needs the right user and password: 401 with a Basic challenge otherwise', async () => {
    const ok = await get(port, '/metrics', { ca: ca.cert, user: 'prometheus', password: 'right' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-content-type-options'], 'nosniff');
    for (const client of [{ ca: ca.cert }, { ca: ca.cert, user: 'prometheus', password: 'wrong' }, { ca: ca.cert, user: 'nobody', password: 'right' }]) {
      const denied = await get(port, '/metrics', client);
      assert.equal(denied.status, 401, JSON.stringify(client));
      assert.equal(denied.headers['www-authenticate'], 'Basic');
      assert.equal(denied.headers['x-content-type-options'], 'nosniff', 'headers go on every answer');
      assert.doesNotMatch(denied.body, /sockscope_/);
    }
    assert.match(ok.body, /^sockscope_test_up\{otel_scope_name="sockscope"\} 1$/m);
    {
    }
    assert.equal((await get(port, '/nothing', { ca: ca.cert })).status, 401, 'unknown paths reveal nothing either');
  });

  test('with probesWithoutAuth, /healthz and /readyz answer without credentials, still over TLS', async () => {
    assert.equal((await get(port, '/healthz', { ca: ca.cert })).status, 200);
    assert.equal((await get(port, '/readyz', { ca: ca.cert })).status, 200);
  });

  test('a rotated certificate is served from the next connection on; a half-written pair keeps the old one', async () => {
    assert.equal((await servedCertificate(port)).fingerprint256, first.fingerprint256);
    const errorsBefore = errors.length;
    // The certificate first: it does not match the key yet, so the last good pair stays.
    copyFileSync(second.cert, path.join(dir, 'tls.crt'));
    assert.equal((await servedCertificate(port)).fingerprint256, first.fingerprint256);
    assert.equal((await get(port, '/metrics', { ca: ca.cert, user: 'prometheus', password: 'right' })).status, 200);
    assert.equal(errors.length, errorsBefore + 1, 'the broken state is reported once, not per request');
    assert.match(errors.at(-1)!.message, /tls_server_config is unusable/);
    copyFileSync(second.key, path.join(dir, 'tls.key'));
    assert.equal((await servedCertificate(port)).fingerprint256, second.fingerprint256);
    assert.equal((await get(port, '/metrics', { ca: ca.cert, user: 'prometheus', password: 'right' })).status, 200);
    assert.equal(errors.length, errorsBefore + 1);
  });

  test('after a rotation, a keep-alive connection closes after its next answer; the one after gets the new certificate', async () => {
    installServingPair(dir, first);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(ca.cert) });
    try {
      const fingerprints: string[] = [];
      const ask = () =>
        new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
            fingerprints.push((res.socket as TLSSocket).getPeerCertificate().fingerprint256);
            res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
          });
          req.on('error', reject);
          req.end();
        });
      assert.equal((await ask()).connection, 'keep-alive');
      assert.equal((await ask()).connection, 'keep-alive');
      installServingPair(dir, second);
      // Same connection, old certificate: answered, then closed.
      assert.deepEqual(await ask(), { status: 200, connection: 'close' });
      assert.deepEqual(await ask(), { status: 200, connection: 'keep-alive' });
      assert.deepEqual(fingerprints, [first, first, first, second].map((pair) => pair.fingerprint256));
    } finally {
      agent.destroy();
    }
  });

  test('a changed user list applies to the next request; a broken file keeps the last good one', async () => {
    writeWebConfig(`  grafana: ${bcrypt.hashSync('other', 4)}\n`);
    assert.equal((await get(port, '/metrics', { ca: ca.cert, user: 'grafana', password: 'other' })).status, 200);
    const reloadsBefore = reloads;
    writeFileSync(webConfigFile, 'basic_auth_users: [not, a, map]\n');
    const errorsBefore = errors.length;
    for (let i = 0; i < 3; i++) {
      assert.equal((await get(port, '/metrics', { ca: ca.cert, user: 'grafana', password: 'other' })).status, 200);
      assert.equal((await get(port, '/metrics', { ca: ca.cert })).status, 401);
    }
    assert.equal(errors.length, errorsBefore + 1);
    assert.match(errors.at(-1)!.message, /basic_auth_users = \["not","a","map"\] must be a mapping \(line 1\)/);
    assert.equal(reloads, reloadsBefore);
    writeWebConfig();
    assert.equal((await get(port, '/metrics', { ca: ca.cert, user: 'grafana', password: 'other' })).status, 401);
    assert.equal(reloads, reloadsBefore + 1);
  });

  test('rate_limit: past its burst every request gets 429, before auth; open probes are outside it; a reload that keeps the limit keeps the bucket', async () => {
    const limit = 'rate_limit:\n  interval: 1h\n  burst: 3\n';
    const creds = { ca: ca.cert, user: 'prometheus', password: 'right' };
    writeWebConfig(limit);
    try {
      assert.equal((await get(port, '/metrics', creds)).status, 200);
      assert.equal((await get(port, '/metrics', { ca: ca.cert })).status, 401, 'a request without the password spends a token too');
      assert.equal((await get(port, '/healthz', { ca: ca.cert })).status, 200);
      // Another user, the same limit: the bucket is not refilled by the reload.
      writeWebConfig(`  grafana: ${bcrypt.hashSync('other', 4)}\n${limit}`);
      assert.equal((await get(port, '/metrics', { ca: ca.cert, user: 'grafana', password: 'other' })).status, 200);
      const refused = await get(port, '/metrics', creds);
      assert.equal(refused.status, 429);
      assert.equal(refused.body, 'Too Many Requests\n');
      assert.equal((await get(port, '/metrics', { ca: ca.cert })).status, 429, 'refused before basic auth is looked at');
      assert.equal((await get(port, '/readyz', { ca: ca.cert })).status, 200, 'probes left open for the kubelet are not limited');
      writeWebConfig();
      assert.equal((await get(port, '/metrics', creds)).status, 200, 'removing rate_limit lifts it');
      writeWebConfig(limit);
      assert.equal((await get(port, '/metrics', creds)).status, 200, 'put back, it starts with a full bucket');
    } finally {
      writeWebConfig();
    }
  });
});

describe('client certificates', () => {
  let dir: string;
  let ca: TestCa;
  let stranger: TestCa;
  let server: MetricsServer;
  let port: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sockscope-mtls-'));
    ca = new TestCa(dir, 'ca');
    stranger = new TestCa(dir, 'stranger');
    const serving = ca.issue('server', ['IP:127.0.0.1']);
    writeFileSync(path.join(dir, 'web.yml'), `tls_server_config:
  cert_file: ${serving.cert}
  key_file: ${serving.key}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [prometheus.test]
`);
    const source = new WebConfigSource(path.join(dir, 'web.yml'));
    server = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true, webConfig: source });
    port = (await server.start()).port;
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('RequireAndVerifyClientCert with allowed SANs: only a certificate from the CA with that SAN gets in', async () => {
    const good = ca.issue('prometheus', ['DNS:prometheus.test'], 'clientAuth');
    assert.equal((await get(port, '/healthz', { ca: ca.cert, cert: good })).status, 200);
    const wrongSan = ca.issue('grafana', ['DNS:grafana.test'], 'clientAuth');
    await assert.rejects(get(port, '/healthz', { ca: ca.cert, cert: wrongSan }));
    const foreign = stranger.issue('foreign', ['DNS:prometheus.test'], 'clientAuth');
    await assert.rejects(get(port, '/healthz', { ca: ca.cert, cert: foreign }));
    await assert.rejects(get(port, '/healthz', { ca: ca.cert }));
  });
});
