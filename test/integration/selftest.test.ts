/**
 * `sockscope selftest` as a user runs it: the real command, real probes, real traffic in its
 * own namespace. It passes here; with the test-only broken pipeline (every tenth flow of each
 * process lost before it is counted) it fails and names the checks that caught it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import type { SelftestReport } from '../../src/selftest/run';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
/** The one check that may not run: where nft or nf_tables is missing (e.g. the kernel-matrix guests). */
const MAY_NOT_RUN = /^retransmits /;

function selftest(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, 'selftest', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sockscope selftest', bpfTestOptions(), () => {
  test('passes on this kernel, and --output json is the report', (t) => {
    requireBpf();
    const r = selftest(['--output', 'json']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as SelftestReport;
    assert.equal(report.status, 0);
    assert.ok(report.checks.length >= 20, `${report.checks.length} checks`);
    for (const c of report.checks) {
      if (c.verdict === 'NOT RUN') {
        assert.match(c.check, MAY_NOT_RUN, `only the retransmit check may not run: ${c.check}: ${c.seen}`);
        t.diagnostic(`NOT RUN: ${c.check}: ${c.seen}`);
      }
      else assert.equal(c.verdict, 'PASS', `${c.check}: expected ${c.expected}, seen ${c.seen}`);
    }
    assert.ok(report.plan.some((h) => h.hook === 'socket_send' && h.attached), JSON.stringify(report.plan));
  });

  test('with every tenth flow lost in the ingest path it exits 1 and names the failed checks', () => {
    requireBpf();
    const r = selftest([], { TEST_ONLY_SOCKSCOPE_DROP_EVERY_TENTH_FLOW: '1' });
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    const failed = r.stdout.split('\n').filter((l) => l.endsWith(' FAIL'));
    assert.ok(failed.length > 0, r.stdout);
    // The connect child moves data on 20 connections, 20 flows or more: its tenth and twentieth are lost.
    const connect = failed.map((l) => /^tcp bytes sent by sst-conn-[0-9a-f]+ over 20 connections +2020 +(\d+) +FAIL$/.exec(l)).find((m) => m);
    assert.ok(connect, r.stdout);
    assert.ok(Number(connect[1]) < 2020, connect[0]);
    assert.match(r.stdout, /^\d+ passed, [1-9]\d* failed, \d+ not run$/m);
    assert.match(r.stdout, /^attach plan \(kernel /m);
  });

  test('a bad flag is bad usage: exit 2 and one line naming it', () => {
    const r = selftest(['--output', 'yaml']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^config: --output = "yaml" is invalid: must be text or json \(from flag --output\)\n$/);
  });
});
