/** --config with a .yaml/.yml file: the same settings as JSON, and errors that name file, key and line. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load';
import { SETTING_CHECKS } from '../../src/setting-checks';

const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-yaml-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function yamlFile(text: string, extension = '.yaml'): string {
  const file = path.join(dir, `config-${files++}${extension}`);
  writeFileSync(file, text);
  return file;
}

function loadFile(file: string) {
  return loadConfig({ argv: ['--config', file], env: {}, checks: SETTING_CHECKS });
}

function yamlError(text: string): { file: string; message: string } {
  const file = yamlFile(text);
  try {
    loadFile(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.doesNotMatch(err.message, /\n/);
    return { file, message: err.message };
  }
  assert.fail(`${JSON.stringify(text)} loaded without an error`);
}

test('a YAML file sets the same values as the equivalent JSON file', () => {
  const settings = {
    prometheus: { port: 9000, host: '127.0.0.1', webConfigFile: '/etc/sockscope/web-config.yml' },
    otlp: { interval: '30s' },
    ebpf: { ringBufferSize: '4MiB' },
    metrics: {
      attributes: [{ metric: 'sockscope.network.io', attributes: ['process.executable.name'] }],
      peerGroups: { cluster: ['10.0.0.0/8'] },
    },
  };
  const json = path.join(dir, 'same.json');
  writeFileSync(json, JSON.stringify(settings));
  const yaml = yamlFile(`# the same settings as ${json}
prometheus:
  port: 9000
  host: 127.0.0.1
  webConfigFile: /etc/sockscope/web-config.yml
otlp:
  interval: 30s
ebpf:
  ringBufferSize: 4MiB
metrics:
  attributes:
    - metric: sockscope.network.io
      attributes: [process.executable.name]
  peerGroups:
    cluster: [10.0.0.0/8]
`);
  const fromYaml = loadFile(yaml);
  assert.deepEqual(fromYaml, loadFile(json));
  assert.equal(fromYaml.otlp.interval, 30_000);
  assert.equal(fromYaml.prometheus.webConfigFile, '/etc/sockscope/web-config.yml');
  assert.deepEqual(loadFile(yamlFile('prometheus:\n  port: 9001\n', '.yml')).prometheus.port, 9001);
});

test('a bad value in a YAML file names the key, the value, the file and its line', () => {
  const { file, message } = yamlError('log:\n  level: info\nprometheus:\n  host: 0.0.0.0\n  port: 70000\n');
  for (const part of ['prometheus.port = 70000 is invalid', '0 to 65535', `(from file ${file} line 5)`]) {
    assert.ok(message.includes(part), `${message} lacks ${part}`);
  }
});

test('an unknown key in a YAML file is named with the file, its line and the near miss', () => {
  const { file, message } = yamlError('prometheus:\n  prot: 9000\n');
  for (const part of ['unknown key "prometheus.prot"', `(from file ${file} line 2)`, 'did you mean prometheus.port?']) {
    assert.ok(message.includes(part), `${message} lacks ${part}`);
  }
});

test('a metrics check failing on a YAML value names its line', () => {
  const { file, message } = yamlError('metrics:\n  attributes:\n    - metric: sockscope.no.such.metric\n      attributes: []\n');
  assert.ok(message.includes(`metrics.attributes = `) && message.includes(`(from file ${file} line 2)`), message);
});

test('YAML that does not parse is one error with the file and the parser\'s line', () => {
  const { file, message } = yamlError('prometheus:\n  port: 9000\n  host: [unclosed\nlog:\n  level: info\n');
  assert.ok(message.startsWith(`config: config file ${JSON.stringify(file)} is not valid YAML: `), message);
  assert.match(message, /\(line \d+\)$/);
  const duplicate = yamlError('prometheus:\n  port: 9000\n  port: 9001\n');
  assert.ok(duplicate.message.includes('is not valid YAML') && duplicate.message.includes('(line 3)'), duplicate.message);
});

test('a YAML file that is not a mapping is rejected', () => {
  for (const text of ['- prometheus\n', 'just text\n', '']) {
    const { message } = yamlError(text);
    assert.ok(message.includes('is invalid: must be a YAML mapping'), message);
  }
});

test('the example config in deploy/ is YAML that loads, with the web config shown', () => {
  const root = path.resolve(__dirname, '..', '..', '..');
  const example = path.join(root, 'deploy', 'systemd', 'sockscope.yaml');
  assert.deepEqual(readdirSync(path.dirname(example)).filter((name) => /\.json$/.test(name)), [], 'no JSON configs left');
  const config = loadFile(example);
  assert.equal(config.prometheus.port, 9464);
  assert.match(readFileSync(example, 'utf8'), /^ {2}# webConfigFile: \/etc\/sockscope\/web-config\.yml$/m);
});
