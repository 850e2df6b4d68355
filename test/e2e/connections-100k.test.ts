/**
 * 100,000 concurrent TCP connections (200,000 sockets) against the real daemon at its
 * default settings: the active gauge of the client and of the server process reaches
 * exactly 100,000 each and comes back to exactly 0. The connections live on the loopback
 * of a network namespace made for them (test/helpers/held-connections.ts), each process
 * raises its own fd limit; ten servers of one name and ten clients of another hold
 * 10,000 each, since a process cannot go past the fd hard limit without CAP_SYS_RESOURCE. The daemon's memory and /metrics latency while they are held
 * are printed as diagnostics, not asserted: the bench's connections phase reports them
 * (docs/performance.md). Not in the kernel matrix: it is an e2e test, and nothing in it
 * differs per kernel that the integration tests do not cover.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { DaemonProcess } from '../helpers/daemon';
import { runHeldConnections } from '../helpers/held-connections-run';

const TOTAL = 100_000;
/**
 * Opened, and closed, 1,000 a second: 4 state changes each way up and 6 down, which the daemon
 * takes in with room to spare on an idle 2-CPU host. As fast as Python goes (~4,000 a second)
 * the daemon's connection-event table overflowed on a loaded host (counted; docs/performance.md).
 */
const RATE = 1000;
const READY = 'serving Prometheus metrics on /metrics';

describe('100k concurrent TCP connections', bpfTestOptions(), () => {
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.stop();
  });

  // Known failure (issue 11, target 8): reconciliation now reads the holders' namespace through
  // their /proc/<tgid>/net/tcp, and heals the closes the kernel skipped; but ~500 client
  // connections stay in the gauge after close with no loss counted in the close phase (cause not
  // found; docs/performance.md). Reported as TODO until the gauge comes back to 0.
  const todo = 'issue 11 target 8: ~500 client connections stay after close with no counted loss';
  test(`the active gauge counts ${TOTAL} connections of each process exactly, then 0`, { todo }, async (t) => {
    requireBpf();
    // Defaults, as launched: only where it listens is set.
    daemon = await DaemonProcess.start(['--prometheus.host', '127.0.0.1', '--prometheus.port', '0'], READY, 30_000, { asLaunched: true });
    const port = (await daemon.waitForLog((l) => l.msg === READY, 1000)).port as number;
    const scrape = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200);
      return response.text();
    };
    const run = await runHeldConnections({ pid: daemon.pid, scrape }, { total: TOTAL, processes: 10, ratePerSecond: RATE, scrapes: 20, log: (l) => t.diagnostic(l) });
    t.diagnostic(JSON.stringify(run));
    assert.deepEqual(run.held, { client: TOTAL, server: TOTAL }, `active gauge with every connection open (losses ${JSON.stringify(run.losses)})`);
    assert.deepEqual(run.closed, { client: 0, server: 0 }, `active gauge with every connection closed (losses ${JSON.stringify(run.losses)})`);
  });
});
