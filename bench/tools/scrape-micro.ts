/**
 * In-process split of one /metrics render for N series shaped like sockscope's network
 * counters: the production path (src/export PrometheusViewBuilder, then
 * PrometheusTextSerializer) against the OTel PrometheusSerializer it replaced, which
 * renders the same view (configured as MetricsServer used to: no timestamps, no scope
 * info). Steady state reuses one builder and serializer, as MetricsServer does between
 * scrapes of the same series; "first" builds fresh ones every run (a scrape right after
 * the series appeared). Checks that both serializers write the same bytes. Collection (the
 * producer) is not included: the daemon-level figure is in `npm run bench` (phase scrape).
 *
 *   node dist/bench/tools/scrape-micro.js [SERIES=10000] [RUNS=15]
 */
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { performance } from 'node:perf_hooks';
import { PrometheusTextSerializer } from '../../src/export/prometheus-text';
import { PrometheusViewBuilder } from '../../src/export/prometheus-view';
import { median, round } from '../lib/stats';

function histogram(series: number): MetricData {
  const now: [number, number] = [Math.floor(Date.now() / 1000), 0];
  const boundaries = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1];
  return {
    descriptor: { name: 'sockscope.tcp.rtt', description: 'RTT "sampled"\nper flow', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: Array.from({ length: series }, (_, i) => ({
      startTime: now,
      endTime: now,
      attributes: { 'process.executable.name': `tcp${i}`, 'server.port': 8000 + i, 'sockscope.peer.group': 'private' },
      value: { count: 10, sum: 0.0123, min: 0.0001, max: 0.01, buckets: { boundaries, counts: [1, 2, 3, 0, 4, 0, 0, 0, 0, 0] } },
    })),
  } as MetricData;
}

function counter(name: string, unit: string, series: number): MetricData {
  const now: [number, number] = [Math.floor(Date.now() / 1000), 0];
  return {
    descriptor: { name, description: `${name} (synthetic)`, unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: Array.from({ length: series }, (_, i) => ({
      startTime: now,
      endTime: now,
      attributes: {
        'network.transport': 'udp',
        'network.io.direction': i % 2 === 0 ? 'transmit' : 'receive',
        'network.type': 'ipv4',
        'process.executable.name': `sb${String(Math.floor(i / 2)).padStart(6, '0')}`,
        'sockscope.peer.group': 'loopback',
      },
      value: 64 * (i + 1),
    })),
  } as MetricData;
}

export function syntheticCollection(series: number): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': 'sockscope', 'host.name': 'bench' }),
    scopeMetrics: [
      {
        scope: { name: 'sockscope' },
        metrics: [
          counter('sockscope.network.io', 'By', series / 2),
          counter('sockscope.network.messages', '{message}', series / 2),
          histogram(20),
        ],
      },
    ],
  };
}

function time<T>(runs: number, f: () => T): { ms: number; value: T } {
  const times: number[] = [];
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = f();
    times.push(performance.now() - t0);
  }
  return { ms: round(median(times), 2), value };
}

export interface ScrapeMicroResult {
  series: number;
  runs: number;
  /** PrometheusViewBuilder.build, same builder every run. */
  viewMs: number;
  /** The same with a fresh builder every run. */
  firstViewMs: number;
  /** PrometheusTextSerializer on the view, same serializer every run. */
  serializeMs: number;
  /** The same with a fresh serializer every run. */
  firstSerializeMs: number;
  /** The OTel PrometheusSerializer on the same view. */
  otelSerializeMs: number;
  /** View and text together, as one steady-state /metrics render. */
  renderMs: number;
  bodyBytes: number;
  /** PrometheusTextSerializer wrote the OTel serializer's bytes, cold and warm. */
  identicalOutput: boolean;
}

function main(): void {
  const series = Number(process.argv[2] ?? 10_000);
  const runs = Number(process.argv[3] ?? 15);
  const input = syntheticCollection(series);
  const options = { withoutScopeLabels: true };
  const otel = new PrometheusSerializer(undefined, false, undefined, false, true);
  const builder = new PrometheusViewBuilder(options);
  const text = new PrometheusTextSerializer();
  const firstView = time(runs, () => new PrometheusViewBuilder(options).build(input));
  const view = time(runs, () => builder.build(input));
  const firstSerialize = time(runs, () => new PrometheusTextSerializer().serialize(view.value.resourceMetrics));
  const serialize = time(runs, () => text.serialize(view.value.resourceMetrics));
  const otelSerialize = time(runs, () => otel.serialize(view.value.resourceMetrics));
  const render = time(runs, () => text.serialize(builder.build(input).resourceMetrics));
  const result: ScrapeMicroResult = {
    series,
    runs,
    viewMs: view.ms,
    firstViewMs: firstView.ms,
    serializeMs: serialize.ms,
    firstSerializeMs: firstSerialize.ms,
    otelSerializeMs: otelSerialize.ms,
    renderMs: render.ms,
    bodyBytes: Buffer.byteLength(otelSerialize.value),
    identicalOutput:
      firstSerialize.value === otelSerialize.value && serialize.value === otelSerialize.value && render.value === otelSerialize.value,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  if (!result.identicalOutput) process.exitCode = 1;
}

if (require.main === module) main();
