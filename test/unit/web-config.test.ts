/**
 * The exporter-toolkit web config file: what each key turns into, and one error naming file,
 * key and line for every kind of mistake; `sockscope run` with a bad file exits 2 with that
 * line before loading anything.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { readWebConfig, WebConfigError } from '../../src/export/web-config';
import { TestCa, type CertFiles } from '../helpers/test-ca';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');
const HASH = bcrypt.hashSync('s3cret', 4);

describe('web config file', () => {
  let dir: string;
  let ca: TestCa;
  let server: CertFiles;
  let other: CertFiles;
  let files = 0;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sockscope-webcfg-'));
    ca = new TestCa(dir, 'ca');
    server = ca.issue('server', ['IP:127.0.0.1']);
    other = ca.issue('other', ['IP:127.0.0.1']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function webConfig(text: string): string {
    const file = path.join(dir, `web-${files++}.yml`);
    writeFileSync(file, text);
    return file;
  }

  function rejects(text: string, ...fragments: string[]): string {
    const file = webConfig(text);
    let caught: unknown;
    try {
      readWebConfig(file);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof WebConfigError, `expected a WebConfigError, got ${String(caught)}`);
    assert.doesNotMatch(caught.message, /\n/);
    for (const fragment of [`web config ${JSON.stringify(file)}`, ...fragments]) {
      assert.ok(caught.message.includes(fragment), `${JSON.stringify(caught.message)} lacks ${JSON.stringify(fragment)}`);
    }
    return caught.message;
  }

  test('an empty file (or only comments) changes nothing: plain HTTP, no users', () => {
    const config = readWebConfig(webConfig('# nothing yet\n'));
    assert.equal(config.tls, undefined);
    assert.equal(config.users.size, 0);
    assert.deepEqual(config.headers, {});
  });

  test('a full file: files relative to it, Go names in OpenSSL spelling, users and headers', () => {
    const file = webConfig(`tls_server_config:
  cert_file: server.crt
  key_file: ${server.key}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [client.test, "IP Address:10.0.0.1"]
  min_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: ${HASH}
`);
    const config = readWebConfig(file);
    assert.ok(config.tls);
    assert.match(String(config.tls.context.cert), /BEGIN CERTIFICATE/);
    assert.equal(config.tls.clientAuth, 'RequireAndVerifyClientCert');
    assert.deepEqual(config.tls.allowedSans, ['DNS:client.test', 'IP Address:10.0.0.1']);
    assert.equal(config.tls.context.minVersion, 'TLSv1.3');
    assert.equal(config.tls.context.maxVersion, 'TLSv1.3');
    assert.equal(config.tls.context.ciphers, 'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256');
    assert.equal(config.tls.context.ecdhCurve, 'X25519:P-256');
    assert.equal(config.tls.context.honorCipherOrder, false);
    assert.deepEqual(config.headers, { 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
    assert.equal(config.users.get('prometheus'), HASH);
    assert.deepEqual(config.files, [file, path.join(dir, 'server.crt'), server.key, path.join(dir, 'ca.crt')]);
  });

  test('every mistake is one error with the key and its line', () => {
    const tls = `tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${server.key}\n`;
    rejects('tls_server_config:\n  cert_fil: x\n', 'tls_server_config.cert_fil is not a known key', 'cert_file, key_file', '(line 2)');
    rejects(`${tls}  min_version: TLS9\n`, 'tls_server_config.min_version = "TLS9" must be one of TLS10, TLS11, TLS12, TLS13', '(line 4)');
    rejects(`${tls}  min_version: TLS13\n  max_version: TLS12\n`, 'tls_server_config.min_version = "TLS13" is above max_version', '(line 4)');
    rejects(`${tls}  client_auth_type: Always\n`, 'client_auth_type = "Always" must be one of NoClientCert,', '(line 4)');
    rejects(`${tls}  client_auth_type: RequireAndVerifyClientCert\n`, 'tls_server_config.client_ca_file is needed');
    rejects(`${tls}  client_ca_file: ${ca.cert}\n`, 'client_auth_type is NoClientCert while client_ca_file is set');
    rejects(`${tls}  client_allowed_sans: [a]\n`, 'client_allowed_sans needs client_auth_type RequireAnyClientCert');
    rejects(`${tls}  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n`, 'names "TLS_RSA_WITH_RC4_128_SHA", which sockscope does not know', '(line 4)');
    rejects(`${tls}  curve_preferences: [P256]\n`, 'curve_preferences = ["P256"] names "P256"', '(line 4)');
    rejects(`tls_server_config:\n  cert_file: ${server.cert}\n`, 'tls_server_config needs key_file (or key)', '(line 1)');
    rejects(`tls_server_config:\n  cert_file: missing.crt\n  key_file: ${server.key}\n`, 'tls_server_config.cert_file = "missing.crt" cannot be read: ENOENT', '(line 2)');
    rejects(`tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${other.key}\n`, 'tls_server_config is unusable', 'key values mismatch');
    rejects(`${tls}  cert: inline\n`, 'cert_file cannot be given together with cert');
    rejects('basic_auth_users:\n  alice: plaintext\n', 'basic_auth_users.alice = "<hidden>" must be a bcrypt hash', '(line 2)');
    rejects(`basic_auth_users:\n  "a:b": ${HASH}\n`, 'is not a user name basic auth can send');
    rejects('http_server_config:\n  headers:\n    Set-Cookie: x\n', 'http_server_config.headers.Set-Cookie is not a header the web config may set', '(line 3)');
    rejects('http_server_config:\n  headers:\n    X-Frame-Options: allow\n', 'X-Frame-Options = "allow" must be one of deny, sameorigin');
    rejects('rate_limit:\n  interval: 1 second\n  burst: 5\n', 'rate_limit.interval = "1 second" must be a duration such as 1s', '(line 2)');
    rejects('rate_limit:\n  interval: 250\n  burst: 5\n', 'rate_limit.interval = 250 must be a duration', '(line 2)');
    rejects('rate_limit:\n  interval: -1s\n  burst: 5\n', 'rate_limit.interval = "-1s" must be a duration', '(line 2)');
    rejects('rate_limit:\n  interval: 1s\n', 'rate_limit needs burst', '(line 1)');
    rejects('rate_limit:\n  interval: 1s\n  burst: 0\n', 'rate_limit.burst = 0 must be at least 1 when interval is set', '(line 3)');
    rejects('rate_limit:\n  interval: 1s\n  burst: 2.5\n', 'rate_limit.burst = 2.5 must be a whole number', '(line 3)');
    rejects('rate_limit:\n  every: 1s\n', 'rate_limit.every is not a known key; the known keys here are interval, burst', '(line 2)');
    rejects('basic_auth_users: [a]\n', 'basic_auth_users = ["a"] must be a mapping', '(line 1)');
    rejects('tls_server_config: {\n', 'is not valid YAML', '(line 2)');
    rejects('basic_auth_users:\n  a: x\n  a: y\n', 'is not valid YAML', '(line 3)');
  });

  test('the documented example deploy/systemd/web-config.example.yml reads, and its hash is of "change-me"', () => {
    const exampleDir = mkdtempSync(path.join(dir, 'example-'));
    copyFileSync(path.resolve(__dirname, '..', '..', '..', 'deploy', 'systemd', 'web-config.example.yml'), path.join(exampleDir, 'web.yml'));
    copyFileSync(server.cert, path.join(exampleDir, 'tls.crt'));
    copyFileSync(server.key, path.join(exampleDir, 'tls.key'));
    const config = readWebConfig(path.join(exampleDir, 'web.yml'));
    assert.equal(config.tls?.context.minVersion, 'TLSv1.2');
    assert.ok(bcrypt.compareSync('change-me', config.users.get('prometheus')!));
  });

  test('rate_limit reads as the toolkit writes it: a Go duration and a burst; interval 0 or none is no limit', () => {
    assert.deepEqual(readWebConfig(webConfig('rate_limit:\n  interval: 1m30s\n  burst: 10\n')).rateLimit, { intervalMs: 90_000, burst: 10 });
    assert.deepEqual(readWebConfig(webConfig('rate_limit:\n  interval: 250ms\n  burst: 1\n')).rateLimit, { intervalMs: 250, burst: 1 });
    assert.equal(readWebConfig(webConfig('rate_limit:\n  interval: 0\n  burst: 10\n')).rateLimit, undefined);
    assert.equal(readWebConfig(webConfig('rate_limit:\n  burst: 10\n')).rateLimit, undefined);
    assert.equal(readWebConfig(webConfig('basic_auth_users: {}\n')).rateLimit, undefined);
  });

  test('a web config that cannot be read names the file', () => {
    assert.throws(() => readWebConfig(path.join(dir, 'nope.yml')), (err: Error) =>
      err instanceof WebConfigError && err.message === `cannot read web config ${JSON.stringify(path.join(dir, 'nope.yml'))}: ENOENT`);
  });

  test('sockscope run with a bad web config exits 2 with one line, before loading any probe', () => {
    const file = webConfig(`tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${server.key}\n  min_version: TLS9\n`);
    const result = spawnSync(process.execPath, [CLI, 'run', '--prometheus.webConfigFile', file, '--prometheus.port', '0'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr, `sockscope: web config ${JSON.stringify(file)}: tls_server_config.min_version = "TLS9" must be one of TLS10, TLS11, TLS12, TLS13 (line 4)\n`);
    assert.doesNotMatch(result.stdout, /probe attached/);
  });
});
