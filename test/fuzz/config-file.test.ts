/**
 * --config files, YAML and JSON, written by users: any text in either gives a Config or one
 * ConfigError line, never another exception; a file of valid settings, in either syntax,
 * nested or flat groups, loads to exactly those values. The corpus has the deploy/ example
 * and the classic YAML and JSON traps (alias bombs, deep nesting, __proto__, tabs, tags).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load';
import { parseOtlpHeaders } from '../../src/config/otlp-headers';
import { parseYaml, YamlSyntaxError } from '../../src/config/yaml-text';
import { SETTINGS } from '../../src/config/schema';
import { corpusFiles, fuzzParameters, parsesOrFailsCleanly } from './fuzz-run';

let dir: string;
let files = 0;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sockscope-fuzz-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string, extension: string): ReturnType<typeof loadConfig> | undefined {
  const file = path.join(dir, `config-${files++ % 50}${extension}`);
  writeFileSync(file, text);
  return parsesOrFailsCleanly(() => loadConfig({ argv: ['--config', file], env: {} }), ConfigError, `${extension} ${JSON.stringify(text.slice(0, 200))}`);
}

const valueAt = (config: object, key: string): unknown =>
  key.split('.').reduce<unknown>((v, part) => (v as Record<string, unknown> | undefined)?.[part], config);

test('the corpus: deploy examples load, traps give one ConfigError line', () => {
  for (const { name, text } of corpusFiles('config-file')) {
    const config = load(text, path.extname(name));
    if (name.startsWith('deploy-')) assert.ok(config !== undefined, `${name} must load`);
  }
});

/** A valid value for some settings, with what loadConfig must make of it. */
type Valid = { raw: unknown; expected: unknown };
const duration = (minMs: number, maxMs: number) =>
  fc.oneof(
    fc.integer({ min: minMs, max: maxMs }).map((ms): Valid => ({ raw: ms, expected: ms })),
    fc.integer({ min: Math.ceil(minMs / 1000), max: Math.floor(maxMs / 1000) }).map((s): Valid => ({ raw: `${s}s`, expected: s * 1000 })),
    fc.integer({ min: minMs, max: maxMs }).map((ms): Valid => ({ raw: `${ms}ms`, expected: ms })),
  );
const same = <T>(arb: fc.Arbitrary<T>) => arb.map((v): Valid => ({ raw: v, expected: v }));
const VALID: Record<string, fc.Arbitrary<Valid>> = {
  'prometheus.enabled': same(fc.boolean()),
  'prometheus.host': same(fc.constantFrom('127.0.0.1', '::1', '0.0.0.0', 'localhost', 'node-1.example')),
  'prometheus.port': same(fc.integer({ min: 0, max: 65535 })),
  'prometheus.probesWithoutAuth': same(fc.boolean()),
  'otlp.interval': duration(10_000, 86_400_000),
  'otlp.timeout': duration(1, 10_000),
  'otlp.histograms': same(fc.constantFrom('explicit', 'exponential')),
  'otlp.compression': same(fc.constantFrom('none', 'gzip')),
  'log.level': same(fc.constantFrom('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent')),
  'ebpf.ringBufferSize': fc.integer({ min: 12, max: 30 }).chain((p) =>
    fc.constantFrom<Valid>({ raw: 2 ** p, expected: 2 ** p }, { raw: `${2 ** (p - 10)}KiB`, expected: 2 ** p })),
  'ebpf.maxFlows': same(fc.integer({ min: 64, max: 16_777_216 })),
  'ebpf.ioCacheSlots': same(fc.constantFrom(0, 1, 2, 1024, 65536)),
  'metrics.maxSeries': same(fc.integer({ min: 1, max: 10_000_000 })),
  'metrics.ttl': duration(1_000, 604_800_000),
  'probes.mode': same(fc.constantFrom('auto', 'fentry', 'kprobe', 'tracepoint')),
};
for (const key of Object.keys(VALID)) assert.ok(SETTINGS.some((s) => s.key === key), key);

/** The settings as the nested object a file holds. */
function nested(values: Record<string, Valid>): Record<string, Record<string, unknown>> {
  const object: Record<string, Record<string, unknown>> = {};
  for (const [key, { raw }] of Object.entries(values)) {
    const [group, name] = key.split('.') as [string, string];
    (object[group] ??= {})[name] = raw;
  }
  return object;
}

test('valid settings in YAML (block or flow) or JSON load to exactly their values', (t) => {
  fc.assert(
    fc.property(fc.record(VALID, { requiredKeys: [] }), fc.constantFrom('.yaml', '.yml', '.json', '.flow.yaml'), (values, syntax) => {
      const object = nested(values as Record<string, Valid>);
      const text = syntax === '.json' ? JSON.stringify(object, null, 2) : stringify(object, { collectionStyle: syntax === '.flow.yaml' ? 'flow' : 'any' });
      const config = load(text, syntax === '.flow.yaml' ? '.yaml' : syntax);
      assert.ok(config !== undefined, text);
      for (const [key, { expected }] of Object.entries(values as Record<string, Valid>)) assert.deepEqual(valueAt(config, key), expected, `${key} in ${text}`);
    }),
    fuzzParameters(t, 150),
  );
});

const knownKey = fc.constantFrom(...SETTINGS.map((s) => s.key));
test('known keys with any JSON value, and unknown keys: a Config or one ConfigError line', (t) => {
  const entry = fc.tuple(fc.oneof(knownKey, knownKey.map((k) => k.replace(/\.\w/, (m) => m.toUpperCase())), fc.string({ maxLength: 12 })), fc.jsonValue({ maxDepth: 3 }));
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 5 }), fc.constantFrom('.yaml', '.json'), (entries, extension) => {
      const object: Record<string, unknown> = {};
      for (const [key, value] of entries) {
        const [group, name] = key.includes('.') ? (key.split('.', 2) as [string, string]) : [key, undefined];
        if (name === undefined) object[group] = value;
        else if (typeof object[group] === 'object' && object[group] !== null && !Array.isArray(object[group])) (object[group] as Record<string, unknown>)[name] = value;
        else object[group] = { [name]: value };
      }
      load(extension === '.json' ? JSON.stringify(object) : stringify(object), extension);
    }),
    fuzzParameters(t, 300),
  );
});

test('any text as a .yaml or .json file: a Config or one ConfigError line', (t) => {
  const yamlish = fc.array(fc.constantFrom('prometheus:', 'otlp:', '  port: 9464', '  interval: 1s', '- a', '&a x', '*a', '{', '}', '[', ']', '\t', '"', "'", ':', '? ', '!!str', '---', '...', '#', '%YAML 1.2', '<<: *a', '\\u0000'), { maxLength: 20 }).map((parts) => parts.join('\n'));
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 200 }), yamlish), fc.constantFrom('.yaml', '.json', '.conf'), (text, extension) => {
      load(text, extension);
      // The YAML reader itself (also used for the web config) throws only its own error.
      parsesOrFailsCleanly(() => parseYaml(text), YamlSyntaxError, 'parseYaml');
    }),
    fuzzParameters(t, 300),
  );
});

/** otlp.headersFile / otlp.headers: the text that carries a backend's token. */
const headerKey = fc.stringMatching(/^[0-9A-Za-z_.-]{1,20}$/).filter((k) => !k.toLowerCase().endsWith('-bin'));
const secretValue = fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_.~!*()/+=:;,%'), minLength: 1, maxLength: 30 }).map((v) => `~tok${v}`); // "~": never in a key, so a key never contains a value

test('OTLP headers: percent-encoded key=value pairs, by commas or lines, read back as sent', (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(headerKey, secretValue), { maxLength: 6 }), fc.constantFrom(',', '\n', ' , ', '\r\n'), (pairs, separator) => {
      const text = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(separator);
      assert.deepEqual(parseOtlpHeaders(text), pairs.map(([k, v]) => [k.toLowerCase(), v]));
    }),
    fuzzParameters(t, 300),
  );
});

test('OTLP headers: a bad pair is one Error line that never shows a value, which may be a token', (t) => {
  const spoil = fc.constantFrom('%zz', '%', '\u00e9', '\u0000', '\u007f');
  fc.assert(
    fc.property(fc.array(fc.tuple(headerKey, secretValue), { minLength: 1, maxLength: 4 }), fc.nat(), spoil, (pairs, which, bad) => {
      const i = which % pairs.length;
      const text = pairs.map(([k, v], j) => `${k}=${encodeURIComponent(v)}${j === i ? bad : ''}`).join(',');
      assert.throws(() => parseOtlpHeaders(text), (err: Error) => {
        assert.doesNotMatch(err.message, /\n/);
        for (const [, v] of pairs) assert.ok(!err.message.includes(v) && !err.message.includes(encodeURIComponent(v)), err.message);
        return true;
      });
    }),
    fuzzParameters(t, 300),
  );
});
