/** `sockscope events`: TCP state changes and retransmits as JSON lines on stdout, until SIGINT/SIGTERM. */
import type { Config } from './config/schema';
import type { Logger } from './log';
import { EventStreamWriter } from './export/event-stream';
import { createProducer, startCollector, waitForTermination } from './startup';

const POLL_MS = 200;

export async function streamEvents(config: Config, log: Logger): Promise<void> {
  const target = config.events.file || '-';
  const writer = new EventStreamWriter(target, { log });
  await writer.ready();
  const { collector, bootstrap } = startCollector(config, log);
  // The metrics layer resolves owners (kernel, tracked, /proc); nothing is exported.
  const producer = createProducer(config, collector, bootstrap, (events) => writer.write(events));
  const timer = setInterval(() => producer.ingest(), POLL_MS);
  // A reader that went away (`sockscope events | head`) ends the command as a signal does.
  const stdoutGone = new Promise<void>((resolve) => target === '-' && process.stdout.once('error', () => resolve()));
  try {
    await Promise.race([waitForTermination(), stdoutGone]);
  } finally {
    clearInterval(timer);
    producer.ingest();
    collector.close();
    await writer.close();
  }
}
