/**
 * Two instances at once (issue 15, fault suite). sockscope pins nothing and names nothing
 * globally in the kernel: each instance loads its own programs and maps and attaches its own
 * links, so two daemons on different ports both count the same traffic exactly. What they
 * cannot share is the metrics port: a second daemon on a port in use stops with exit 1 and
 * one line that names the address and EADDRINUSE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { bpfObjectsHeldBy, waitUntilFreed } from '../helpers/bpftool';
import { DaemonProcess } from '../helpers/daemon';
import { uniqueProcessName } from '../helpers/traffic';
import { settledCounts, startServing, tcpRuns } from './daemon-counts';

test('two daemons at once each count the same traffic exactly; a third on a port in use fails naming it', { ...bpfTestOptions(), timeout: 120_000 }, async () => {
  requireBpf();
  const first = await startServing();
  const second = await startServing().catch(async (err: unknown) => {
    await first.daemon.stop();
    throw err;
  });
  try {
    const a = bpfObjectsHeldBy(first.daemon.pid);
    const b = bpfObjectsHeldBy(second.daemon.pid);
    assert.deepEqual(a.progs.filter((id) => b.progs.includes(id)), [], 'independent programs');
    assert.deepEqual(a.maps.filter((id) => b.maps.includes(id)), [], 'independent maps');

    const name = uniqueProcessName('sstwo');
    const done = await tcpRuns(name, 5);
    assert.deepEqual(await settledCounts(first.port, name, done), done, 'the first daemon counts exactly');
    assert.deepEqual(await settledCounts(second.port, name, done), done, 'the second daemon counts exactly');

    // A third one on the first one's port.
    const third = await DaemonProcess.start(['--prometheus.host=127.0.0.1', `--prometheus.port=${first.port}`], 'never logged', 60_000).then(
      () => assert.fail('a daemon on a port in use started'),
      (err: Error) => err,
    );
    assert.match(third.message, /daemon exited with 1/);
    const fatal = /"msg":"sockscope stopped on an error"/.test(third.message);
    assert.ok(fatal, third.message);
    assert.ok(third.message.includes(`metrics server cannot listen on 127.0.0.1:${first.port}: EADDRINUSE`), third.message);

    // The two still count, and exactly: the third one's attach and detach took nothing from them.
    const more = await tcpRuns(name, 2);
    for (const key of ['tx', 'rx', 'active', 'passive'] as const) done[key] += more[key];
    assert.deepEqual(await settledCounts(first.port, name, done), done);
    assert.deepEqual(await settledCounts(second.port, name, done), done);
  } finally {
    const held = [bpfObjectsHeldBy(first.daemon.pid), bpfObjectsHeldBy(second.daemon.pid)];
    assert.equal(await first.daemon.stop(), 0);
    assert.equal(await second.daemon.stop(), 0);
    for (const objects of held) assert.deepEqual(await waitUntilFreed(objects), { progs: [], maps: [], links: [] });
  }
});
