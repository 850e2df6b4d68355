import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CountStore, OVERFLOW_ATTRIBUTES, seriesKey } from '../../src/metrics/series-store';
import { HistogramStore } from '../../src/metrics/explicit-histogram';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('at most maxSeries series: new attribute sets fold into one overflow series and every fold is counted', () => {
  const store = new CountStore({ maxSeries: 3, ttlMs: 60_000 });
  for (let i = 0; i < 10; i++) store.add({ 'process.executable.name': `p${i}` }, 1);
  store.add({ 'process.executable.name': 'p0' }, 5); // existing series still update
  assert.equal(store.size, 3); // 2 + the overflow series, as the SDK's cardinality limit counts
  assert.equal(store.folded, 8);
  assert.equal(store.get(OVERFLOW_ATTRIBUTES), 8);
  assert.equal(store.get({ 'process.executable.name': 'p0' }), 6);
});

test('a series idle for the TTL is dropped at the next sweep; a busy one stays', () => {
  const c = clock();
  const store = new CountStore({ maxSeries: 100, ttlMs: 1000 }, { now: c.now });
  store.add({ p: 'exited' }, 1);
  store.add({ p: 'busy' }, 1);
  c.t += 600;
  store.add({ p: 'busy' }, 1);
  c.t += 600;
  store.sweep();
  assert.deepEqual([...store.entries()].map((e) => e.attributes), [{ p: 'busy' }]);
  assert.equal(store.expired, 1);
});

test('a live up-down series (non-zero) survives the TTL; at zero it expires', () => {
  const c = clock();
  const active = new CountStore({ maxSeries: 100, ttlMs: 1000 }, { keepWhileNonZero: true, now: c.now });
  active.add({ p: 'long-lived' }, 1);
  active.add({ p: 'gone' }, 1);
  active.add({ p: 'gone' }, -1);
  c.t += 5000;
  active.sweep();
  assert.deepEqual([...active.entries()].map((e) => [e.attributes, e.value.value]), [[{ p: 'long-lived' }, 1]]);
});

test('attribute order does not make a different series', () => {
  const store = new CountStore({ maxSeries: 10, ttlMs: 1000 });
  store.add({ a: 1, b: 2 }, 1);
  store.add({ b: 2, a: 1 }, 1);
  assert.equal(store.size, 1);
  assert.equal(store.get({ b: 2, a: 1 }), 2);
});

test('a re-created series starts again: new start time after expiry', () => {
  const c = clock();
  const store = new CountStore({ maxSeries: 10, ttlMs: 1000 }, { now: c.now });
  store.add({ p: 'x' }, 3);
  const first = [...store.entries()][0]!.startTime;
  c.t += 2000;
  store.sweep();
  store.add({ p: 'x' }, 1);
  const again = [...store.entries()][0]!;
  assert.equal(again.value.value, 1);
  assert.notDeepEqual(again.startTime, first === again.startTime ? undefined : first);
});

test('histogram buckets are upper-inclusive and track sum, count, min, max', () => {
  const store = new HistogramStore({ maxSeries: 10, ttlMs: 1000 }, [0.001, 0.01, 0.1]);
  for (const v of [0.0005, 0.001, 0.002, 0.1, 5]) store.record({ p: 'x' }, v);
  const h = [...store.entries()][0]!.value;
  assert.deepEqual(h.counts, [2, 1, 1, 1]);
  assert.equal(h.count, 5);
  assert.equal(h.min, 0.0005);
  assert.equal(h.max, 5);
  assert.ok(Math.abs(h.sum - 5.1035) < 1e-12);
});

test('touch finds an existing series by key and marks it updated; an unknown key creates nothing', () => {
  const c = clock();
  const store = new CountStore({ maxSeries: 100, ttlMs: 1000 }, { now: c.now });
  store.add({ p: 'a' }, 1);
  c.t += 900;
  assert.equal(store.touch(seriesKey({ p: 'b' })), undefined);
  assert.equal(store.size, 1);
  store.touch(seriesKey({ p: 'a' }))!.value.value += 2;
  c.t += 900; // 1800 ms after the add, 900 after the touch
  store.sweep();
  assert.equal(store.get({ p: 'a' }), 3);
});
