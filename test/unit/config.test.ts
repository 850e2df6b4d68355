import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadCommandLine, loadConfig } from '../../src/config/load';
import { SETTING_CHECKS } from '../../src/setting-checks';
import { envVarName, SETTINGS, type Config } from '../../src/config/schema';
import { formatByteSize, formatDurationMs, parseByteSize, parseDurationMs } from '../../src/config/duration';

const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes `content` (JSON-encoded unless already a string) to a fresh file and returns its path. */
function configFile(content: unknown): string {
  const file = path.join(dir, `config-${files++}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const DEFAULTS: Config = {
  prometheus: {
    enabled: true, host: '0.0.0.0', port: 9464, webConfigFile: '', probesWithoutAuth: false,
    maxConnections: 1024, headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5000, maxHeaderSize: 16 * 1024,
  },
  ui: { enabled: true },
  otlp: {
    endpoint: '', interval: 10_000, timeout: 10_000, histograms: 'explicit',
    headers: '', headersFile: '', compression: 'none', caFile: '', certFile: '', keyFile: '',
  },
  log: { level: 'info' },
  ebpf: { ringBufferSize: 1024 * 1024, drainInterval: 50, maxFlows: 32_768, ioCacheSlots: 1024, maxSockets: 262_144, maxListeners: 8192 },
  probes: { mode: 'auto' },
  events: { file: '' },
  metrics: {
    maxSeries: 5000,
    ttl: 300_000,
    maxConnections: 262_144,
    attributes: [],
    peerGroups: {
      loopback: ['127.0.0.0/8', '::1/128'],
      private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'],
    },
    clusterNetworks: [],
    conntrackNetns: '',
    conntrackCacheSize: 65_536,
  },
  attribution: { cgroupRoot: '', podLogRoot: '/var/log/pods' },
};

function load(argv: string[] = [], env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ argv, env });
}

/** Asserts loading fails with one ConfigError line containing every fragment. */
function assertConfigError(run: () => unknown, ...fragments: string[]): ConfigError {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.match(caught.message, /^config: /);
  assert.doesNotMatch(caught.message, /\n/);
  for (const fragment of fragments) assert.ok(caught.message.includes(fragment), `${JSON.stringify(caught.message)} lacks ${JSON.stringify(fragment)}`);
  return caught;
}

// ---- defaults and sources ----

test('with no file, env or flags every setting has its default', () => {
  assert.deepEqual(load([], { PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'production' }), DEFAULTS);
});

test('a JSON file sets values, including duration and size text', () => {
  const file = configFile({
    prometheus: { enabled: false, host: '127.0.0.1', port: 9000, webConfigFile: '', probesWithoutAuth: false },
    otlp: { endpoint: 'http://localhost:4317', interval: '30s', timeout: 5000 },
    log: { level: 'debug' },
    ebpf: { ringBufferSize: '4MiB', drainInterval: '100ms' },
    probes: { mode: 'fentry' },
    events: { file: '/var/log/sockscope/events.jsonl' },
    metrics: DEFAULTS.metrics,
    attribution: DEFAULTS.attribution,
    ui: { enabled: false },
  });
  assert.deepEqual(load(['--config', file]), {
    prometheus: { ...DEFAULTS.prometheus, enabled: false, host: '127.0.0.1', port: 9000 },
    otlp: { ...DEFAULTS.otlp, endpoint: 'http://localhost:4317', interval: 30_000, timeout: 5000 },
    log: { level: 'debug' },
    ebpf: { ringBufferSize: 4 * 1024 * 1024, drainInterval: 100, maxFlows: 32_768, ioCacheSlots: 1024, maxSockets: 262_144, maxListeners: 8192 },
    probes: { mode: 'fentry' },
    events: { file: '/var/log/sockscope/events.jsonl' },
    metrics: DEFAULTS.metrics,
    attribution: DEFAULTS.attribution,
    ui: { enabled: false },
  });
});

test('a file may set only some keys; the rest keep their defaults', () => {
  const config = load([`--config=${configFile({ otlp: { endpoint: 'https://collector:4317' } })}`]);
  assert.deepEqual(config, { ...DEFAULTS, otlp: { ...DEFAULTS.otlp, endpoint: 'https://collector:4317' } });
});

test('environment variables set values', () => {
  const config = load([], {
    SOCKSCOPE_PROMETHEUS_ENABLED: 'false',
    SOCKSCOPE_PROMETHEUS_HOST: '::1',
    SOCKSCOPE_PROMETHEUS_PORT: '9500',
    SOCKSCOPE_OTLP_ENDPOINT: 'http://localhost:4317',
    SOCKSCOPE_OTLP_INTERVAL: '1m',
    SOCKSCOPE_OTLP_TIMEOUT: '2000',
    SOCKSCOPE_LOG_LEVEL: 'warn',
    SOCKSCOPE_EBPF_RINGBUFFERSIZE: '8MiB',
    SOCKSCOPE_EBPF_DRAININTERVAL: '1s',
    SOCKSCOPE_PROBES_MODE: 'kprobe',
    SOCKSCOPE_EVENTS_FILE: '-',
    SOCKSCOPE_UI_ENABLED: 'false',
  });
  assert.deepEqual(config, {
    prometheus: { ...DEFAULTS.prometheus, enabled: false, host: '::1', port: 9500 },
    otlp: { ...DEFAULTS.otlp, endpoint: 'http://localhost:4317', interval: 60_000, timeout: 2000 },
    log: { level: 'warn' },
    ebpf: { ringBufferSize: 8 * 1024 * 1024, drainInterval: 1000, maxFlows: 32_768, ioCacheSlots: 1024, maxSockets: 262_144, maxListeners: 8192 },
    probes: { mode: 'kprobe' },
    events: { file: '-' },
    metrics: DEFAULTS.metrics,
    attribution: DEFAULTS.attribution,
    ui: { enabled: false },
  });
});

test('camelCase keys also take a snake-case environment variable', () => {
  const config = load([], { SOCKSCOPE_EBPF_RING_BUFFER_SIZE: '65536', SOCKSCOPE_EBPF_DRAIN_INTERVAL: '20' });
  assert.equal(config.ebpf.ringBufferSize, 65536);
  assert.equal(config.ebpf.drainInterval, 20);
  // Both spellings with the same value is not a conflict.
  const both = load([], { SOCKSCOPE_EBPF_RING_BUFFER_SIZE: '64KiB', SOCKSCOPE_EBPF_RINGBUFFERSIZE: '64KiB' });
  assert.equal(both.ebpf.ringBufferSize, 65536);
});

test('an empty SOCKSCOPE_OTLP_ENDPOINT turns OTLP off over a file that sets it', () => {
  const file = configFile({ otlp: { endpoint: 'http://localhost:4317' } });
  assert.equal(load(['--config', file], { SOCKSCOPE_OTLP_ENDPOINT: '' }).otlp.endpoint, '');
});

test('flags set values in both --key value and --key=value forms', () => {
  const config = load([
    '--prometheus.port', '9000',
    '--prometheus.host=127.0.0.1',
    '--otlp.endpoint', 'http://127.0.0.1:4317',
    '--otlp.interval=15s',
    '--otlp.timeout', '3s',
    '--log.level=trace',
    '--ebpf.ringBufferSize', '4096KiB',
    '--ebpf.drainInterval=10',
    '--probes.mode', 'tracepoint',
    '--events.file=events.jsonl',
    '--ui.enabled=false',
  ]);
  assert.deepEqual(config, {
    prometheus: { ...DEFAULTS.prometheus, enabled: true, host: '127.0.0.1', port: 9000 },
    otlp: { ...DEFAULTS.otlp, endpoint: 'http://127.0.0.1:4317', interval: 15_000, timeout: 3000 },
    log: { level: 'trace' },
    ebpf: { ringBufferSize: 4 * 1024 * 1024, drainInterval: 10, maxFlows: 32_768, ioCacheSlots: 1024, maxSockets: 262_144, maxListeners: 8192 },
    probes: { mode: 'tracepoint' },
    events: { file: 'events.jsonl' },
    metrics: DEFAULTS.metrics,
    attribution: DEFAULTS.attribution,
    ui: { enabled: false },
  });
});

test('boolean flags take =false, a following true/false, or nothing for true', () => {
  assert.equal(load(['--prometheus.enabled=false']).prometheus.enabled, false);
  assert.equal(load(['--prometheus.enabled', 'false']).prometheus.enabled, false);
  assert.equal(load(['--prometheus.enabled=false', '--prometheus.enabled']).prometheus.enabled, true);
  // A bare boolean flag does not swallow the next flag.
  const config = load(['--prometheus.enabled', '--prometheus.port', '1']);
  assert.equal(config.prometheus.enabled, true);
  assert.equal(config.prometheus.port, 1);
});

test('a repeated flag: the last one wins', () => {
  assert.equal(load(['--prometheus.port=1', '--prometheus.port=2']).prometheus.port, 2);
});

test('number-like flag text is read as written, not as JavaScript numbers', () => {
  // yargs-parser would turn these into 1000 and 16.
  assertConfigError(() => load(['--prometheus.port=1e3']), 'prometheus.port = "1e3"');
  assert.equal(load(['--prometheus.host=0x10']).prometheus.host, '0x10');
});

test('precedence: defaults < file < environment < flags', () => {
  const file = configFile({ prometheus: { port: 1001, host: '127.0.0.1' }, log: { level: 'error' }, otlp: { interval: '20s' } });
  const env = { SOCKSCOPE_PROMETHEUS_PORT: '1002', SOCKSCOPE_LOG_LEVEL: 'warn' };
  assert.equal(load(['--config', file]).prometheus.port, 1001);
  const config = load(['--config', file, '--prometheus.port', '1003'], env);
  assert.equal(config.prometheus.port, 1003, 'flag beats env and file');
  assert.equal(config.log.level, 'warn', 'env beats file');
  assert.equal(config.prometheus.host, '127.0.0.1', 'file beats default');
  assert.equal(config.otlp.interval, 20_000, 'file beats default');
  assert.equal(config.ebpf.drainInterval, 50, 'default stays');
  // The flag wins wherever it stands relative to --config.
  assert.equal(load(['--prometheus.port', '1003', '--config', file], env).prometheus.port, 1003);
});

test('an unset otlp.timeout is lowered to a shorter otlp.interval', () => {
  const config = load(['--otlp.interval=2s']);
  assert.equal(config.otlp.interval, 2000);
  assert.equal(config.otlp.timeout, 2000);
});

// ---- invalid values: message names key, value as given, what is allowed, and origin ----

interface BadValue {
  name: string;
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  file?: unknown;
  expect: string[];
}

const BAD_VALUES: BadValue[] = [
  { name: 'port not a number', argv: ['--prometheus.port', 'abc'], expect: ['prometheus.port = "abc" is invalid', 'must be an integer from 0 to 65535', '(from flag --prometheus.port)'] },
  { name: 'port too big', env: { SOCKSCOPE_PROMETHEUS_PORT: '65536' }, expect: ['prometheus.port = "65536"', '0 to 65535', '(from env SOCKSCOPE_PROMETHEUS_PORT)'] },
  { name: 'port negative', argv: ['--prometheus.port', '-1'], expect: ['prometheus.port = "-1"', '0 to 65535'] },
  { name: 'port fractional in file', file: { prometheus: { port: 80.5 } }, expect: ['prometheus.port = 80.5', '0 to 65535', '(from file '] },
  { name: 'port empty', env: { SOCKSCOPE_PROMETHEUS_PORT: '' }, expect: ['prometheus.port = ""', '0 to 65535'] },
  { name: 'port null in file', file: { prometheus: { port: null } }, expect: ['prometheus.port = null', '0 to 65535'] },
  { name: 'port object in file', file: { prometheus: { port: { a: 1 } } }, expect: ['prometheus.port = {"a":1}', '0 to 65535'] },
  { name: 'boolean word', env: { SOCKSCOPE_PROMETHEUS_ENABLED: 'yes' }, expect: ['prometheus.enabled = "yes"', 'must be true or false', 'env SOCKSCOPE_PROMETHEUS_ENABLED'] },
  { name: 'boolean as number in file', file: { prometheus: { enabled: 1 } }, expect: ['prometheus.enabled = 1', 'true or false'] },
  { name: 'host with space', argv: ['--prometheus.host=a b'], expect: ['prometheus.host = "a b"', 'host name or IP address'] },
  { name: 'host empty', argv: ['--prometheus.host='], expect: ['prometheus.host = ""', 'host name or IP address'] },
  { name: 'endpoint scheme', argv: ['--otlp.endpoint=ftp://collector:4317'], expect: ['otlp.endpoint = "ftp://collector:4317"', 'http:// or https:// URL'] },
  { name: 'endpoint without scheme', env: { SOCKSCOPE_OTLP_ENDPOINT: 'localhost:4317' }, expect: ['otlp.endpoint = "localhost:4317"', 'http:// or https:// URL'] },
  { name: 'endpoint not a URL', file: { otlp: { endpoint: 'not a url' } }, expect: ['otlp.endpoint = "not a url"', 'http:// or https:// URL'] },
  { name: 'interval zero', argv: ['--otlp.interval=0'], expect: ['otlp.interval = "0"', 'duration from 1ms to 24h'] },
  { name: 'interval unit', env: { SOCKSCOPE_OTLP_INTERVAL: '10x' }, expect: ['otlp.interval = "10x"', '"500ms", "10s", "1m"'] },
  { name: 'interval too long', argv: ['--otlp.interval', '25h'], expect: ['otlp.interval = "25h"', 'to 24h'] },
  { name: 'interval negative in file', file: { otlp: { interval: -5 } }, expect: ['otlp.interval = -5', 'from 1ms'] },
  { name: 'interval fractional in file', file: { otlp: { interval: 1.5 } }, expect: ['otlp.interval = 1.5', 'integer milliseconds'] },
  { name: 'timeout longer than interval', env: { SOCKSCOPE_OTLP_INTERVAL: '5s', SOCKSCOPE_OTLP_TIMEOUT: '6s' }, expect: ['otlp.timeout = "6s"', 'must not exceed otlp.interval, which is 5s', 'env SOCKSCOPE_OTLP_TIMEOUT'] },
  { name: 'timeout over default interval', argv: ['--otlp.timeout=20s'], expect: ['otlp.timeout = "20s"', 'which is 10s', 'flag --otlp.timeout'] },
  { name: 'log level', argv: ['--log.level', 'loud'], expect: ['log.level = "loud"', 'one of fatal, error, warn, info, debug, trace, silent'] },
  { name: 'log level case', env: { SOCKSCOPE_LOG_LEVEL: 'INFO' }, expect: ['log.level = "INFO"', 'one of fatal'] },
  { name: 'ring not a power of two', argv: ['--ebpf.ringBufferSize=5000'], expect: ['ebpf.ringBufferSize = "5000"', 'power of two from 4096 (4KiB) to 1073741824 (1GiB)'] },
  { name: 'ring too small', env: { SOCKSCOPE_EBPF_RING_BUFFER_SIZE: '2048' }, expect: ['ebpf.ringBufferSize = "2048"', 'power of two', 'env SOCKSCOPE_EBPF_RING_BUFFER_SIZE'] },
  { name: 'ring too big', file: { ebpf: { ringBufferSize: '2GiB' } }, expect: ['ebpf.ringBufferSize = "2GiB"', 'to 1073741824 (1GiB)'] },
  { name: 'cache slots not a power of two', argv: ['--ebpf.ioCacheSlots=1000'], expect: ['ebpf.ioCacheSlots = "1000"', 'must be 0 (no cache) or a power of two from 1 to 65536'] },
  { name: 'cache slots too many', env: { SOCKSCOPE_EBPF_IOCACHESLOTS: '131072' }, expect: ['ebpf.ioCacheSlots = "131072"', 'env SOCKSCOPE_EBPF_IOCACHESLOTS'] },
  { name: 'ring decimal unit', argv: ['--ebpf.ringBufferSize', '16MB'], expect: ['ebpf.ringBufferSize = "16MB"', '"16MiB", "4096KiB"'] },
  { name: 'drain zero', argv: ['--ebpf.drainInterval=0'], expect: ['ebpf.drainInterval = "0"', 'duration from 1ms to 10s'] },
  { name: 'drain too long', env: { SOCKSCOPE_EBPF_DRAININTERVAL: '10001' }, expect: ['ebpf.drainInterval = "10001"', 'to 10s'] },
  { name: 'drain too long as text', file: { ebpf: { drainInterval: '11s' } }, expect: ['ebpf.drainInterval = "11s"', 'to 10s'] },
];

for (const bad of BAD_VALUES) {
  test(`invalid value is rejected with key, value and what is allowed: ${bad.name}`, () => {
    const argv = [...(bad.file === undefined ? [] : ['--config', configFile(bad.file)]), ...(bad.argv ?? [])];
    const err = assertConfigError(() => load(argv, bad.env ?? {}), ...bad.expect);
    assert.ok(err.key !== undefined && err.message.includes(`${err.key} = `), 'the error carries its key');
  });
}

test('a bad value is blamed on the source that won', () => {
  const file = configFile({ prometheus: { port: 'x-file' } });
  assertConfigError(() => load(['--config', file], { SOCKSCOPE_PROMETHEUS_PORT: 'x-env' }), '"x-env"', 'env SOCKSCOPE_PROMETHEUS_PORT');
  assertConfigError(() => load(['--config', file]), '"x-file"', `(from file ${file})`);
  // A bad value that is overridden by a good one is no error.
  assert.equal(load(['--config', file, '--prometheus.port=1']).prometheus.port, 1);
});

test('edge values that are allowed', () => {
  assert.equal(load(['--prometheus.port=0']).prometheus.port, 0);
  assert.equal(load(['--prometheus.port=65535']).prometheus.port, 65535);
  assert.equal(load(['--ebpf.ringBufferSize=4096']).ebpf.ringBufferSize, 4096);
  assert.equal(load(['--ebpf.ringBufferSize=1GiB']).ebpf.ringBufferSize, 1024 ** 3);
  assert.equal(load(['--ebpf.ioCacheSlots=0']).ebpf.ioCacheSlots, 0);
  assert.equal(load(['--ebpf.ioCacheSlots=65536']).ebpf.ioCacheSlots, 65536);
  assert.equal(load(['--ebpf.drainInterval=1']).ebpf.drainInterval, 1);
  assert.equal(load(['--ebpf.drainInterval=10s']).ebpf.drainInterval, 10_000);
  assert.equal(load(['--otlp.interval=24h', '--otlp.timeout=24h']).otlp.timeout, 24 * 3_600_000);
  assert.equal(load(['--prometheus.enabled=true']).prometheus.enabled, true);
});

// ---- unknown names and broken sources ----

test('an unknown flag is named, with a suggestion for a near miss', () => {
  assertConfigError(() => load(['--bogus']), 'unknown flag --bogus', '--prometheus.port');
  assertConfigError(() => load(['--prometheus.Port=1']), 'unknown flag --prometheus.Port', 'did you mean --prometheus.port?');
  assertConfigError(() => load(['--ebpf.ring-buffer-size', '4096']), 'did you mean --ebpf.ringBufferSize?');
  assertConfigError(() => load(['-p', '1']), 'unknown flag -p');
  assertConfigError(() => load(['-abc']), 'unknown flag -a');
  // Names of Object.prototype are not flags either.
  assertConfigError(() => load(['--constructor']), 'unknown flag --constructor');
  assertConfigError(() => load(['--__proto__=1']), 'unknown flag --__proto__');
});

test('a flag without its value is named with what it needs', () => {
  assertConfigError(() => load(['--prometheus.port']), 'flag --prometheus.port needs a value', '0 to 65535');
  assertConfigError(() => load(['--otlp.endpoint', '--log.level=info']), 'flag --otlp.endpoint needs a value');
  assertConfigError(() => load(['--config']), 'flag --config needs a value');
  assertConfigError(() => load(['--config=']), 'flag --config needs a value');
});

test('a stray argument is rejected', () => {
  assertConfigError(() => load(['--prometheus.port=1', 'run']), 'unexpected argument "run"');
});

test('an unknown SOCKSCOPE_ environment variable is named; other variables are ignored', () => {
  assertConfigError(() => load([], { SOCKSCOPE_PROMETHEUS_PROT: '1' }), 'unknown environment variable SOCKSCOPE_PROMETHEUS_PROT', 'did you mean SOCKSCOPE_PROMETHEUS_PORT?');
  assertConfigError(() => load([], { SOCKSCOPE_WHATEVER: '1' }), 'SOCKSCOPE_WHATEVER', 'SOCKSCOPE_LOG_LEVEL');
  assert.deepEqual(load([], { PROMETHEUS_PORT: 'abc', sockscope_prometheus_port: 'abc' }), DEFAULTS);
});

test('two spellings of one environment variable with different values conflict', () => {
  assertConfigError(
    () => load([], { SOCKSCOPE_EBPF_RINGBUFFERSIZE: '4MiB', SOCKSCOPE_EBPF_RING_BUFFER_SIZE: '8MiB' }),
    'ebpf.ringBufferSize is set twice', '"4MiB"', '"8MiB"', 'SOCKSCOPE_EBPF_RINGBUFFERSIZE', 'SOCKSCOPE_EBPF_RING_BUFFER_SIZE',
  );
});

test('an unknown key in the file is named with the file', () => {
  const file = configFile({ prometheus: { prot: 1 } });
  assertConfigError(() => load(['--config', file]), 'unknown key "prometheus.prot"', `(from file ${file})`, 'did you mean prometheus.port?');
  assertConfigError(() => load(['--config', configFile({ port: 9000 })]), 'unknown key "port"', 'prometheus, otlp, log, ebpf');
  assertConfigError(() => load(['--config', configFile({ prometheus: { port: 1, extra: { a: 1 } } })]), 'unknown key "prometheus.extra"');
  assertConfigError(() => load(['--config', configFile('{"__proto__": {"port": 1}}')]), 'unknown key "__proto__"');
});

test('a group given as something other than an object is rejected', () => {
  assertConfigError(() => load(['--config', configFile({ prometheus: 5 })]), 'prometheus = 5 is invalid', 'object with the keys enabled, host, port');
  assertConfigError(() => load(['--config', configFile({ otlp: ['x'] })]), 'otlp = ["x"] is invalid');
});

test('a file that is not a JSON object is rejected', () => {
  const file = configFile('[1, 2]');
  assertConfigError(() => load(['--config', file]), `config file ${JSON.stringify(file)} = [1,2] is invalid`, 'JSON object');
  assertConfigError(() => load(['--config', configFile('null')]), '= null is invalid');
});

test('a file that is not valid JSON is rejected with the parser error', () => {
  const file = configFile('{"prometheus": {');
  assertConfigError(() => load(['--config', file]), `config file ${JSON.stringify(file)} is not valid JSON`);
  assertConfigError(() => load(['--config', configFile('')]), 'is not valid JSON');
});

test('a file that cannot be read is rejected with the reason', () => {
  const missing = path.join(dir, 'missing.json');
  assertConfigError(() => load(['--config', missing]), `cannot read config file ${JSON.stringify(missing)}`, 'ENOENT', 'flag --config');
  assertConfigError(() => load(['--config', dir]), 'EISDIR');
});

test('a long bad value is cut short in the message', () => {
  const err = assertConfigError(() => load([`--otlp.endpoint=${'x'.repeat(500)}`]), 'otlp.endpoint = "xxx');
  assert.ok(err.message.length < 400, err.message);
});

// ---- schema ----

test('every setting has a doc, a flag and an environment variable named by the rule', () => {
  assert.deepEqual(SETTINGS.map((s) => s.key), [
    'prometheus.enabled', 'prometheus.host', 'prometheus.port', 'prometheus.webConfigFile', 'prometheus.probesWithoutAuth',
    'prometheus.maxConnections', 'prometheus.headersTimeout', 'prometheus.requestTimeout', 'prometheus.keepAliveTimeout', 'prometheus.maxHeaderSize',
    'otlp.endpoint', 'otlp.interval', 'otlp.timeout', 'otlp.histograms',
    'otlp.headers', 'otlp.headersFile', 'otlp.compression', 'otlp.caFile', 'otlp.certFile', 'otlp.keyFile',
    'log.level',
    'ebpf.ringBufferSize', 'ebpf.drainInterval',
    'ebpf.maxFlows', 'ebpf.ioCacheSlots', 'ebpf.maxSockets', 'ebpf.maxListeners',
    'metrics.maxSeries', 'metrics.ttl', 'metrics.maxConnections', 'metrics.attributes', 'metrics.peerGroups',
    'metrics.clusterNetworks', 'metrics.conntrackNetns', 'metrics.conntrackCacheSize',
    'attribution.cgroupRoot', 'attribution.podLogRoot',
    'probes.mode',
    'events.file',
    'ui.enabled',
  ]);
  for (const setting of SETTINGS) {
    assert.ok(setting.doc.length > 10, setting.key);
    assert.equal(setting.flag, `--${setting.key}`);
    assert.equal(setting.env, envVarName(setting.key));
    assert.ok(setting.format.isValid(setting.default), `default of ${setting.key} is valid`);
  }
  assert.equal(envVarName('ebpf.ringBufferSize'), 'SOCKSCOPE_EBPF_RINGBUFFERSIZE');
  assert.deepEqual(SETTINGS.find((s) => s.key === 'ebpf.ringBufferSize')?.envAliases, ['SOCKSCOPE_EBPF_RING_BUFFER_SIZE']);
  assert.deepEqual(SETTINGS.find((s) => s.key === 'prometheus.port')?.envAliases, []);
});

// ---- duration and size text ----

test('durations: bare milliseconds or a number with ms, s, m or h', () => {
  assert.equal(parseDurationMs('500'), 500);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('10s'), 10_000);
  assert.equal(parseDurationMs('1m'), 60_000);
  assert.equal(parseDurationMs('2h'), 7_200_000);
  assert.equal(parseDurationMs('0'), 0);
  for (const text of ['', 'ms', '1.5s', '-1s', '10 s', ' 10s', '10S', '10sec', '1d', '99999999999999999999']) {
    assert.equal(parseDurationMs(text), undefined, JSON.stringify(text));
  }
  assert.equal(formatDurationMs(10_000), '10s');
  assert.equal(formatDurationMs(1500), '1500ms');
  assert.equal(formatDurationMs(90 * 60_000), '90m');
  assert.equal(formatDurationMs(86_400_000), '24h');
});

test('sizes: bare bytes or a number with B, KiB, MiB or GiB', () => {
  assert.equal(parseByteSize('4096'), 4096);
  assert.equal(parseByteSize('4096B'), 4096);
  assert.equal(parseByteSize('4096KiB'), 4 * 1024 * 1024);
  assert.equal(parseByteSize('16MiB'), 16 * 1024 * 1024);
  assert.equal(parseByteSize('16mib'), 16 * 1024 * 1024);
  assert.equal(parseByteSize('1GiB'), 1024 ** 3);
  for (const text of ['', 'MiB', '16MB', '16M', '1.5MiB', '-4096', '16 MiB', '1TiB']) {
    assert.equal(parseByteSize(text), undefined, JSON.stringify(text));
  }
  assert.equal(formatByteSize(16 * 1024 * 1024), '16MiB');
  assert.equal(formatByteSize(6144), '6KiB');
  assert.equal(formatByteSize(100), '100B');
});

test('probes.mode takes a probe family and rejects anything else', () => {
  assert.equal(load(['--probes.mode', 'kprobe']).probes.mode, 'kprobe');
  assert.equal(load([], { SOCKSCOPE_PROBES_MODE: 'tracepoint' }).probes.mode, 'tracepoint');
  assert.throws(() => load(['--probes.mode', 'uprobe']), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /probes\.mode/);
    assert.match(err.message, /uprobe/);
    assert.match(err.message, /auto, fentry, kprobe, tracepoint/);
    return true;
  });
});

test('events.file takes a path or "-"', () => {
  assert.equal(load(['--events.file', '/tmp/x.jsonl']).events.file, '/tmp/x.jsonl');
  assert.equal(load(['--events.file=-']).events.file, '-');
});

test('metrics.attributes must name known metrics and their candidate attributes', () => {
  const loadChecked = (argv: string[]): Config => loadConfig({ argv, env: {}, checks: SETTING_CHECKS });
  const list = [{ metric: 'sockscope.network.io', attributes: ['process.executable.name', 'process.pid'] }];
  assert.deepEqual(loadChecked(['--metrics.attributes', JSON.stringify(list)]).metrics.attributes, list);
  assert.deepEqual(loadChecked(['--config', configFile({ metrics: { attributes: list } })]).metrics.attributes, list);
  for (const [bad, fragment] of [
    ['[{"metric":"sockscope.network.io","attributes":["k8s.bogus"]}]', 'k8s.bogus'],
    ['[{"metric":"sockscope.nope","attributes":["process.pid"]}]', 'sockscope.nope'],
    ['not json', 'not json'],
  ] as const) {
    assert.throws(() => loadChecked(['--metrics.attributes', bad]), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /metrics\.attributes/);
      assert.ok(err.message.includes(fragment), err.message);
      return true;
    });
  }
});

test('a check passed in by the caller fails like a format: key, value as given, problem, source', () => {
  const file = configFile({ metrics: { attributes: [{ metric: 'sockscope.network.io', attributes: ['k8s.bogus'] }] } });
  assertConfigError(
    () => loadConfig({ argv: ['--config', file], env: {}, checks: SETTING_CHECKS }),
    'metrics.attributes = [{"metric":"sockscope.network.io","attributes":["k8s.bogus"]}] is invalid: ',
    'sockscope.network.io has no attribute "k8s.bogus"',
    `(from file ${file})`,
  );
  assertConfigError(
    () => loadConfig({ argv: [], env: { SOCKSCOPE_METRICS_ATTRIBUTES: '[{"metric":"sockscope.nope","attributes":[]}]' }, checks: SETTING_CHECKS }),
    'unknown metric "sockscope.nope"',
    '(from env SOCKSCOPE_METRICS_ATTRIBUTES)',
  );
});

test('the HTTP limits of the metrics server take durations and sizes, and the request deadline is not before the headers one', () => {
  const loadChecked = (argv: string[]): Config => loadConfig({ argv, env: {}, checks: SETTING_CHECKS });
  const config = loadChecked([
    '--prometheus.maxConnections=50', '--prometheus.headersTimeout=2s', '--prometheus.requestTimeout', '1m',
    '--prometheus.keepAliveTimeout=1500', '--prometheus.maxHeaderSize=8KiB',
  ]);
  assert.deepEqual(config.prometheus, {
    ...DEFAULTS.prometheus, maxConnections: 50, headersTimeout: 2000, requestTimeout: 60_000, keepAliveTimeout: 1500, maxHeaderSize: 8192,
  });
  assertConfigError(() => load(['--prometheus.maxConnections=0']), 'prometheus.maxConnections = "0"', 'from 1 to');
  assertConfigError(() => load(['--prometheus.headersTimeout=10ms']), 'prometheus.headersTimeout = "10ms"', 'from 1s');
  assertConfigError(() => load(['--prometheus.maxHeaderSize=2MiB']), 'prometheus.maxHeaderSize = "2MiB"', 'from 1KiB to 1MiB');
  assertConfigError(
    () => loadChecked(['--prometheus.headersTimeout=20s', '--prometheus.requestTimeout=10s']),
    'prometheus.requestTimeout = "10s" is invalid: must be at least prometheus.headersTimeout (20000 ms)',
  );
});

test('config alone checks the shape of metrics.attributes; the metric names are not its to know', () => {
  const unknownMetric = [{ metric: 'sockscope.nope', attributes: ['x'] }];
  assert.deepEqual(load(['--metrics.attributes', JSON.stringify(unknownMetric)]).metrics.attributes, unknownMetric);
  assertConfigError(() => load(['--metrics.attributes', '[{"metric":"m","attributes":[1]}]']), 'metrics.attributes = ', 'must be a JSON list of');
});

test('a command\'s own flag is read beside the settings and checked against its values', () => {
  const commandFlags = [{ name: 'output', values: ['text', 'json'] }];
  const loaded = loadCommandLine({ argv: ['--output', 'json', '--prometheus.port=1'], env: {}, commandFlags });
  assert.equal(loaded.commandValues.get('output'), 'json');
  assert.equal(loaded.config.prometheus.port, 1);
  assert.equal(loadCommandLine({ argv: [], env: {}, commandFlags }).commandValues.get('output'), undefined);
  assertConfigError(() => loadCommandLine({ argv: ['--output=yaml'], env: {}, commandFlags }), '--output = "yaml" is invalid: must be text or json');
  assertConfigError(() => loadCommandLine({ argv: ['--output'], env: {}, commandFlags }), 'flag --output needs a value: text or json');
  // Other commands do not take it.
  assertConfigError(() => load(['--output', 'json']), 'unknown flag --output');
});

test('a command\'s own flag may take any value, or none', () => {
  const commandFlags = [{ name: 'from', describe: 'a URL' }, { name: 'once', boolean: true }];
  const loaded = loadCommandLine({ argv: ['--from', 'http://h:1', '--once'], env: {}, commandFlags });
  assert.equal(loaded.commandValues.get('from'), 'http://h:1');
  assert.equal(loaded.commandValues.get('once'), 'true');
  assertConfigError(() => loadCommandLine({ argv: ['--from'], env: {}, commandFlags }), 'flag --from needs a value: a URL');
  assertConfigError(() => loadCommandLine({ argv: ['--once=yes'], env: {}, commandFlags }), 'flag --once takes no value');
});

test('only the argv given is read: convict does not parse process.argv itself, though the schema declares each arg', () => {
  const saved = process.argv;
  process.argv = [...saved, '--prometheus.port=1', '--log.level=debug'];
  try {
    assert.deepEqual(load(), DEFAULTS);
  } finally {
    process.argv = saved;
  }
});

test('flag values that start with a dash but are not flags are values', () => {
  assertConfigError(() => load(['--prometheus.port', '-5']), 'prometheus.port = "-5"', '(from flag --prometheus.port)');
  assert.equal(load(['--events.file', '-']).events.file, '-');
  assertConfigError(() => load(['--config', '--prometheus.port=1']), 'flag --config needs a value');
  assertConfigError(() => load(['--prometheus.enabled', 'maybe']), 'unexpected argument "maybe"');
});

test('metrics.peerGroups takes named CIDR lists and rejects a bad CIDR', () => {
  assert.deepEqual(load([], { SOCKSCOPE_METRICS_PEERGROUPS: '{"corp":["10.0.0.0/8"]}' }).metrics.peerGroups, { corp: ['10.0.0.0/8'] });
  assert.throws(() => load([], { SOCKSCOPE_METRICS_PEERGROUPS: '{"corp":["10.0.0.0/99"]}' }), /metrics\.peerGroups/);
});

test('metrics.clusterNetworks takes IPv4 and IPv6 CIDRs; a bad, empty or overlapping entry is one line naming it', () => {
  const nets = ['10.244.0.0/16', '10.96.0.0/12', 'fd00:10:244::/56', 'fd00:10:96::/112'];
  assert.deepEqual(load(['--metrics.clusterNetworks', JSON.stringify(nets)]).metrics.clusterNetworks, nets);
  assert.deepEqual(load([], { SOCKSCOPE_METRICS_CLUSTER_NETWORKS: '[]' }).metrics.clusterNetworks, []);
  assertConfigError(
    () => load(['--metrics.clusterNetworks', '["10.244.0.0/16","10.96.0.0/33"]']),
    'metrics.clusterNetworks', 'entry "10.96.0.0/33" is not a CIDR', '(from flag --metrics.clusterNetworks)',
  );
  assertConfigError(() => load([], { SOCKSCOPE_METRICS_CLUSTERNETWORKS: '["10.244.0.0/16", ""]' }), 'has an empty entry ""');
  assertConfigError(
    () => load(['--metrics.clusterNetworks', '["10.0.0.0/8","10.96.0.0/12"]']),
    'entry "10.96.0.0/12" overlaps "10.0.0.0/8"',
  );
  assertConfigError(
    () => load(['--metrics.clusterNetworks', '["fd00:10:96::/112","fd00::/8"]']),
    'entry "fd00::/8" overlaps "fd00:10:96::/112"',
  );
  assertConfigError(() => load(['--metrics.clusterNetworks', '10.0.0.0/8']), 'must be a JSON list of CIDRs');
  // Neighbours that only touch do not overlap.
  assert.deepEqual(load(['--metrics.clusterNetworks', '["10.0.0.0/9","10.128.0.0/9"]']).metrics.clusterNetworks, ['10.0.0.0/9', '10.128.0.0/9']);
});
