/**
 * Crash and restart (issue 15, fault suite): the real daemon is killed with SIGKILL while a
 * process keeps making TCP exchanges. Nothing of it may stay in the kernel (its programs,
 * maps and links by ID, which also covers anything pinned), its tracefs kprobe events are gone
 * once a daemon starts again (test/integration/kprobe-events-after-crash.test.ts shows that in
 * kprobe mode), and that daemon counts exactly what the same process name does after the restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { bpfObjectsHeldBy, waitUntilFreed } from '../helpers/bpftool';
import { kprobeEventsOf } from '../helpers/kprobe-events';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';
import { addRun, NO_TCP, settledCounts, startServing, tcpRuns } from './daemon-counts';

test('after SIGKILL under load nothing of the daemon is left in the kernel, and a new one counts exactly', { ...bpfTestOptions(), timeout: 120_000 }, async () => {
  requireBpf();
  const name = uniqueProcessName('sscrash');
  const first = await startServing();
  const held = bpfObjectsHeldBy(first.daemon.pid);
  assert.ok(held.progs.length > 0 && held.maps.length > 0 && held.links.length > 0, `the daemon holds programs, maps and links: ${JSON.stringify(held)}`);

  // Steady traffic from one process name, until after the kill.
  let sending = true;
  let runsBefore = 0;
  const traffic = (async () => {
    while (sending) {
      await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 1500, messages: 20 });
      runsBefore += 1;
    }
  })();
  const whileLoaded = Date.now() + 30_000;
  while (runsBefore < 5 && Date.now() < whileLoaded) await new Promise((r) => setTimeout(r, 50));
  assert.ok(runsBefore >= 5, 'traffic runs while the daemon is up');

  assert.equal(await first.daemon.stop('SIGKILL'), null, 'killed by the signal');
  sending = false;
  await traffic;

  const left = await waitUntilFreed(held);
  assert.deepEqual(left, { progs: [], maps: [], links: [] }, `left in the kernel of ${JSON.stringify(held)}`);

  // The same process name again: only what it does from now on may be counted.
  const second = await startServing();
  try {
    assert.deepEqual(kprobeEventsOf(first.daemon.pid), [], 'kprobe events of the killed daemon');
    const done = { ...NO_TCP };
    addRun(done, await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 4000, messages: 10 }));
    const more = await tcpRuns(name, 4);
    for (const key of ['tx', 'rx', 'active', 'passive'] as const) done[key] += more[key];
    assert.deepEqual(await settledCounts(second.port, name, done), done, 'counts after the restart are exactly the traffic after it');
  } finally {
    const held2 = bpfObjectsHeldBy(second.daemon.pid);
    assert.equal(await second.daemon.stop(), 0);
    assert.deepEqual(await waitUntilFreed(held2), { progs: [], maps: [], links: [] });
  }
});
