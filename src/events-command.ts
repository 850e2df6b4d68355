/** `sockscope events`: TCP state changes and retransmits as JSON lines on stdout, until SIGINT/SIGTERM. */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Config } from './config/schema';
import type { Logger } from './log';
import { EventStreamWriter } from './export/event-stream';
import { SockscopeMetrics } from './metrics/sockscope-metrics';
import { readBuildInfo } from './build-info';
import { startCollector, waitForTermination } from './startup';

const POLL_MS = 200;

export async function streamEvents(config: Config, log: Logger): Promise<void> {
  const writer = new EventStreamWriter(config.events.file || '-');
  await writer.ready();
  const { collector, bootstrap } = startCollector(config, log);
  // The metrics layer resolves owners (kernel, tracked, /proc); no reader exports anything.
  const provider = new MeterProvider();
  const metrics = new SockscopeMetrics(provider.getMeter('sockscope'), collector, {
    buildInfo: readBuildInfo(),
    plan: collector.plan,
    bootstrap: bootstrap.sockets,
    onConnectionEvents: (events) => writer.write(events),
  });
  const timer = setInterval(() => metrics.ingest(), POLL_MS);
  try {
    await waitForTermination();
  } finally {
    clearInterval(timer);
    metrics.ingest();
    collector.close();
    await provider.shutdown();
    await writer.close();
  }
}
