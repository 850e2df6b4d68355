import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExponentialHistogramState, lowerBound } from '../../src/metrics/exponential-histogram';

test('every value lands in the bucket (base^i, base^(i+1)] of its final scale', () => {
  const h = new ExponentialHistogramState();
  const values = [0.00001, 0.000013, 0.0002, 0.003, 0.05, 0.7, 1, 2, 3.5, 120];
  for (const v of values) h.record(v);
  assert.equal(h.count, values.length);
  assert.ok(h.counts.length <= 160, `${h.counts.length} buckets`);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), values.length);
  // Re-derive each value's bucket at the final scale and check its bounds.
  for (const v of values) {
    const i = Math.ceil(Math.log2(v) * 2 ** h.scale) - 1;
    assert.ok(lowerBound(i, h.scale) < v * (1 + 1e-12) && v <= lowerBound(i + 1, h.scale) * (1 + 1e-12), `${v} at scale ${h.scale}`);
    assert.ok(h.counts[i - h.offset]! > 0, `bucket of ${v} is counted`);
  }
  assert.equal(h.min, 0.00001);
  assert.equal(h.max, 120);
});

test('a narrow range keeps a fine scale; a wide one downscales to fit 160 buckets', () => {
  const narrow = new ExponentialHistogramState();
  for (const v of [1.0001, 1.0002, 1.0003]) narrow.record(v);
  const wide = new ExponentialHistogramState();
  for (const v of [1e-5, 1e3]) wide.record(v);
  assert.ok(narrow.scale > wide.scale);
  assert.ok(wide.counts.length <= 160);
  // 1e-5 .. 1e3 spans ~26.6 powers of two: 160 buckets allow scale 2 (4 per power).
  assert.equal(wide.scale, 2);
});

test('zeros go to the zero bucket', () => {
  const h = new ExponentialHistogramState();
  h.record(0);
  h.record(0.5);
  assert.equal(h.zeroCount, 1);
  assert.equal(h.count, 2);
});
