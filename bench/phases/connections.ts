/**
 * 100k concurrent TCP connections against the real daemon at its defaults (issue 11,
 * target 8): the run of test/e2e/many-connections.test.ts (40,000 there) at 100,000
 * (test/helpers/held-connections-run.ts),
 * here for its figures: the active gauge of each side held and after close, the daemon's
 * RSS while held and at its peak, /metrics latency while held, and every loss counted.
 */
import { SockscopeDaemon } from '../lib/daemon';
import { runHeldConnections, type HeldConnectionsRun } from '../../test/helpers/held-connections-run';

export type ConnectionsResult = HeldConnectionsRun;

export async function measureConnections(options: {
  total: number;
  ratePerSecond: number;
  scrapes: number;
  log: (line: string) => void;
}): Promise<ConnectionsResult> {
  const daemon = await SockscopeDaemon.start();
  try {
    return await runHeldConnections(
      { pid: daemon.pid, scrape: () => daemon.scrapeText() },
      // A process holds at most 10k: the fd hard limit here is 20,000 and raising it takes CAP_SYS_RESOURCE.
      {
        total: options.total,
        processes: Math.max(1, Math.ceil(options.total / 10_000)),
        ratePerSecond: options.ratePerSecond,
        scrapes: options.scrapes,
        log: options.log,
        // Reconciliation without a counted loss runs every 50 listings' cost: ~150 s at 200k sockets.
        settleTimeoutMs: 300_000,
      },
    );
  } finally {
    await daemon.stop();
  }
}
