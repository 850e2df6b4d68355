/** `sockscope events`: TCP state changes and retransmits as JSON lines on stdout, until SIGINT/SIGTERM. */
import type { Config } from './config/schema';
import type { Logger } from './log';
import { EventStreamWriter } from './export/event-stream';
import { enrichConnections, startCollector, waitForTermination } from './startup';

const POLL_MS = 200;

/** Connection events only: no socket I/O programs, and a one-entry flow table nobody drains. */
const EVENT_HOOKS = { hooks: ['tcp_state', 'tcp_retransmit'], maxFlows: 1 };

export async function streamEvents(config: Config, log: Logger): Promise<void> {
  const target = config.events.file || '-';
  const writer = new EventStreamWriter(target, { log });
  await writer.ready();
  const { collector, bootstrap } = startCollector(config, log, EVENT_HOOKS);
  // Owners come from the collector's enricher (kernel, the connection's open, /proc): no metrics are kept.
  const connections = enrichConnections(config, collector, bootstrap);
  // One drain at a time: the next tick skips while one waits on the drain thread.
  let draining: Promise<void> | undefined;
  const drain = (): Promise<void> =>
    (draining ??= connections
      .drainConnections()
      .then((batch) => writer.write(batch.records))
      .catch((err: unknown) => log.error({ err }, 'draining connection events failed'))
      .finally(() => (draining = undefined)));
  const timer = setInterval(() => void drain(), POLL_MS);
  // A reader that went away (`sockscope events | head`) ends the command as a signal does.
  const stdoutGone = new Promise<void>((resolve) => target === '-' && process.stdout.once('error', () => resolve()));
  try {
    await Promise.race([waitForTermination(), stdoutGone]);
  } finally {
    clearInterval(timer);
    await draining;
    await drain();
    collector.close();
    await writer.close();
  }
}
