/**
 * The exporter-toolkit web config, which users bring from node_exporter set-ups: any file
 * gives a WebConfig or one WebConfigError line; valid users, headers, rate limits and TLS
 * versions, generated, read back as written. The corpus has the deploy/ example and traps
 * (empty PEM files, paths out of the directory, __proto__ headers, complex keys).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { readWebConfig, WebConfigError, type WebConfig } from '../../src/export/web-config';
import { TestCa } from '../helpers/test-ca';
import { corpusFiles, fuzzParameters, parsesOrFailsCleanly } from './fuzz-run';

let dir: string;
let files = 0;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sockscope-fuzz-web-'));
  // A serving pair beside the configs, for those that name tls.crt / tls.key.
  const serving = new TestCa(dir, 'ca').issue('server', ['IP:127.0.0.1']);
  copyFileSync(serving.cert, path.join(dir, 'tls.crt'));
  copyFileSync(serving.key, path.join(dir, 'tls.key'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function read(text: string): WebConfig | undefined {
  const file = path.join(dir, `web-${files++ % 50}.yml`);
  writeFileSync(file, text);
  return parsesOrFailsCleanly(() => readWebConfig(file), WebConfigError, JSON.stringify(text.slice(0, 200)));
}

test('the corpus: the deploy example reads, traps give one WebConfigError line', () => {
  for (const { name, text } of corpusFiles('web-config')) {
    const config = read(text);
    if (name.startsWith('deploy-') || name === 'full.yml' || name === 'empty.yml') assert.ok(config !== undefined, `${name} must read`);
  }
});

const BCRYPT_CHARS = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const bcryptHash = fc.tuple(fc.constantFrom('2a', '2b', '2y'), fc.integer({ min: 4, max: 31 }), fc.string({ unit: fc.constantFrom(...BCRYPT_CHARS), minLength: 53, maxLength: 53 }))
  .map(([variant, cost, rest]) => `$${variant}$${String(cost).padStart(2, '0')}$${rest}`);
// Any name basic auth can carry: no ':' and not empty (YAML keys are strings here).
const userName = fc.string({ minLength: 1, maxLength: 20 }).filter((name) => !name.includes(':'));
const HEADER_VALUES: Record<string, fc.Arbitrary<string>> = {
  'Content-Security-Policy': fc.constantFrom("default-src 'self'", 'frame-ancestors none'),
  'X-Frame-Options': fc.constantFrom('deny', 'sameorigin', 'DENY'),
  'X-Content-Type-Options': fc.constant('nosniff'),
  'X-XSS-Protection': fc.constantFrom('0', '1; mode=block'),
  'Strict-Transport-Security': fc.constantFrom('max-age=31536000', 'max-age=0'),
};
const goDuration = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 1, max: 999 }))
  .map(([h, m, ms]) => ({ text: `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${ms}ms`, ms: h * 3_600_000 + m * 60_000 + ms }));

test('valid users, headers, rate limits and TLS versions read back as written', (t) => {
  const versions = ['TLS10', 'TLS11', 'TLS12', 'TLS13'];
  fc.assert(
    fc.property(
      fc.dictionary(userName, bcryptHash, { maxKeys: 4 }),
      fc.record(HEADER_VALUES, { requiredKeys: [] }),
      fc.option(fc.record({ interval: goDuration, burst: fc.integer({ min: 1, max: 1000 }) })),
      fc.option(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const)),
      (users, headers, rateLimit, tls) => {
        const file: Record<string, unknown> = { basic_auth_users: users, http_server_config: { headers } };
        if (rateLimit !== null) file.rate_limit = { interval: rateLimit.interval.text, burst: rateLimit.burst };
        if (tls !== null) file.tls_server_config = { cert_file: 'tls.crt', key_file: 'tls.key', min_version: versions[tls[0]], max_version: versions[tls[1]] };
        const text = stringify(file);
        const config = read(text);
        assert.ok(config !== undefined, text);
        assert.deepEqual(new Map(Object.entries(users)), config.users);
        assert.deepEqual(config.headers, { ...headers });
        assert.deepEqual(config.rateLimit, rateLimit === null ? undefined : { intervalMs: rateLimit.interval.ms, burst: rateLimit.burst });
        if (tls === null) assert.equal(config.tls, undefined);
        else assert.deepEqual([config.tls?.context.minVersion, config.tls?.context.maxVersion], tls.map((i) => ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'][i]));
      },
    ),
    fuzzParameters(t, 200),
  );
});

test('known keys with any values, and any text: a WebConfig or one WebConfigError line', (t) => {
  const key = fc.constantFrom(
    'tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit', 'headers', 'http2', 'interval', 'burst',
    'cert_file', 'key_file', 'client_ca_file', 'client_auth_type', 'min_version', 'cipher_suites', 'curve_preferences', 'client_allowed_sans',
    'X-Frame-Options', '__proto__', 'constructor',
  );
  const value = fc.letrec<{ tree: unknown }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 1 }),
      fc.constantFrom('tls.crt', 'tls.key', '/dev/null', '../../etc/hostname', 'TLS12', 'RequireAndVerifyClientCert', '1s', '-1s', 0, 1e309),
      fc.dictionary(key, tie('tree'), { maxKeys: 4 }),
    ),
  })).tree;
  fc.assert(
    fc.property(fc.oneof(fc.dictionary(key, value, { maxKeys: 4 }).map((tree) => stringify(tree)), fc.string({ maxLength: 300 })), (text) => {
      read(text);
    }),
    fuzzParameters(t, 300),
  );
});
