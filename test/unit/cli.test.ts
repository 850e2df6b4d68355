import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { COMMANDS, parseCommandLine, renderHelp, unknownCommandMessage } from '../../src/cli';
import { SETTINGS } from '../../src/config/schema';
import { createLogger } from '../../src/log';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');
const PACKAGE_JSON = path.resolve(__dirname, '..', '..', '..', 'package.json');

/** Runs the built CLI with only PATH from this environment, so stray SOCKSCOPE_* cannot leak in. */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// ---- command parsing ----

test('no command, or flags first, means run with every argument as options', () => {
  assert.deepEqual(parseCommandLine([]), { command: 'run', options: [] });
  assert.deepEqual(parseCommandLine(['--prometheus.port', '9000']), { command: 'run', options: ['--prometheus.port', '9000'] });
});

test('run takes the arguments after it as options', () => {
  assert.deepEqual(parseCommandLine(['run']), { command: 'run', options: [] });
  assert.deepEqual(parseCommandLine(['run', '--config', 'x.json']), { command: 'run', options: ['--config', 'x.json'] });
});

test('top takes the arguments after it as options', () => {
  assert.deepEqual(parseCommandLine(['top', '--from', 'http://localhost:9464']), { command: 'top', options: ['--from', 'http://localhost:9464'] });
});

test('help, --help and -h ask for help wherever they stand', () => {
  for (const args of [['help'], ['--help'], ['-h'], ['run', '--help'], ['--prometheus.port=1', '-h'], ['help', '--bogus'], ['run', '--prometheus.port', '-h'], ['check', '--bogus', '--help']]) {
    assert.deepEqual(parseCommandLine(args), { command: 'help' }, JSON.stringify(args));
  }
});

test('--version asks for the version', () => {
  assert.deepEqual(parseCommandLine(['--version']), { command: 'version' });
  assert.deepEqual(parseCommandLine(['run', '--version']), { command: 'version' });
});

test('any other first word is an unknown command', () => {
  assert.deepEqual(parseCommandLine(['start']), { command: 'unknown', name: 'start' });
  assert.deepEqual(parseCommandLine(['Run', '--prometheus.port=1']), { command: 'unknown', name: 'Run' });
  const message = unknownCommandMessage('start');
  assert.equal(message, 'sockscope: unknown command "start"; the commands are run, check, events, top, selftest, help');
});

// ---- help text ----

test('the help lists every command and every setting with flag, env var, default and doc', () => {
  const help = renderHelp();
  for (const command of Object.keys(COMMANDS)) assert.match(help, new RegExp(`^  ${command} `, 'm'));
  for (const option of ['--help', '-h', '--version', '--config <path>']) assert.ok(help.includes(option), option);
  const flat = help.replace(/\s+/g, ' ');
  for (const setting of SETTINGS) {
    assert.ok(help.includes(`  ${setting.flag} ${setting.format.placeholder}\n`), setting.flag);
    assert.ok(help.includes(setting.env), setting.env);
    for (const alias of setting.envAliases) assert.ok(help.includes(alias), alias);
    assert.ok(flat.includes(setting.doc), `doc of ${setting.key}`);
    assert.ok(flat.includes(setting.format.allowed), `allowed values of ${setting.key}`);
  }
  // Defaults are shown as a person writes them.
  assert.ok(help.includes('env SOCKSCOPE_PROMETHEUS_PORT, default 9464'));
  assert.ok(help.includes('default 1MiB'));
  assert.ok(help.includes('env SOCKSCOPE_EBPF_DRAININTERVAL (or SOCKSCOPE_EBPF_DRAIN_INTERVAL), default 50ms'));
  assert.ok(help.includes('env SOCKSCOPE_OTLP_INTERVAL, default 10s'));
});

test('help lines stay within 100 columns', () => {
  for (const line of renderHelp().split('\n')) assert.ok(line.length <= 100, line);
});

// ---- the built executable ----

test('sockscope --help prints the help on stdout and exits 0', () => {
  const result = runCli(['--help']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, renderHelp());
  assert.equal(result.stderr, '');
});

test('sockscope --version prints the package version and exits 0', () => {
  const { version } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string };
  const result = runCli(['--version']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, `${version}\n`);
});

test('an unknown flag exits 2 with one line on stderr', () => {
  const result = runCli(['--bogus']);
  assert.equal(result.status, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^config: unknown flag --bogus[^\n]*\n$/);
});

test('a bad value from the environment exits 2 naming key, value and variable', () => {
  const result = runCli(['run'], { SOCKSCOPE_PROMETHEUS_PORT: 'abc' });
  assert.equal(result.status, 2);
  assert.equal(
    result.stderr,
    'config: prometheus.port = "abc" is invalid: must be an integer from 0 to 65535 (from env SOCKSCOPE_PROMETHEUS_PORT)\n',
  );
});

test('an unknown metric attribute exits 2 with one line: the command line passes the metrics checks to config', () => {
  const result = runCli(['run', '--metrics.attributes', '[{"metric":"sockscope.network.io","attributes":["k8s.bogus"]}]']);
  assert.equal(result.status, 2);
  assert.equal(result.stdout, '');
  assert.match(
    result.stderr,
    /^config: metrics\.attributes = "\[[^\n]* is invalid: sockscope\.network\.io has no attribute "k8s\.bogus" [^\n]*\(from flag --metrics\.attributes\)\n$/,
  );
});

test('an overlapping metrics.clusterNetworks exits 2 with one line naming the entry', () => {
  const result = runCli(['run'], { SOCKSCOPE_METRICS_CLUSTERNETWORKS: '["10.96.0.0/12","10.100.0.0/16"]' });
  assert.equal(result.status, 2);
  assert.equal(
    result.stderr,
    'config: metrics.clusterNetworks = "[\\"10.96.0.0/12\\",\\"10.100.0.0/16\\"]" is invalid: entry "10.100.0.0/16" overlaps ' +
      '"10.96.0.0/12" (from env SOCKSCOPE_METRICS_CLUSTERNETWORKS)\n',
  );
});

test('check --output takes text or json; anything else exits 2 before any probe is loaded', () => {
  const bad = runCli(['check', '--output', 'yaml']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, 'config: --output = "yaml" is invalid: must be text or json (from flag --output)\n');
  const missing = runCli(['check', '--output']);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, 'config: flag --output needs a value: text or json\n');
  // run has no --output.
  assert.match(runCli(['run', '--output=json']).stderr, /^config: unknown flag --output[^\n]*\n$/);
});

test('an unknown command exits 2 naming it and the commands', () => {
  const result = runCli(['frobnicate', '--prometheus.port=1']);
  assert.equal(result.status, 2);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, `${unknownCommandMessage('frobnicate')}\n`);
});

// ---- logger ----

test('the logger writes JSON lines named sockscope at the configured level', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const log = createLogger('info', sink);
  log.debug('not shown');
  log.info({ port: 9464 }, 'listening');
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(record.name, 'sockscope');
  assert.equal(record.msg, 'listening');
  assert.equal(record.port, 9464);
  assert.equal(record.level, 30);
});
