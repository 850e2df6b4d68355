/**
 * Every way of starting the daemon passes the node flags and environment of
 * src/runtime-settings.ts: they cannot be applied from inside the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NODE_ENVIRONMENT, NODE_FLAGS, missingRuntimeSettings } from '../../src/runtime-settings';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const env = Object.entries(NODE_ENVIRONMENT).map(([name, value]) => `${name}=${value}`);

test('the bin: the shebang sets the environment and the flags', () => {
  assert.equal(read('src/cli.ts').split('\n')[0], `#!/usr/bin/env -S ${env.join(' ')} node ${NODE_FLAGS.join(' ')}`);
});

test('npm start and scripts/run.sh', () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: { start: string } };
  assert.equal(pkg.scripts.start, `${env.join(' ')} node ${NODE_FLAGS.join(' ')} dist/src/cli.js run`);
  assert.match(read('scripts/run.sh'), new RegExp(`^${env.join(' ')} exec node ${NODE_FLAGS.join(' ')} dist/src/cli\\.js run`, 'm'));
});

test('the image (and with it the manifests and the Helm chart, which pass only arguments)', () => {
  const dockerfile = read('Dockerfile');
  assert.ok(dockerfile.includes(`ENTRYPOINT ${JSON.stringify(['node', ...NODE_FLAGS, '/opt/sockscope/dist/src/cli.js'])}`.replace(/","/g, '", "')));
  for (const e of env) assert.match(dockerfile, new RegExp(`^ENV ${e}$`, 'm'));
  for (const file of ['deploy/kubernetes/prometheus/daemonset.yaml', 'deploy/kubernetes/otlp/daemonset.yaml', 'helm/sockscope/templates/daemonset.yaml']) {
    assert.doesNotMatch(read(file), /^\s*command:.*cli\.js/m, `${file} must not replace the image's ENTRYPOINT`);
  }
});

test('the systemd unit', () => {
  const unit = read('deploy/systemd/sockscope.service');
  assert.match(unit, new RegExp(`^ExecStart=/usr/bin/node ${NODE_FLAGS.join(' ')} /opt/sockscope/dist/src/cli\\.js run --config /etc/sockscope/sockscope\\.yaml$`, 'm'));
  for (const e of env) assert.match(unit, new RegExp(`^Environment=${e}$`, 'm'));
});

test('missingRuntimeSettings names what a process was started without', () => {
  assert.deepEqual(missingRuntimeSettings(NODE_FLAGS, NODE_ENVIRONMENT), []);
  assert.deepEqual(missingRuntimeSettings([], {}), [...NODE_FLAGS, ...env]);
});
