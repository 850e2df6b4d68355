/**
 * run-guest's contract, on its "host" kernel (no VM, so it runs everywhere): the command's status
 * comes back, argv is passed as argv, the run directory holds what the collector reads, and only
 * the chosen environment reaches the command. Booting Debian kernels is `npm run test:kernels`.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readKeyValues } from './collect-result';

const RUN_GUEST = path.resolve(__dirname, '../../../test/kernel-matrix/run-guest');

const runDirs: string[] = [];
after(() => {
  for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
});

function runGuest(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'km-host-'));
  runDirs.push(out);
  const run = spawnSync('bash', [RUN_GUEST, '--quiet', '--out', out, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const read = (file: string) => readFileSync(path.join(out, file), 'utf8');
  return { status: run.status, stderr: run.stderr, out, read, keys: (file: string) => readKeyValues(path.join(out, file)) };
}

describe('run-guest host', () => {
  test("returns the command's exit status and records the run for the collector", () => {
    const run = runGuest(['host', '--', 'bash', '-c', 'echo "to the log"; echo "$RESULTS" > "$RESULTS/where"; pwd; exit 3']);
    assert.equal(run.status, 3, run.stderr);
    assert.equal(run.read('status').trim(), '3');
    const outcome = run.keys('outcome');
    assert.equal(outcome.outcome, 'failed');
    assert.equal(outcome.exit_status, '3');
    assert.match(outcome.reason ?? '', /status 3/);
    assert.equal(run.keys('facts').release, os.release());
    assert.equal(run.read('results/where').trim(), path.join(run.out, 'results'));
    // The command runs in the repo directory.
    assert.deepEqual(run.read('output.log').trim().split('\n'), ['to the log', path.resolve(__dirname, '../../..')]);
  });

  test('a command that succeeds passes', () => {
    const run = runGuest(['host', '--', 'true']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.keys('outcome').outcome, 'passed');
  });

  test('argv reaches the command unsplit and unexpanded', () => {
    const run = runGuest(['host', '--', 'printf', '[%s]', 'a b', '$HOME', "it's"]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.read('output.log'), "[a b][$HOME][it's]");
  });

  test('CI and SOCKSCOPE_* are passed through, other variables are not', () => {
    const run = runGuest(['host', '--', 'bash', '-c', 'echo "${CI-unset} ${SOCKSCOPE_PROBE-unset} ${OTHER-unset} $LANG"'], {
      CI: 'true',
      SOCKSCOPE_PROBE: 'x y',
      OTHER: 'leaked',
    });
    assert.equal(run.read('output.log').trim(), 'true x y unset C.UTF-8');
  });

  test('without "-- command" it refuses with the usage', () => {
    const run = runGuest(['host']);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /usage: run-guest/);
  });
});
