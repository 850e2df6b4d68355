/**
 * OTLP/gRPC push. Without TLS files the exporter picks channel credentials from the
 * endpoint's scheme (http:// -> insecure, https:// -> TLS, with OTEL_EXPORTER_OTLP_*CERTIFICATE
 * files if set); with them, sockscope passes its own. Headers go as gRPC metadata, which the
 * exporter merges with OTEL_EXPORTER_OTLP_HEADERS for keys not set here.
 */
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { OtlpConnection } from './otlp-connection';
import { WatchedExporter, type OtlpExportHealth } from './otlp-export-health';

type GrpcExporterModule = typeof import('@opentelemetry/exporter-metrics-otlp-grpc');
type GrpcModule = typeof import('@grpc/grpc-js');
type ExporterConfig = NonNullable<ConstructorParameters<GrpcExporterModule['OTLPMetricExporter']>[0]>;

export interface OtlpReaderOptions {
  /** `http://host:port` (plaintext) or `https://host:port` (TLS); no path. */
  endpoint: string;
  intervalMillis: number;
  /** Per export; must not exceed intervalMillis. */
  timeoutMillis: number;
  /** Producers whose metrics are pushed alongside the SDK's own. */
  metricProducers?: MetricProducer[];
  /** TLS files, headers and compression (readOtlpConnection); none by default. */
  connection?: OtlpConnection;
  /** Counts and logs the outcome of every push. */
  health?: OtlpExportHealth;
}

/** Throws with a message naming the endpoint when it is not a usable gRPC target. */
export function validateOtlpEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`OTLP endpoint "${endpoint}" is not a URL; expected http://host:port or https://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`OTLP endpoint "${endpoint}" must start with http:// (plaintext) or https:// (TLS)`);
  }
  if (url.hostname === '') {
    throw new Error(`OTLP endpoint "${endpoint}" has no host`);
  }
  // URL drops default ports (http:80, https:443), so look at the text; grpc-js would otherwise dial 443.
  if (url.port === '' && !/:\d+\/?$/.test(endpoint.trim())) {
    throw new Error(`OTLP endpoint "${endpoint}" has no port (the OTLP/gRPC default is 4317)`);
  }
  // gRPC ignores the path; one usually means the OTLP/HTTP endpoint was given.
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new Error(`OTLP endpoint "${endpoint}" has a path (${url.pathname}); OTLP/gRPC takes host:port only`);
  }
  return url;
}

/**
 * A reader that pushes cumulative metrics every intervalMillis. Register it on the
 * MeterProvider: the provider's shutdown() makes it collect and export once more.
 */
export function createOtlpReader(opts: OtlpReaderOptions): PeriodicExportingMetricReader {
  validateOtlpEndpoint(opts.endpoint);
  if (!(opts.intervalMillis > 0) || !(opts.timeoutMillis > 0)) {
    throw new Error(`OTLP interval (${opts.intervalMillis} ms) and timeout (${opts.timeoutMillis} ms) must be positive`);
  }
  if (opts.timeoutMillis > opts.intervalMillis) {
    throw new Error(`OTLP timeout (${opts.timeoutMillis} ms) must not exceed the interval (${opts.intervalMillis} ms)`);
  }
  // Required here, not imported above: the gRPC stack (grpc-js, protobuf) adds ~6 MB of
  // heap, and a daemon without otlp.endpoint never needs it.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-grpc') as GrpcExporterModule;
  const grpc = require('@grpc/grpc-js') as GrpcModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { tls, headers = [], compression = 'none' } = opts.connection ?? {};
  let metadata: InstanceType<GrpcModule['Metadata']> | undefined;
  if (headers.length > 0) {
    metadata = new grpc.Metadata();
    for (const [key, value] of headers) metadata.set(key, value);
  }
  const exporter = new OTLPMetricExporter({
    url: opts.endpoint,
    // The exporter gives up before the reader does, so that a hung collector ends as a
    // counted DEADLINE_EXCEEDED rather than the reader's own timeout error on every push.
    timeoutMillis: Math.max(1, opts.timeoutMillis - Math.min(1000, Math.floor(opts.timeoutMillis / 10))),
    // Prometheus-style cumulative series, whatever OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE says.
    temporalityPreference: AggregationTemporality.CUMULATIVE,
    credentials: tls && grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null),
    metadata,
    // The exporter's CompressionAlgorithm enum has exactly these two string values.
    compression: compression as unknown as ExporterConfig['compression'],
  });
  return new PeriodicExportingMetricReader({
    exporter: opts.health ? new WatchedExporter(exporter, opts.health) : exporter,
    exportIntervalMillis: opts.intervalMillis,
    exportTimeoutMillis: opts.timeoutMillis,
    metricProducers: opts.metricProducers,
  });
}
