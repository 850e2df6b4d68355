/**
 * Heap held by the view's history at its bound (docs/api.md "Bounds"): N process rows,
 * each moving bytes and getting one RTT sample on every sample (every row busy: none
 * can share the previous sample's numbers), sampled until the history is full.
 *
 *   node --expose-gc dist/bench/tools/view-memory.js [ROWS=2500] [SAMPLES=400]
 */
import { ValueType } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricData } from '@opentelemetry/sdk-metrics';
import * as defs from '../../src/metrics/definitions';
import { ViewModel } from '../../src/view/view-model';

function collection(rows: number, tick: number, attributes: Array<Record<string, string>>): CollectionResult {
  const time: [number, number] = [0, 0];
  const io: MetricData = {
    descriptor: { name: defs.NETWORK_IO.name, description: '', unit: 'By', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: attributes.map((a, i) => ({ attributes: a, value: tick * (i + 1), startTime: time, endTime: time })),
  };
  const rtt: MetricData = {
    descriptor: { name: defs.RTT.name, description: '', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: attributes.slice(0, rows).map((a, i) => ({
      attributes: a,
      startTime: time,
      endTime: time,
      // One flow per row: one RTT sample a second, in the row's bucket.
      value: { buckets: { boundaries: defs.RTT_BUCKETS, counts: defs.RTT_BUCKETS.map((_, b) => (b === i % defs.RTT_BUCKETS.length ? tick : 0)).concat(0) }, sum: 0, count: tick },
    })),
  };
  return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: 'sockscope' }, metrics: [io, rtt] }] }, errors: [] };
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const rows = Number(process.argv[2] ?? 2500);
  const samples = Number(process.argv[3] ?? 400);
  const attributes = Array.from({ length: rows }, (_, i) => ({ [defs.ATTR_EXECUTABLE]: `p${i}`, [defs.ATTR_DIRECTION]: 'transmit' }));
  let tick = 0;
  let clock = 0;
  const view = new ViewModel({ collect: async () => collection(rows, ++tick, attributes), plan: { hooks: [] }, version: 'x', now: () => (clock += 1000) });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < samples; i++) await view.sample();
  gc();
  const held = process.memoryUsage().heapUsed - before;
  const windowSeconds = view.snapshot({ groupBy: 'process', windowSeconds: 3600 }).windowSeconds;
  process.stdout.write(
    JSON.stringify({ rows, samples, rowSamples: view.rowSamples, windowSeconds, heapMiB: +(held / 2 ** 20).toFixed(1), bytesPerRowSample: Math.round(held / view.rowSamples) }) + '\n',
  );
}

void main();
