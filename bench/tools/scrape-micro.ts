/**
 * In-process split of one /metrics render into its two steps, for N series shaped like
 * sockscope's network counters: src/export/prometheus-names toPrometheusView (current),
 * bench/proto/prometheus-view toPrometheusViewFast (prototype), and the OTel
 * PrometheusSerializer configured as MetricsServer configures it. Checks that both
 * views serialize to the same text. Collection (the producer) is not included: the
 * daemon-level figure is in `npm run bench` (phase scrape).
 *
 *   node dist/bench/tools/scrape-micro.js [SERIES=10000] [RUNS=15]
 */
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { performance } from 'node:perf_hooks';
import { toPrometheusView } from '../../src/export/prometheus-names';
import { toPrometheusViewFast } from '../proto/prometheus-view';
import { CachingPrometheusSerializer } from '../proto/prometheus-text';
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

function main(): void {
  const series = Number(process.argv[2] ?? 10_000);
  const runs = Number(process.argv[3] ?? 15);
  const input = syntheticCollection(series);
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  const options = { withoutScopeLabels: true };
  const current = time(runs, () => toPrometheusView(input, options));
  const fast = time(runs, () => toPrometheusViewFast(input, options));
  const text = time(runs, () => serializer.serialize(current.value.resourceMetrics));
  const fastText = serializer.serialize(fast.value.resourceMetrics);
  // Steady state: the same series on every scrape, as between two Prometheus scrapes.
  const caching = new CachingPrometheusSerializer();
  const cached = time(runs, () => caching.serialize(toPrometheusViewFast(input, options).resourceMetrics));
  const result = {
    series,
    runs,
    viewMs: current.ms,
    fastViewMs: fast.ms,
    serializeMs: text.ms,
    /** Prototype view + caching serializer together, per render. */
    fastViewAndCachedSerializeMs: cached.ms,
    bodyBytes: Buffer.byteLength(text.value),
    identicalOutput: fastText === text.value && cached.value === text.value,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  if (!result.identicalOutput) process.exitCode = 1;
}

if (require.main === module) main();
