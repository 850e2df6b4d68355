/**
 * run-test-file.sh, the watchdog around each integration test file in a guest: node's status
 * comes back, and a file that hangs is killed after the limit with its threads' kernel stacks
 * printed, children included, so a hang in a guest says where it waits.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const RUN_TEST_FILE = path.resolve(__dirname, '../../../test/kernel-matrix/run-test-file.sh');
const dir = mkdtempSync(path.join(os.tmpdir(), 'km-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function runFile(name: string, body: string, limitSeconds = 60) {
  const file = path.join(dir, `${name}.test.js`);
  writeFileSync(file, `const { test } = require('node:test');\n${body}\n`);
  const tap = path.join(dir, `${name}.tap`);
  // Without NODE_TEST_CONTEXT, or the inner `node --test` reports to this runner, not to stdout.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync('bash', [RUN_TEST_FILE, file, tap], {
    env: { ...env, KERNEL_MATRIX_FILE_TIMEOUT: String(limitSeconds) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, tap: () => readFileSync(tap, 'utf8') };
}

describe('run-test-file.sh', () => {
  test("a file's status comes back, with spec output and a TAP file", () => {
    const passing = runFile('passes', "test('fine', () => {});");
    assert.equal(passing.status, 0, passing.stdout);
    assert.match(passing.stdout, /✔ fine/);
    assert.match(passing.tap(), /^ok 1 - fine/m);

    const failing = runFile('fails', "test('broken', () => { throw new Error('no'); });");
    assert.equal(failing.status, 1, failing.stdout);
    assert.match(failing.tap(), /^not ok 1 - broken/m);
  });

  test('a file that hangs is killed after the limit, with the kernel stacks of it and its children', () => {
    const started = Date.now();
    const hung = runFile(
      'hangs',
      `const { spawn } = require('node:child_process');
test('waits forever', async () => {
  spawn('sleep', ['600'], { stdio: 'ignore' });
  await new Promise(() => setInterval(() => {}, 1000));
});`,
      2,
    );
    assert.equal(hung.status, 124, hung.stdout);
    assert.match(hung.stdout, /hangs\.test\.js still running after 2s; kernel stacks of its threads:/);
    assert.match(hung.stdout, /thread\(s\), first pid \d+ tid \d+: node \(state S\)/);
    assert.match(hung.stdout, /: sleep \(state S\)/, 'the child is in the process group, and shown');
    assert.match(hung.stdout, /kernel log tail:/);
    assert.ok(Date.now() - started < 30_000, 'the hung file and its child were killed, not waited for');
    const sleepers = spawnSync('pgrep', ['-f', '^sleep 600$'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(sleepers, '', 'the child was killed with the file');
  });
});
