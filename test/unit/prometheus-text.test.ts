/**
 * PrometheusTextSerializer must write exactly what the OTel PrometheusSerializer wrote
 * for /metrics (no prefix, no timestamps, no resource constant labels, no scope info),
 * for any input, and its per-series cache must never serve text of a series that changed
 * or expired, nor keep an expired series in memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ValueType, type Attributes, type AttributeValue } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { DataPoint, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { AttachPlan } from '../../src/collector/attach-plan';
import type { FlowDelta } from '../../src/collector/types';
import { PrometheusTextSerializer } from '../../src/export/prometheus-text';
import { PrometheusViewBuilder } from '../../src/export/prometheus-view';
import { NETWORK_IO } from '../../src/metrics/definitions';
import { ServerPorts } from '../../src/metrics/server-ports';
import { SockscopeProducer } from '../../src/metrics/sockscope-producer';
import { NO_COLLECTOR_STATS, NO_CONNECTIONS } from '../helpers/collector-stats';

function otel(withoutTargetInfo: boolean): PrometheusSerializer {
  return new PrometheusSerializer(undefined, false, undefined, withoutTargetInfo, true);
}

/** mulberry32: the same inputs on every run, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  '', ' ', '_', '__', 'a', 'total', '_total', 'x_total', '9lives', '0', 'a.b', 'a_b', 'a..b', 'a-b', 'A/B c',
  'le', 'otel_scope_name', 'quote"d', 'back\\slash', '\\', '\\n', 'new\nline', '\n', '"', '\\"', 'tab\there',
  'trailing ', ' leading', 'ünïcödé', 'emoji 🚀', '\u2028', 'nul\u0000', 'constructor', '__proto__', 'toString',
  '{brace}', 'eq=sign', 'comma,sep',
];
const NUMBERS = [0, -0, 1, -1, 42, 0.1, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity];

function generatedCollection(next: () => number): ResourceMetrics {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const value = (): AttributeValue | undefined => {
    switch (Math.floor(next() * 6)) {
      case 0:
        return pick(NUMBERS);
      case 1:
        return next() < 0.5;
      case 2:
        return [pick(NASTY), pick(NASTY)];
      case 3:
        return [pick(NUMBERS), undefined as unknown as number];
      case 4:
        return undefined;
      default:
        return pick(NASTY) + pick(NASTY);
    }
  };
  const attributes = (): Attributes => {
    const out: Attributes = {};
    for (let i = Math.floor(next() * 5); i > 0; i--) out[pick(NASTY) + (next() < 0.3 ? pick(NASTY) : '')] = value();
    return out;
  };
  const time: [number, number] = [1_700_000_000, 0];
  const points = <V>(make: () => V): DataPoint<V>[] =>
    Array.from({ length: Math.floor(next() * 4) }, () => ({ startTime: time, endTime: time, attributes: attributes(), value: make() }));
  const histogram = () => {
    const boundaries = [0.5, 1, 10].slice(0, Math.floor(next() * 4));
    if (next() < 0.3) boundaries.push(Infinity);
    const counts = Array.from({ length: boundaries.length + (next() < 0.8 ? 1 : 0) }, () => Math.floor(next() * 5));
    return { buckets: { boundaries, counts }, count: pick(NUMBERS), sum: next() < 0.2 ? undefined : pick(NUMBERS), min: 0, max: 1 };
  };
  const metric = (): MetricData => {
    const descriptor = {
      name: pick(NASTY) + pick(['', '.', '_']) + pick(NASTY),
      description: next() < 0.2 ? '' : pick(NASTY) + pick(NASTY),
      unit: next() < 0.5 ? '' : pick(['By', 's', '{event}', ...NASTY]),
      valueType: ValueType.DOUBLE,
    };
    const aggregationTemporality = AggregationTemporality.CUMULATIVE;
    switch (Math.floor(next() * 5)) {
      case 0:
        return { descriptor, aggregationTemporality, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: points(() => pick(NUMBERS)) };
      case 1:
        return { descriptor, aggregationTemporality, dataPointType: DataPointType.SUM, isMonotonic: false, dataPoints: points(() => pick(NUMBERS)) };
      case 2:
        return { descriptor, aggregationTemporality, dataPointType: DataPointType.GAUGE, dataPoints: points(() => pick(NUMBERS)) };
      case 3:
        return { descriptor, aggregationTemporality, dataPointType: DataPointType.HISTOGRAM, dataPoints: points(histogram) };
      default:
        return {
          descriptor,
          aggregationTemporality,
          dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
          dataPoints: points(() => ({
            count: 1, sum: 1, scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [1] }, negative: { offset: 0, bucketCounts: [] },
          })),
        };
    }
  };
  return {
    resource: resourceFromAttributes(next() < 0.2 ? {} : attributes()),
    scopeMetrics: Array.from({ length: Math.floor(next() * 3) }, () => ({
      scope: { name: pick(NASTY), version: next() < 0.5 ? pick(NASTY) : undefined },
      metrics: Array.from({ length: Math.floor(next() * 5) }, metric),
    })),
  };
}

test('writes the OTel serializer\'s bytes for generated collections, nasty strings included, cold and cached', () => {
  const next = random(20261124);
  const text = new PrometheusTextSerializer();
  for (let i = 0; i < 500; i++) {
    const input = generatedCollection(next);
    for (const withoutTargetInfo of [false, true]) {
      const expected = otel(withoutTargetInfo).serialize(input);
      assert.equal(new PrometheusTextSerializer().serialize(input, { withoutTargetInfo }), expected, `collection ${i}`);
      // Twice through one serializer: the second render is served from its cache.
      assert.equal(text.serialize(input, { withoutTargetInfo }), expected, `collection ${i}, first`);
      assert.equal(text.serialize(input, { withoutTargetInfo }), expected, `collection ${i}, cached`);
    }
  }
});

test('writes the OTel serializer\'s bytes for what the view makes of generated collections', () => {
  const next = random(7);
  for (const withoutScopeLabels of [false, true]) {
    const builder = new PrometheusViewBuilder({ withoutScopeLabels });
    const text = new PrometheusTextSerializer();
    for (let i = 0; i < 300; i++) {
      const input = generatedCollection(next);
      for (let scrape = 0; scrape < 2; scrape++) {
        const { resourceMetrics } = builder.build(input);
        assert.equal(text.serialize(resourceMetrics), otel(false).serialize(resourceMetrics), `collection ${i}, scrape ${scrape}`);
      }
    }
  }
});

test('an empty collection is "# no registered metrics", after target_info unless left out', () => {
  const empty: ResourceMetrics = { resource: resourceFromAttributes({}), scopeMetrics: [] };
  assert.equal(new PrometheusTextSerializer().serialize(empty), '# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info 1\n# no registered metrics');
  assert.equal(new PrometheusTextSerializer().serialize(empty, { withoutTargetInfo: true }), '# no registered metrics');
});

function counter(points: Array<[Attributes, number]>): ResourceMetrics {
  const time: [number, number] = [1_700_000_000, 0];
  return {
    resource: resourceFromAttributes({}),
    scopeMetrics: [
      {
        scope: { name: 'sockscope', version: '1.0' },
        metrics: [
          {
            descriptor: { name: 'jobs', description: 'Jobs.', unit: '', valueType: ValueType.INT },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: points.map(([attributes, value]) => ({ startTime: time, endTime: time, attributes, value })),
          },
        ],
      },
    ],
  };
}

test('a series that gets a new attributes object gets new text, with or without scope labels', () => {
  for (const withoutScopeLabels of [true, false]) {
    const builder = new PrometheusViewBuilder({ withoutScopeLabels });
    const text = new PrometheusTextSerializer();
    const render = (input: ResourceMetrics) => text.serialize(builder.build(input).resourceMetrics, { withoutTargetInfo: true });
    const scope = withoutScopeLabels ? '' : ',otel_scope_name="sockscope",otel_scope_version="1.0"';
    const stays = { queue: 'stays' };
    assert.match(render(counter([[stays, 1], [{ queue: 'old' }, 2]])), new RegExp(`^jobs_total\\{queue="old"${scope}\\} 2$`, 'm'));
    const second = render(counter([[stays, 3], [{ queue: 'new', 'queue.kind': 'x' }, 4]]));
    assert.doesNotMatch(second, /old/);
    assert.match(second, new RegExp(`^jobs_total\\{queue="new",queue_kind="x"${scope}\\} 4$`, 'm'));
    assert.match(second, new RegExp(`^jobs_total\\{queue="stays"${scope}\\} 3$`, 'm'));
    // A key that now collides with another after renaming: merged, not served from the cache.
    const third = render(counter([[stays, 5], [{ queue: 'a', 'queue.kind': 'b', queue_kind: 'c' }, 6]]));
    assert.match(third, new RegExp(`^jobs_total\\{queue="a",queue_kind="b;c"${scope}\\} 6$`, 'm'));
  }
});

test('the same attributes object under another scope gets that scope\'s labels', () => {
  const builder = new PrometheusViewBuilder();
  const text = new PrometheusTextSerializer();
  const shared = { queue: 'q' };
  const first = counter([[shared, 1]]);
  const second = counter([[shared, 1]]);
  second.scopeMetrics[0]!.scope = { name: 'other' };
  assert.match(text.serialize(builder.build(first).resourceMetrics), /jobs_total\{queue="q",otel_scope_name="sockscope",otel_scope_version="1.0"\} 1/);
  assert.match(text.serialize(builder.build(second).resourceMetrics), /jobs_total\{queue="q",otel_scope_name="other"\} 1/);
});

function flow(comm: string): FlowDelta {
  return {
    tgid: 1, comm, threadName: comm, netns: 4026531840, cgroupId: 0n, family: 'ipv4', transport: 'udp', localAddress: '127.0.0.1', localPort: 40000,
    remoteAddress: '127.0.0.1', remotePort: 53, txBytes: 10, rxBytes: 0, txMessages: 1, rxMessages: 0, srttMicros: 0,
  };
}

function collectGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

test('an expired series leaves the exposition, and the caches do not keep it alive', async () => {
  const gc = collectGc();
  const clock = { ms: 1_000_000 };
  let pending: FlowDelta[] = [flow('gone'), flow('stays')];
  const producer = new SockscopeProducer(
    { drainInto: async (visit: (f: FlowDelta) => void) => [pending, (pending = [])][0]!.forEach((f) => visit(f)), stats: () => NO_COLLECTOR_STATS },
    NO_CONNECTIONS,
    {
      buildInfo: { version: 'test', nodeVersion: '20' },
      plan: { hooks: [] } as unknown as AttachPlan,
      limits: { maxSeries: 100, ttlMs: 60_000 },
      serverPorts: new ServerPorts({ low: 32768, high: 60999 }),
      now: () => clock.ms,
    },
  );
  const builder = new PrometheusViewBuilder({ withoutScopeLabels: true });
  const text = new PrometheusTextSerializer();
  const scrape = async () => {
    const { resourceMetrics } = await producer.collect();
    const view = builder.build(resourceMetrics);
    const io = (points: ReadonlyArray<DataPoint<unknown>>) => points.find((p) => p.attributes['process.executable.name'] === 'gone' || p.attributes.process_executable_name === 'gone');
    const source = io(resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === NETWORK_IO.name)!.dataPoints);
    const labels = io(view.resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === NETWORK_IO.prometheusName)!.dataPoints);
    return { body: text.serialize(view.resourceMetrics), source: source?.attributes, labels: labels?.attributes };
  };

  // Refs are made in a function of their own, so no local of this test holds the objects.
  const refs = await (async () => {
    const first = await scrape();
    const again = await scrape();
    assert.match(first.body, /process_executable_name="gone"/);
    // What the caches rely on: a series is handed out as the same objects on every scrape.
    assert.ok(first.source !== undefined && first.source === again.source, 'the producer keeps a series\' attributes object');
    assert.ok(first.labels !== undefined && first.labels === again.labels, 'the view keeps a series\' labels object');
    return { source: new WeakRef(first.source), labels: new WeakRef(first.labels) };
  })();

  clock.ms += 61_000;
  pending = [flow('stays')];
  const after = await scrape();
  assert.equal(after.source, undefined);
  assert.doesNotMatch(after.body, /"gone"/);
  assert.match(after.body, /process_executable_name="stays"/);

  for (let i = 0; i < 5 && (refs.source.deref() !== undefined || refs.labels.deref() !== undefined); i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  assert.equal(refs.source.deref(), undefined, 'the expired series\' attributes were collected');
  assert.equal(refs.labels.deref(), undefined, 'the expired series\' labels (and their cached text) were collected');
  // The builder and serializer are still in use, so nothing above was freed by their going away.
  assert.match(text.serialize(builder.build((await producer.collect()).resourceMetrics).resourceMetrics), /"stays"/);
});
