/**
 * OTLP/gRPC push. The exporter picks channel credentials from the endpoint's
 * scheme (http:// -> insecure, https:// -> TLS, with OTEL_EXPORTER_OTLP_*CERTIFICATE
 * files if set), which is why no credentials are passed here: that keeps
 * @grpc/grpc-js out of sockscope's own imports.
 */
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

type GrpcExporterModule = typeof import('@opentelemetry/exporter-metrics-otlp-grpc');

export interface OtlpReaderOptions {
  /** `http://host:port` (plaintext) or `https://host:port` (TLS); no path. */
  endpoint: string;
  intervalMillis: number;
  /** Per export; must not exceed intervalMillis. */
  timeoutMillis: number;
  /** Producers whose metrics are pushed alongside the SDK's own. */
  metricProducers?: MetricProducer[];
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-grpc') as GrpcExporterModule;
  const exporter = new OTLPMetricExporter({
    url: opts.endpoint,
    timeoutMillis: opts.timeoutMillis,
    // Prometheus-style cumulative series, whatever OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE says.
    temporalityPreference: AggregationTemporality.CUMULATIVE,
  });
  return new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: opts.intervalMillis,
    exportTimeoutMillis: opts.timeoutMillis,
    metricProducers: opts.metricProducers,
  });
}
