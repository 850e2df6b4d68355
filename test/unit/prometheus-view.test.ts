import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValueType } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusTextSerializer } from '../../src/export/prometheus-text';
import { PrometheusViewBuilder, type PrometheusViewOptions } from '../../src/export/prometheus-view';

function buildView(input: ResourceMetrics, options: PrometheusViewOptions = {}) {
  return new PrometheusViewBuilder(options).build(input);
}

const TIME: [number, number] = [1_700_000_000, 0];

function sum(name: string, unit: string, isMonotonic: boolean, points: Array<[Attributes, number]>, description = ''): MetricData {
  return {
    descriptor: { name, description, unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic,
    dataPoints: points.map(([attributes, value]) => ({ startTime: TIME, endTime: TIME, attributes, value })),
  };
}

function gauge(name: string, unit: string, points: Array<[Attributes, number]>): MetricData {
  return {
    descriptor: { name, description: '', unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points.map(([attributes, value]) => ({ startTime: TIME, endTime: TIME, attributes, value })),
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function collection(): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': 'sockscope', 'host.name': 'node-1' }),
    scopeMetrics: deepFreeze([
      {
        scope: { name: 'sockscope', version: '0.1.0' },
        metrics: [
          sum('sockscope.network.io', 'By', true, [[{ 'network.transport': 'tcp', 'process.executable.name': 'curl' }, 1500]], 'Bytes moved'),
          gauge('sockscope.build.info', '', [[{ version: '0.1.0' }, 1]]),
        ],
      },
      {
        // A second meter with the same instrument must not produce a second family.
        scope: { name: 'sockscope.extra' },
        metrics: [sum('sockscope.network.io', 'By', true, [[{ 'network.transport': 'udp' }, 20]], 'Other description')],
      },
    ]),
  };
}

test('the view renames, merges families across scopes and bakes in scope labels', () => {
  const input = collection();
  const before = JSON.stringify(input.scopeMetrics);
  const { resourceMetrics, warnings } = buildView(input);
  assert.deepEqual(warnings, []);
  assert.equal(JSON.stringify(input.scopeMetrics), before, 'input must not change');

  assert.equal(resourceMetrics.scopeMetrics.length, 1);
  const metrics = resourceMetrics.scopeMetrics[0]?.metrics ?? [];
  assert.deepEqual(
    metrics.map((m) => [m.descriptor.name, m.descriptor.unit, m.descriptor.description]),
    [
      ['sockscope_network_io_bytes_total', '', 'Bytes moved'],
      ['sockscope_build_info', '', ''],
    ],
  );
  assert.deepEqual(
    metrics[0]?.dataPoints.map((p) => p.attributes),
    [
      { network_transport: 'tcp', process_executable_name: 'curl', otel_scope_name: 'sockscope', otel_scope_version: '0.1.0' },
      { network_transport: 'udp', otel_scope_name: 'sockscope.extra' },
    ],
  );
  assert.deepEqual(resourceMetrics.resource.attributes, { service_name: 'sockscope', host_name: 'node-1' });
});

test('the view serializes to the documented exposition without # UNIT lines', () => {
  const { resourceMetrics } = buildView(collection());
  const text = new PrometheusTextSerializer().serialize(resourceMetrics);
  assert.equal(
    text,
    [
      '# HELP target_info Target metadata',
      '# TYPE target_info gauge',
      'target_info{service_name="sockscope",host_name="node-1"} 1',
      '# HELP sockscope_network_io_bytes_total Bytes moved',
      '# TYPE sockscope_network_io_bytes_total counter',
      'sockscope_network_io_bytes_total{network_transport="tcp",process_executable_name="curl",otel_scope_name="sockscope",otel_scope_version="0.1.0"} 1500',
      'sockscope_network_io_bytes_total{network_transport="udp",otel_scope_name="sockscope.extra"} 20',
      '# HELP sockscope_build_info description missing',
      '# TYPE sockscope_build_info gauge',
      'sockscope_build_info{version="0.1.0",otel_scope_name="sockscope",otel_scope_version="0.1.0"} 1',
      '',
    ].join('\n'),
  );
});

test('the view can leave out scope labels', () => {
  const { resourceMetrics } = buildView(collection(), { withoutScopeLabels: true });
  assert.deepEqual(resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints.map((p) => p.attributes), [
    { network_transport: 'tcp', process_executable_name: 'curl' },
    { network_transport: 'udp' },
  ]);
});

test('the view drops what would make the exposition invalid, with a warning each', () => {
  const exponential: MetricData = {
    descriptor: { name: 'latency', description: '', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
    dataPoints: [],
  };
  const delta: MetricData = { ...sum('deltas', '', true, [[{}, 1]]), aggregationTemporality: AggregationTemporality.DELTA };
  const input: ResourceMetrics = {
    resource: resourceFromAttributes({}),
    scopeMetrics: deepFreeze([
      {
        scope: { name: 's' },
        metrics: [
          sum('jobs', '', true, [[{ queue: 'a' }, 1]]),
          // Same Prometheus name, other type: the whole metric goes.
          sum('jobs.total', '', false, [[{ queue: 'b' }, 2]]),
          // Same name and type, a series that already exists: only the repeat goes.
          sum('jobs', '', true, [[{ queue: 'a' }, 3], [{ queue: 'c' }, 4]], 'registered twice'),
          exponential,
          delta,
          gauge('...', '', [[{}, 1]]),
        ],
      },
    ]),
  };
  const { resourceMetrics, warnings } = buildView(input);
  assert.deepEqual(warnings, [
    'metric "jobs.total" maps to "jobs_total" as a gauge, which is already a counter; dropped',
    'metric "jobs" repeats 1 series of "jobs_total"; dropped the repeats',
    'metric "latency" is an exponential histogram, which the text format cannot carry; dropped',
    'metric "deltas" has delta temporality; Prometheus needs cumulative; dropped',
    'metric "..." has no valid Prometheus name; dropped',
  ]);
  const metrics = resourceMetrics.scopeMetrics[0]?.metrics ?? [];
  assert.equal(metrics.length, 1);
  assert.deepEqual(
    metrics[0]?.dataPoints.map((p) => [p.attributes, p.value]),
    [
      [{ queue: 'a', otel_scope_name: 's' }, 1],
      [{ queue: 'c', otel_scope_name: 's' }, 4],
    ],
  );
});

test('an empty collection yields no scopes', () => {
  const { resourceMetrics, warnings } = buildView({ resource: resourceFromAttributes({}), scopeMetrics: [] });
  assert.deepEqual(resourceMetrics.scopeMetrics, []);
  assert.deepEqual(warnings, []);
});

test('series that renaming makes equal within one metric are dropped, with a warning, on every scrape', () => {
  const input: ResourceMetrics = {
    resource: resourceFromAttributes({}),
    scopeMetrics: deepFreeze([
      {
        scope: { name: 's' },
        metrics: [
          // Two keys that become one label name, in different points.
          gauge('renamed', '', [[{ 'a.b': 'x' }, 1], [{ a_b: 'x' }, 2], [{ a_b: 'y' }, 3]]),
          // Two keys that become one label name in one point: their values are joined.
          gauge('joined', '', [[{ 'q.r': 'x', q_r: 'y' }, 1], [{ q_r: 'x;y' }, 2]]),
          // An attribute named like a scope label is overridden by it.
          gauge('scoped', '', [[{ otel_scope_name: 'mine', k: 'v' }, 1], [{ otel_scope_name: 'yours', k: 'v' }, 2]]),
          // A key with no valid label name is dropped.
          gauge('dropped', '', [[{}, 1], [{ '': 'x' }, 2]]),
        ],
      },
    ]),
  };
  const builder = new PrometheusViewBuilder();
  for (let scrape = 0; scrape < 2; scrape++) {
    const { resourceMetrics, warnings } = builder.build(input);
    assert.deepEqual(warnings, [
      'metric "renamed" repeats 1 series of "renamed"; dropped the repeats',
      'metric "joined" repeats 1 series of "joined"; dropped the repeats',
      'metric "scoped" repeats 1 series of "scoped"; dropped the repeats',
      'metric "dropped" repeats 1 series of "dropped"; dropped the repeats',
    ]);
    assert.deepEqual(
      resourceMetrics.scopeMetrics[0]?.metrics.map((m) => m.dataPoints.map((p) => [p.attributes, p.value])),
      [
        [[{ a_b: 'x', otel_scope_name: 's' }, 1], [{ a_b: 'y', otel_scope_name: 's' }, 3]],
        [[{ q_r: 'x;y', otel_scope_name: 's' }, 1]],
        [[{ otel_scope_name: 's', k: 'v' }, 1]],
        [[{ otel_scope_name: 's' }, 1]],
      ],
    );
  }
});

test('a point whose only key has no valid label name repeats the point without attributes', () => {
  const input: ResourceMetrics = {
    resource: resourceFromAttributes({}),
    scopeMetrics: deepFreeze([{ scope: { name: 's' }, metrics: [gauge('g', '', [[{}, 1], [{ '': 'x' }, 2]])] }]),
  };
  const { resourceMetrics, warnings } = new PrometheusViewBuilder({ withoutScopeLabels: true }).build(input);
  assert.deepEqual(warnings, ['metric "g" repeats 1 series of "g"; dropped the repeats']);
  assert.deepEqual(resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints.map((p) => [p.attributes, p.value]), [[{}, 1]]);
});
