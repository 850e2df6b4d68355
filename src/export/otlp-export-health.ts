/**
 * Watches the OTLP exporter's results: counts exports and data points by outcome for the
 * self-metrics, and logs once when pushes start failing and once when they recover, instead of
 * the SDK's error stack on every push. Nothing is queued while the collector is down: every
 * push carries the cumulative totals, so the first one that gets through is complete.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { AggregationOption, AggregationTemporality, InstrumentType, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** Counts by error.type; '' is success. */
export interface OtlpExportStats {
  exports: ReadonlyMap<string, number>;
  dataPoints: ReadonlyMap<string, number>;
}

export interface OtlpHealthLog {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

/** Outcome counts of the pushes, and the log lines that mark when they change. */
export class OtlpExportHealth {
  private readonly exports = new Map<string, number>();
  private readonly dataPoints = new Map<string, number>();
  /** Since the first failure of the current outage; undefined while pushes succeed. */
  private outage: { since: number; exports: number; dataPoints: number; errorTypes: Set<string> } | undefined;

  constructor(
    private readonly log: OtlpHealthLog,
    private readonly endpoint: string,
    private readonly now: () => number = Date.now,
  ) {}

  stats(): OtlpExportStats {
    return { exports: this.exports, dataPoints: this.dataPoints };
  }

  record(result: ExportResult, dataPoints: number): void {
    const errorType = result.code === ExportResultCode.SUCCESS ? '' : errorTypeOf(result.error);
    add(this.exports, errorType, 1);
    add(this.dataPoints, errorType, dataPoints);
    if (errorType === '') {
      if (this.outage === undefined) return;
      const { since, exports, dataPoints: lost, errorTypes } = this.outage;
      this.outage = undefined;
      this.log.info(
        { endpoint: this.endpoint, failedExports: exports, failedDataPoints: lost, errorTypes: [...errorTypes], failingForMs: this.now() - since },
        'OTLP export recovered',
      );
      return;
    }
    const outage = (this.outage ??= { since: this.now(), exports: 0, dataPoints: 0, errorTypes: new Set() });
    outage.exports += 1;
    outage.dataPoints += dataPoints;
    // Once per kind of error and outage (at most the 16 gRPC failure codes and _OTHER): a first
    // push that timed out while connecting must not hide that the collector then refuses the headers.
    if (outage.errorTypes.has(errorType)) return;
    outage.errorTypes.add(errorType);
    this.log.warn(
      { endpoint: this.endpoint, errorType, error: result.error?.message ?? errorType },
      outage.errorTypes.size === 1
        ? 'OTLP export failing; counted in sockscope_otlp_exports_total{error_type}, logged again when it recovers'
        : 'OTLP export failing with another error',
    );
  }
}

/**
 * The exporter as the periodic reader sees it. A failed push is reported to the reader as
 * done: the reader's only use of a failure is an error stack in the log on every push, and
 * the health above logs and counts it instead. The next push carries the same totals anyway.
 */
export class WatchedExporter implements PushMetricExporter {
  constructor(
    private readonly exporter: PushMetricExporter,
    private readonly health: OtlpExportHealth,
  ) {}

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const points = countDataPoints(metrics);
    this.exporter.export(metrics, (result) => {
      this.health.record(result, points);
      resultCallback({ code: ExportResultCode.SUCCESS });
    });
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.exporter.selectAggregationTemporality!(instrumentType);
  }

  selectAggregation(instrumentType: InstrumentType): AggregationOption {
    return this.exporter.selectAggregation!(instrumentType);
  }
}

/** Data points as OTel's exporter conventions count them: one per series (a histogram is one). */
export function countDataPoints(metrics: ResourceMetrics): number {
  let n = 0;
  for (const scope of metrics.scopeMetrics) for (const metric of scope.metrics) n += metric.dataPoints.length;
  return n;
}

/** error.type: the gRPC status name of a failed call (e.g. UNAVAILABLE), else `_OTHER`, OTel's value for the unknown. */
export function errorTypeOf(error: Error | undefined): string {
  const code: unknown = error === undefined ? undefined : Reflect.get(error, 'code');
  if (typeof code !== 'number') return '_OTHER';
  // Loaded already by the exporter that failed; required here so that sockscope never loads gRPC without OTLP.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { status } = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  return status[code] ?? '_OTHER';
}

function add(counts: Map<string, number>, key: string, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}
