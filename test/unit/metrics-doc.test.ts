import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/collector/native-addon';
import { METRICS } from '../../src/metrics/definitions';
import { renderMetricsDoc } from '../../src/metrics/metrics-doc';
import { prometheusName } from '../../src/export/prometheus-names';

test('docs/metrics.md is what the metric definitions render to (run `npm run docs`)', () => {
  const onDisk = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'metrics.md'), 'utf8');
  assert.equal(onDisk, renderMetricsDoc(METRICS));
});

test('every documented Prometheus name is what the exporter derives from the OTel name and unit', () => {
  for (const m of METRICS) {
    const derived = prometheusName(m.name, m.unit, m.kind === 'counter' ? 'counter' : 'gauge');
    assert.equal(derived, m.prometheusName, m.name);
  }
});

// ebpf/io.bpf.c reads the srtt in fill_flow(), which runs only at a flow's first call on a CPU
// in a drain interval: the contract must say so (it once said "last", which no code did).
test('the RTT description names the call whose srtt the kernel reads: the first of the interval', () => {
  const rtt = METRICS.find((m) => m.prometheusName === 'sockscope_tcp_rtt_seconds')!;
  assert.match(rtt.description, /\bfirst send or receive\b/);
  assert.doesNotMatch(rtt.description, /\blast send or receive\b/);
  const io = readFileSync(path.join(PACKAGE_ROOT, 'ebpf', 'io.bpf.c'), 'utf8');
  const fillFlow = /static __always_inline void fill_flow\([^]*?\n}\n/.exec(io)?.[0] ?? '';
  assert.match(fillFlow, /ss_srtt_us\(sk\)/, 'fill_flow() reads the srtt');
  assert.equal(io.split('ss_srtt_us(').length - 1, 1, 'and nothing else in io.bpf.c does');
});
