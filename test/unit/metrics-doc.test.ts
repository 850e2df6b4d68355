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
