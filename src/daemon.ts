/**
 * `sockscope run`: attach the probes, expose /metrics and/or push OTLP, and on
 * SIGINT/SIGTERM detach everything, flush the last OTLP batch and return.
 */
import os from 'node:os';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Config } from './config/schema';
import type { Logger } from './log';
import { EventStreamWriter } from './export/event-stream';
import { MetricsServer } from './export/metrics-server';
import type { WebConfigSource } from './export/web-config-source';
import { createOtlpReader } from './export/otlp';
import { readOtlpConnection } from './export/otlp-connection';
import { OtlpExportHealth } from './export/otlp-export-health';
import { ViewRoutes } from './export/view-routes';
import { StaticFiles, UI_ROOT } from './export/static-files';
import { VIEW_IDLE_MS, ViewModel } from './view/view-model';
import { readBuildInfo } from './build-info';
import { createProducer, enrichConnections, routeOtelDiagnostics, startCollector, waitForTermination } from './startup';

/** How often data moves from the addon into the JS totals between collections. */
const INGEST_INTERVAL_MS = 1000;

/** `webConfig`: the prometheus.webConfigFile, already read (a bad one stops start-up before this). */
export async function runDaemon(config: Config, log: Logger, webConfig?: WebConfigSource): Promise<void> {
  // Our own /metrics and OTLP traffic then shows up under our name, not `node`.
  process.title = 'sockscope';
  const buildInfo = readBuildInfo();
  log.info({ version: buildInfo.version, node: buildInfo.nodeVersion, kernel: os.release() }, 'starting sockscope');
  routeOtelDiagnostics(log);

  const events = config.events.file ? new EventStreamWriter(config.events.file, { log }) : undefined;
  await events?.ready();
  const { collector, bootstrap, backends } = startCollector(config, log, {}, { conntrack: true });
  // The event stream reads the same enriched records as the metrics, as they are drained.
  const connections = enrichConnections(config, collector, bootstrap, events && ((records) => events.write(records)));
  const otlpHealth = config.otlp.endpoint ? new OtlpExportHealth(log, config.otlp.endpoint) : undefined;
  const producer = createProducer(
    config,
    collector,
    connections,
    events && (() => events.stats()),
    otlpHealth && (() => otlpHealth.stats()),
    backends,
  );

  // The view samples the producer's own collection: its numbers are /metrics' numbers.
  const view =
    config.prometheus.enabled && config.ui.enabled
      ? new ViewModel({ collect: () => producer.collect(), plan: collector.plan, version: buildInfo.version, intervalSeconds: INGEST_INTERVAL_MS / 1000 })
      : undefined;

  const uiFiles = new StaticFiles({ root: UI_ROOT });
  const readers: MetricReader[] = [];
  const server = config.prometheus.enabled
    ? new MetricsServer({
        host: config.prometheus.host,
        port: config.prometheus.port,
        // Probes are attached before the server starts: serving means ready.
        isReady: () => true,
        onError: (err: Error) => log.error({ err }, 'metrics collection failed'),
        onWarning: (message: string) => log.warn(message),
        withoutScopeLabels: true,
        metricProducers: [producer],
        webConfig,
        probesWithoutAuth: config.prometheus.probesWithoutAuth,
        viewRoutes: view && new ViewRoutes(view, { uiFiles: (relativePath) => uiFiles.read(relativePath) }),
        limits: config.prometheus,
      })
    : undefined;
  if (server) readers.push(server.reader);
  if (config.otlp.endpoint) {
    readers.push(
      createOtlpReader({
        endpoint: config.otlp.endpoint,
        intervalMillis: config.otlp.interval,
        timeoutMillis: config.otlp.timeout,
        metricProducers: [config.otlp.histograms === 'exponential' ? producer.exponentialView() : producer],
        // Checked when the settings were loaded (setting-checks.ts); read again here to use.
        connection: readOtlpConnection(config.otlp),
        health: otlpHealth,
      }),
    );
  }

  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'sockscope',
      'service.version': buildInfo.version,
      'host.name': os.hostname(),
    }),
    readers,
  });
  const ingest = () => producer.ingest().catch((err: unknown) => log.error({ err }, 'draining the collector failed'));
  // A view sample drains the collector as an ingest does, and adds to the view's history;
  // it costs more, so only while someone reads the view (docs/architecture.md, "The view").
  const sample = () => view!.sample().catch((err: unknown) => log.error({ err }, 'sampling the view failed'));
  const ingestTimer = setInterval(() => void (view?.readWithin(VIEW_IDLE_MS) ? sample() : ingest()), INGEST_INTERVAL_MS);

  try {
    if (server) {
      const bound = await server.start();
      const scheme = webConfig?.current().tls ? 'https' : 'http';
      log.info({ host: bound.host, port: bound.port, scheme, webConfig: webConfig?.path }, 'serving Prometheus metrics on /metrics');
    }
    if (config.otlp.endpoint) {
      const { compression, headersFile, caFile, certFile } = config.otlp;
      // Header names only: their values are credentials.
      const headers = readOtlpConnection(config.otlp).headers.map(([key]) => key);
      log.info(
        { endpoint: config.otlp.endpoint, intervalMillis: config.otlp.interval, compression, headers, headersFile, caFile, certFile },
        'pushing OTLP metrics',
      );
    }
    const signal = await waitForTermination();
    log.info({ signal }, 'stopping');
  } finally {
    clearInterval(ingestTimer);
    await ingest();
    collector.close();
    backends?.close();
    log.info('probes detached');
    // The server goes first: a scrape after the provider's shutdown would get a 500.
    await server?.stop();
    // Exports the final OTLP batch (the readers collect once more on shutdown).
    await provider.shutdown().catch((err: unknown) => log.error({ err }, 'flushing metrics failed'));
    await events?.close();
  }
}
