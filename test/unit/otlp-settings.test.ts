/**
 * The otlp.* settings for real backends: headers, TLS files and compression are read and
 * checked when the settings load, and every mistake is one ConfigError naming the setting,
 * never showing a header value.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load';
import { parseOtlpHeaders } from '../../src/config/otlp-headers';
import { readOtlpConnection } from '../../src/export/otlp-connection';
import { SETTING_CHECKS } from '../../src/setting-checks';
import { makeTestCa } from '../helpers/openssl-ca';

const ca = makeTestCa();
after(() => ca.remove());

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig({ argv, env, checks: SETTING_CHECKS });
const loadError = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
  try {
    load(argv, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.doesNotMatch(err.message, /\n/);
    return err.message;
  }
  assert.fail(`no error for ${argv.join(' ')}`);
};
const HTTPS = ['--otlp.endpoint', 'https://127.0.0.1:4317'];

test('headers: comma-separated key=value pairs, keys lowercased, values percent-decoded', () => {
  assert.deepEqual(parseOtlpHeaders('Authorization=Bearer abc, x-scope-orgid=team%2C1,'), [
    ['authorization', 'Bearer abc'],
    ['x-scope-orgid', 'team,1'],
  ]);
  assert.deepEqual(parseOtlpHeaders('a=1\nb=2=3\n'), [['a', '1'], ['b', '2=3']]);
  assert.deepEqual(parseOtlpHeaders(''), []);
  assert.throws(() => parseOtlpHeaders('novalue'), /not key=value \(pair 1\)/);
  assert.throws(() => parseOtlpHeaders('bad key=1'), /header key "bad key"/);
  assert.throws(() => parseOtlpHeaders('x-bin=AA'), /binary metadata/);
  assert.throws(() => parseOtlpHeaders('k=%zz'), /percent-encoding/);
  assert.throws(() => parseOtlpHeaders('k=caf\u00e9'), /printable ASCII/);
});

test('a bad otlp.headers is one error that names the setting and hides the value', () => {
  const message = loadError([...HTTPS, '--otlp.headers', 'authorization Bearer s3cret']);
  assert.match(message, /^config: otlp\.headers = \(hidden\) is invalid: must be key=value pairs .*\(from flag --otlp\.headers\)$/);
  assert.doesNotMatch(message, /s3cret/);
  assert.match(loadError([], { SOCKSCOPE_OTLP_HEADERS: 'x' }), /\(from env SOCKSCOPE_OTLP_HEADERS\)$/);
});

test('headers from a file, one per line, and otlp.headers wins for a key in both', () => {
  const file = path.join(ca.dir, 'headers');
  writeFileSync(file, 'authorization=Bearer from-file\nx-tenant=a\n');
  const config = load([...HTTPS, '--otlp.headersFile', file, '--otlp.headers', 'x-tenant=b']);
  assert.deepEqual(readOtlpConnection(config.otlp).headers, [['authorization', 'Bearer from-file'], ['x-tenant', 'b']]);
  assert.match(loadError([...HTTPS, '--otlp.headersFile', path.join(ca.dir, 'missing')]), /^config: otlp\.headersFile = ".*missing" is invalid: cannot be read: ENOENT \(from flag --otlp\.headersFile\)$/);
  writeFileSync(file, 'authorization: Bearer x\n');
  assert.match(loadError([...HTTPS, '--otlp.headersFile', file]), /otlp\.headersFile = .* is invalid: a header is not key=value \(pair 1\)/);
});

test('TLS files: read at load, PEM of the right kind, cert and key together, only for https://', () => {
  const config = load([...HTTPS, '--otlp.caFile', ca.caCert, '--otlp.certFile', ca.clientCert, '--otlp.keyFile', ca.clientKey]);
  const { tls } = readOtlpConnection(config.otlp);
  assert.deepEqual(tls, { ca: ca.read(ca.caCert), cert: ca.read(ca.clientCert), key: ca.read(ca.clientKey) });
  assert.equal(readOtlpConnection(load(HTTPS).otlp).tls, undefined, 'no files: the exporter picks (system CAs, OTEL_* files)');

  assert.match(
    loadError(['--otlp.endpoint', 'http://127.0.0.1:4317', '--otlp.caFile', ca.caCert]),
    /^config: otlp\.caFile = .* is invalid: needs an https:\/\/ otlp\.endpoint, not http:\/\/127\.0\.0\.1:4317/,
  );
  assert.match(loadError([...HTTPS, '--otlp.certFile', ca.clientCert]), /otlp\.certFile = .* is invalid: needs otlp\.keyFile too/);
  assert.match(loadError([...HTTPS, '--otlp.keyFile', ca.clientKey]), /otlp\.keyFile = .* is invalid: needs otlp\.certFile too/);
  assert.match(loadError([...HTTPS, '--otlp.caFile', ca.clientKey]), /otlp\.caFile = .* is invalid: is not a PEM file of the expected kind/);
  assert.match(
    loadError([...HTTPS, '--otlp.certFile', ca.clientCert, '--otlp.keyFile', ca.clientCert]),
    /otlp\.keyFile = .* is invalid: is not a PEM file of the expected kind/,
  );
  assert.match(loadError([...HTTPS, '--otlp.caFile', '/nonexistent/ca.pem']), /otlp\.caFile = "\/nonexistent\/ca\.pem" is invalid: cannot be read: ENOENT/);
});

test('compression is none or gzip', () => {
  assert.equal(load([...HTTPS, '--otlp.compression', 'gzip']).otlp.compression, 'gzip');
  assert.equal(load(HTTPS).otlp.compression, 'none');
  assert.match(loadError(['--otlp.compression', 'zstd']), /^config: otlp\.compression = "zstd" is invalid: must be one of none, gzip/);
});
