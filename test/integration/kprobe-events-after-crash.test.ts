/**
 * probes.mode=kprobe defines its probes in tracefs (kprobe_events), global kernel state that no
 * fd holds: a daemon killed with SIGKILL leaves its definitions behind. The next daemon removes
 * those of sockscope processes that are gone, and then counts exactly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kprobeEventsOf } from '../helpers/kprobe-events';
import { assertModeAttaches, probeModeOptions } from '../helpers/probe-modes';
import { uniqueProcessName } from '../helpers/traffic';
import { settledCounts, startServing, tcpRuns } from '../faults/daemon-counts';

// Under TCG in the kernel-matrix guests a start takes tens of seconds.
const READY_MS = 180_000;

describe('kprobe events after a crash', probeModeOptions('kprobe', 'socket_send'), () => {
  test('probes.mode=kprobe: the definitions a SIGKILLed daemon left are removed by the next one, which counts exactly', { timeout: 600_000 }, async () => {
    assertModeAttaches('kprobe', ['socket_send']);
    const first = await startServing(['--probes.mode=kprobe'], READY_MS);
    const defined = kprobeEventsOf(first.daemon.pid);
    assert.ok(defined.length > 0, 'the kprobe path defines its probes in tracefs');
    assert.equal(await first.daemon.stop('SIGKILL'), null);
    assert.deepEqual(kprobeEventsOf(first.daemon.pid), defined, 'the definitions outlive the killed daemon');

    const second = await startServing(['--probes.mode=kprobe'], READY_MS);
    try {
      assert.deepEqual(kprobeEventsOf(first.daemon.pid), [], 'the next daemon removed them');
      assert.ok(kprobeEventsOf(second.daemon.pid).length > 0);
      const name = uniqueProcessName('sskpcrash');
      const done = await tcpRuns(name, 3);
      assert.deepEqual(await settledCounts(second.port, name, done, 60_000), done);
    } finally {
      assert.equal(await second.daemon.stop(), 0);
    }
    assert.deepEqual(kprobeEventsOf(second.daemon.pid), [], 'a daemon that stops removes its own');
  });
});
