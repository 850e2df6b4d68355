import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValueType } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  prometheusLabelName,
  prometheusMetricName,
  prometheusName,
  toPrometheusLabels,
  toPrometheusView,
} from '../../src/export/prometheus-names';
import type { OtelPointKind } from '../../src/export/prometheus-names';

const NAME_TABLE: Array<[name: string, unit: string, kind: OtelPointKind, expected: string]> = [
  // sockscope's own instruments
  ['sockscope.network.io', 'By', 'monotonic_sum', 'sockscope_network_io_bytes_total'],
  ['sockscope.ebpf.events.lost', '{event}', 'monotonic_sum', 'sockscope_ebpf_events_lost_total'],
  ['sockscope.build.info', '', 'gauge', 'sockscope_build_info'],
  // unit words
  ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
  ['rpc.latency', 'ms', 'histogram', 'rpc_latency_milliseconds'],
  ['t', 'us', 'gauge', 't_microseconds'],
  ['t', 'ns', 'gauge', 't_nanoseconds'],
  ['t', 'min', 'gauge', 't_minutes'],
  ['t', 'h', 'gauge', 't_hours'],
  ['t', 'd', 'gauge', 't_days'],
  ['mem', 'KiBy', 'gauge', 'mem_kibibytes'],
  ['mem', 'MiBy', 'gauge', 'mem_mebibytes'],
  ['mem', 'GiBy', 'gauge', 'mem_gibibytes'],
  ['mem', 'TiBy', 'gauge', 'mem_tibibytes'],
  ['mem', 'KBy', 'gauge', 'mem_kilobytes'],
  ['mem', 'MBy', 'gauge', 'mem_megabytes'],
  ['mem', 'GBy', 'gauge', 'mem_gigabytes'],
  ['mem', 'TBy', 'gauge', 'mem_terabytes'],
  ['distance', 'm', 'gauge', 'distance_meters'],
  ['supply', 'V', 'gauge', 'supply_volts'],
  ['supply', 'A', 'gauge', 'supply_amperes'],
  ['energy', 'J', 'monotonic_sum', 'energy_joules_total'],
  ['power', 'W', 'gauge', 'power_watts'],
  ['mass', 'g', 'gauge', 'mass_grams'],
  ['cpu.temperature', 'Cel', 'gauge', 'cpu_temperature_celsius'],
  ['cpu.frequency', 'Hz', 'gauge', 'cpu_frequency_hertz'],
  ['cpu.load', '%', 'gauge', 'cpu_load_percent'],
  // `1` is a ratio for gauges only
  ['system.cpu.utilization', '1', 'gauge', 'system_cpu_utilization_ratio'],
  ['cache.hit.ratio', '1', 'gauge', 'cache_hit_ratio'],
  ['system.cpu.utilization', '1', 'non_monotonic_sum', 'system_cpu_utilization'],
  ['requests', '1', 'monotonic_sum', 'requests_total'],
  ['sizes', '1', 'histogram', 'sizes'],
  // annotations are dropped, alone or around a unit
  ['packets', '{packet}', 'non_monotonic_sum', 'packets'],
  ['payload', 'By{compressed}', 'monotonic_sum', 'payload_bytes_total'],
  ['payload', '{compressed}By', 'monotonic_sum', 'payload_bytes_total'],
  // foo/bar -> foo_per_bar
  ['network.throughput', 'By/s', 'gauge', 'network_throughput_bytes_per_second'],
  ['speed', 'm/s', 'gauge', 'speed_meters_per_second'],
  ['packet.rate', '{packet}/s', 'gauge', 'packet_rate_per_second'],
  ['event.rate', '1/s', 'gauge', 'event_rate_per_second'],
  ['growth', 'By/mo', 'gauge', 'growth_bytes_per_month'],
  ['items', 'item/batch', 'gauge', 'items_item_per_batch'],
  // unknown units are sanitized and appended
  ['queue.depth', 'packets', 'gauge', 'queue_depth_packets'],
  ['odd', 'a.b', 'gauge', 'odd_a_b'],
  ['odd', 'constructor', 'gauge', 'odd_constructor'],
  ['odd', 'By/toString', 'gauge', 'odd_bytes_per_toString'],
  // the unit is not appended twice; `_total` goes after the unit
  ['sockscope.network.io.bytes', 'By', 'monotonic_sum', 'sockscope_network_io_bytes_total'],
  ['sockscope.network.io.total', 'By', 'monotonic_sum', 'sockscope_network_io_bytes_total'],
  ['sockscope.network.io.bytes.total', 'By', 'monotonic_sum', 'sockscope_network_io_bytes_total'],
  ['network.throughput.bytes_per_second', 'By/s', 'gauge', 'network_throughput_bytes_per_second'],
  // ...but a unit that is not a suffix is (OpenMetrics: the unit must be a suffix)
  ['bytes.in.flight', 'By', 'gauge', 'bytes_in_flight_bytes'],
  // only monotonic sums are counters
  ['sockscope.network.io', 'By', 'non_monotonic_sum', 'sockscope_network_io_bytes'],
  ['queue.total', '', 'gauge', 'queue_total'],
  ['jobs_total', '', 'monotonic_sum', 'jobs_total'],
  // sanitization: invalid characters -> `_`, runs collapse, no leading/trailing `_`, case kept
  ['my-app/requests..count', '', 'gauge', 'my_app_requests_count'],
  ['_leading.and.trailing_', '', 'gauge', 'leading_and_trailing'],
  ['HTTP.Requests', '', 'gauge', 'HTTP_Requests'],
  ['9lives', '', 'gauge', '_9lives'],
  ['...', 'By', 'gauge', ''],
  // surrounding whitespace in the unit is ignored
  ['io', ' By ', 'monotonic_sum', 'io_bytes_total'],
];

test('prometheusMetricName follows the OTel -> Prometheus naming table', () => {
  for (const [name, unit, kind, expected] of NAME_TABLE) {
    assert.equal(prometheusMetricName(name, unit, kind), expected, `${name} [${unit}] ${kind}`);
  }
});

test('prometheusName maps instrument kinds to point kinds', () => {
  assert.equal(prometheusName('sockscope.network.io', 'By', 'counter'), 'sockscope_network_io_bytes_total');
  assert.equal(prometheusName('sockscope.network.io', 'By', 'updowncounter'), 'sockscope_network_io_bytes');
  assert.equal(prometheusName('sockscope.cpu.utilization', '1', 'gauge'), 'sockscope_cpu_utilization_ratio');
  assert.equal(prometheusName('sockscope.drain.duration', 's', 'histogram'), 'sockscope_drain_duration_seconds');
});

test('prometheusLabelName sanitizes attribute keys', () => {
  assert.equal(prometheusLabelName('network.io.direction'), 'network_io_direction');
  assert.equal(prometheusLabelName('a..b'), 'a_b');
  assert.equal(prometheusLabelName('__reserved'), '_reserved');
  assert.equal(prometheusLabelName('1st'), 'key_1st');
  assert.equal(prometheusLabelName('camelCase'), 'camelCase');
  assert.equal(prometheusLabelName(''), '');
});

test('toPrometheusLabels joins colliding keys with ";" in the original keys\' order', () => {
  assert.deepEqual(toPrometheusLabels({ 'a_b': 'second', 'a.b': 'first', other: 7 }), {
    a_b: 'first;second',
    other: 7,
  });
  assert.deepEqual(toPrometheusLabels({ 'x.y': 1, 'x-y': true }), { x_y: 'true;1' });
  assert.deepEqual(toPrometheusLabels({ '': 'dropped', k: 'v' }), { k: 'v' });
});

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

test('toPrometheusView renames, merges families across scopes and bakes in scope labels', () => {
  const input = collection();
  const before = JSON.stringify(input.scopeMetrics);
  const { resourceMetrics, warnings } = toPrometheusView(input);
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
  const { resourceMetrics } = toPrometheusView(collection());
  const text = new PrometheusSerializer(undefined, false, undefined, false, true).serialize(resourceMetrics);
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

test('toPrometheusView can leave out scope labels', () => {
  const { resourceMetrics } = toPrometheusView(collection(), { withoutScopeLabels: true });
  assert.deepEqual(resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints.map((p) => p.attributes), [
    { network_transport: 'tcp', process_executable_name: 'curl' },
    { network_transport: 'udp' },
  ]);
});

test('toPrometheusView drops what would make the exposition invalid, with a warning each', () => {
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
  const { resourceMetrics, warnings } = toPrometheusView(input);
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
  const { resourceMetrics, warnings } = toPrometheusView({ resource: resourceFromAttributes({}), scopeMetrics: [] });
  assert.deepEqual(resourceMetrics.scopeMetrics, []);
  assert.deepEqual(warnings, []);
});
