/**
 * The matrix's reading side: node --test summaries (from real node runs), attach plans, run
 * directories, and the rendered docs/kernels.md.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCheckPlan } from './check-plan';
import { collectResult } from './collect-result';
import { renderKernelsDoc } from './kernels-doc';
import { parseNodeTestSummary } from './node-test-summary';
import type { KernelResult } from './result';

/** A suite with one pass, two failures, one skip in a describe, and one top-level pass. */
const FIXTURE = `
const { test, describe } = require('node:test');
const assert = require('node:assert');
describe('outer suite', () => {
  test('passes', () => {});
  test('fails | with a pipe', () => { assert.equal(1, 2); });
  test('fails with a diff', () => { assert.deepStrictEqual({ ok: 3, refused: 0 }, { ok: 3 }); });
  test('is skipped', { skip: 'not here' }, () => {});
});
test('top-level passes', () => {});
`;

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function runNodeTest(reporter: 'tap' | 'spec'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'km-summary-'));
  tempDirs.push(dir);
  writeFileSync(path.join(dir, 'fixture.js'), FIXTURE);
  // Without NODE_TEST_CONTEXT, which would make the inner run report to this one instead.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, 'fixture.js'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 1, 'the fixture has a failing test');
  return run.stdout;
}

describe('node --test summaries', () => {
  for (const reporter of ['tap', 'spec'] as const) {
    test(`${reporter}: counts and the failed test (not its suite) with its error`, () => {
      const summary = parseNodeTestSummary(runNodeTest(reporter));
      assert.ok(summary);
      const { failed, ...counts } = summary;
      assert.deepEqual(counts, { tests: 5, pass: 2, fail: 2, cancelled: 0, skipped: 1, todo: 0 });
      assert.deepEqual(failed.map((f) => f.name), ['fails | with a pipe', 'fails with a diff']);
      assert.match(failed[0]!.error ?? '', /1 == 2/);
      assert.match(failed[0]!.location ?? '', /fixture\.js:6:\d+$/);
      // The whole diff, without the stack trace.
      const diff = failed[1]!.error ?? '';
      assert.match(diff, /deep-equal/);
      assert.match(diff, /^\+ +refused: 0$/m);
      assert.doesNotMatch(diff, /node:internal|at TestContext/);
    });
  }

  test('two runs in one output add up', () => {
    const tap = runNodeTest('tap');
    assert.equal(parseNodeTestSummary(`${tap}\n${tap.replace(/\r?\n/g, '\r\n')}`)?.tests, 10);
  });

  test('output without closing counts has no summary', () => {
    assert.equal(parseNodeTestSummary('Error: Cannot find module\n# Subtest: x\n'), null);
  });
});

describe('attach plans', () => {
  test('the sockscope check shape: implementation, stage, reason', () => {
    const plan = parseCheckPlan(
      JSON.stringify({
        kernel: '6.1.0-56-amd64',
        mode: 'auto',
        hooks: [
          { hook: 'socket_send', required: true, chosen: 'kprobe', attached: true,
            failures: [{ implementation: 'fentry', stage: 'load', reason: 'EPERM' }] },
          { hook: 'tcp_retransmit', required: false, chosen: null, attached: false, failures: [] },
        ],
      }),
    );
    assert.deepEqual(plan, {
      kernel: '6.1.0-56-amd64',
      mode: 'auto',
      hooks: [
        { hook: 'socket_send', required: true, chosen: 'kprobe', attached: true,
          failures: [{ implementation: 'fentry', stage: 'load', reason: 'EPERM' }] },
        { hook: 'tcp_retransmit', required: false, chosen: null, attached: false, failures: [] },
      ],
    });
  });

  test('failures named by family, and entries it cannot read, are tolerated', () => {
    const plan = parseCheckPlan(
      '{"hooks":[{"hook":"socket_recv","chosen":"tracepoint","failures":[{"family":"fentry","reason":"no BTF"},42]},{"chosen":"x"}]}',
    );
    assert.deepEqual(plan?.hooks, [
      { hook: 'socket_recv', required: false, chosen: 'tracepoint', attached: true,
        failures: [{ implementation: 'fentry', reason: 'no BTF' }] },
    ]);
  });

  test('not JSON, or JSON without hooks, is no plan', () => {
    assert.equal(parseCheckPlan(''), null);
    assert.equal(parseCheckPlan('sockscope check: cannot load addon'), null);
    assert.equal(parseCheckPlan('{"kernel":"6.1"}'), null);
  });
});

describe('run directories', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'km-run-'));
    tempDirs.push(dir);
  });

  test('a finished run: outcome, facts, plan and TAP report', () => {
    const run = path.join(dir, 'finished');
    mkdirSync(path.join(run, 'results'), { recursive: true });
    writeFileSync(path.join(run, 'outcome'),
      'outcome=failed\nexit_status=1\nreason=the command exited with status 1\nwall_seconds=80.5\nboot_seconds=9.5\n' +
      'package=linux-image-6.1.0-56-amd64\npackage_version=6.1.192-2\nboot_modules=9pnet 9p overlay\n');
    writeFileSync(path.join(run, 'facts'), 'release=6.1.0-56-amd64\nbtf=true\nuptime_at_start=5.2\nsuite_seconds=71.0\n');
    writeFileSync(path.join(run, 'results', 'plan.json'), '{"kernel":"6.1.0-56-amd64","hooks":[{"hook":"socket_send","required":true,"chosen":"fentry","attached":true,"failures":[]}]}');
    writeFileSync(path.join(run, 'results', 'a.tap'), runNodeTest('tap'));
    writeFileSync(path.join(run, 'results', 'b.tap'), runNodeTest('tap'));
    const result = collectResult('6.1', run, 'suite', new Date('2025-01-02T03:04:05Z'));
    const { plan, tests, modes, ...rest } = result;
    assert.deepEqual(rest, {
      id: '6.1', release: '6.1.0-56-amd64', package: 'linux-image-6.1.0-56-amd64', packageVersion: '6.1.192-2',
      runner: 'qemu-tcg', outcome: 'failed', exitStatus: 1, reason: 'the command exited with status 1', btf: true,
      bootModules: ['9pnet', '9p', 'overlay'], wallSeconds: 80.5, bootSeconds: 9.5, suiteSeconds: 71,
      command: 'suite', finishedAt: '2025-01-02T03:04:05.000Z',
    });
    assert.equal(plan?.hooks[0]?.chosen, 'fentry');
    assert.deepEqual([tests?.tests, tests?.fail], [10, 4], 'both TAP reports count');
    assert.deepEqual(modes, [], 'these reports have no probes.mode suites');
  });

  test('a run cut short names the test file that was running', () => {
    const run = path.join(dir, 'cut-short');
    mkdirSync(path.join(run, 'results'), { recursive: true });
    writeFileSync(path.join(run, 'outcome'), 'outcome=timed-out\nexit_status=124\nreason=no result after 15m (hard timeout)\n');
    writeFileSync(path.join(run, 'results', 'running'), 'dist/test/integration/slow.test.js\n');
    writeFileSync(path.join(run, 'output.log'), '# tests 1\n# pass 1\n');
    const result = collectResult('6.12', run, 'suite');
    assert.equal(result.outcome, 'timed-out');
    assert.equal(result.reason, 'no result after 15m (hard timeout) (unfinished: dist/test/integration/slow.test.js)');
    assert.equal(result.tests?.pass, 1, 'without TAP reports the output is read');
  });

  test('a run that left nothing is a boot failure with no plan and no tests', () => {
    const run = path.join(dir, 'empty');
    mkdirSync(run);
    const result = collectResult('5.10', run, 'suite');
    assert.equal(result.outcome, 'boot-failed');
    assert.equal(result.reason, 'the run left no outcome');
    assert.equal(result.plan, null);
    assert.equal(result.tests, null);
    assert.equal(result.release, null);
  });
});

describe('docs/kernels.md', () => {
  const base: KernelResult = {
    id: '6.1', release: '6.1.0-56-amd64', package: 'linux-image-6.1.0-56-amd64', packageVersion: '6.1.192-2',
    runner: 'qemu-tcg', outcome: 'passed', exitStatus: 0, reason: '', btf: true, bootModules: ['9p', 'overlay'],
    wallSeconds: 60, bootSeconds: 9, suiteSeconds: 51, command: 'the suite', finishedAt: '2025-01-02T00:00:00.000Z',
    plan: {
      hooks: [
        { hook: 'socket_send', required: true, chosen: 'fentry', attached: true, failures: [] },
        { hook: 'tcp_state', required: true, chosen: 'tp_btf', attached: true, failures: [] },
      ],
    },
    tests: { tests: 6, pass: 6, fail: 0, cancelled: 0, skipped: 0, todo: 0, failed: [] },
  };
  const old: KernelResult = {
    ...base, id: '5.10', release: '5.10.0-46-amd64', outcome: 'failed', exitStatus: 1, reason: 'the command exited with status 1',
    plan: {
      hooks: [
        { hook: 'socket_send', required: true, chosen: 'kprobe', attached: true,
          failures: [{ implementation: 'tracepoint', stage: 'attach', reason: 'no such | tracepoint' }] },
        { hook: 'tcp_state', required: true, chosen: null, attached: false, failures: [] },
      ],
    },
    tests: { tests: 6, pass: 5, fail: 1, cancelled: 0, skipped: 0, todo: 0,
      failed: [{ name: 'tcp/ipv4', error: 'expected 1037\n+ got 0', location: '/work/x/dist/test/integration/io.test.js:9:3' }] },
  };
  const host: KernelResult = { ...base, id: 'host', release: '6.18.44', package: null, packageVersion: null, runner: 'host',
    bootModules: [], plan: null, finishedAt: '2025-01-03T00:00:00.000Z' };
  const doc = renderKernelsDoc([host, base, old], { command: 'the suite', regenerate: 'npm run test:kernels' });
  const tableRows = doc.split('\n').filter((l) => /^\| (5\.10|6\.1|host)/.test(l));

  test('one row per kernel, oldest first and the host last, with the chosen implementations; those not in expected-plan.ts marked', () => {
    assert.match(doc, /^\| kernel \| `socket_send` \| `tcp_state` \| tests \|$/m);
    assert.deepEqual(tableRows.slice(0, 3), [
      '| 5.10.0-46-amd64 | **kprobe**, expected fentry | **none**, expected tp_btf | **1 failed**, 5/6 passed |',
      '| 6.1.0-56-amd64 | fentry | tp_btf | 6/6 passed |',
      '| host 6.18.44 | ? | ? | 6/6 passed |',
    ]);
    assert.match(doc, /Last run: 2025-01-03\./);
  });

  test('a kernel the table does not know shows the plan unmarked', () => {
    const other = renderKernelsDoc([{ ...old, id: '6.6', release: '6.6.0-1-amd64' }], { command: 'c', regenerate: 'r' });
    assert.match(other, /^\| 6\.6\.0-1-amd64 \| kprobe \| \*\*none\*\* \(required\) \|/m);
  });

  test('refusals and failures are listed, with table pipes escaped', () => {
    assert.match(doc, /^\| 5\.10\.0-46-amd64 \| `socket_send` \| tracepoint \| attach \| no such \\\| tracepoint \|$/m);
    assert.ok(
      doc.includes('### 5.10.0-46-amd64\n\nfailed: the command exited with status 1\n\n' +
        '- tcp/ipv4 (dist/test/integration/io.test.js:9:3)\n\n  ```\n  expected 1037\n  + got 0\n  ```\n'),
      doc,
    );
    assert.doesNotMatch(doc, /### 6\.1\.0/);
  });
});
