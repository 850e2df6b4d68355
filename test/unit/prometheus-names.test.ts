import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  prometheusLabelName,
  prometheusMetricName,
  prometheusName,
  toPrometheusLabels,
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
