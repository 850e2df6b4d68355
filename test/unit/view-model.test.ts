import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as defs from '../../src/metrics/definitions';
import { FakeCollection, T0, io } from '../helpers/fake-collection';
import { ViewModel } from '../../src/view/view-model';
import { bucketQuantile } from '../../src/view/percentile';

function model(fake: FakeCollection, clock: { t: number }, options: { historySeconds?: number; maxRowSamples?: number } = {}) {
  return new ViewModel({
    collect: async () => fake.result(),
    plan: { hooks: [{ hook: 'sendmsg', required: true, chosen: 'tp_btf' }, { hook: 'retransmit', required: false }] },
    version: '9.9.9',
    kernel: '6.1.0-test',
    hostname: 'node-1',
    now: () => clock.t,
    ...options,
  });
}


function rttCounts(bucket: number, n: number): number[] {
  const counts = new Array<number>(defs.RTT_BUCKETS.length + 1).fill(0);
  counts[bucket] = n;
  return counts;
}

test('rows sum the series of a process; totals and losses are what the collection says; the first sample has window 0', async () => {
  const fake = new FakeCollection();
  const clock = { t: T0 };
  fake.io.set(io('nginx', 'transmit', { [defs.ATTR_TRANSPORT]: 'tcp' }), 1000);
  fake.io.set(io('nginx', 'transmit', { [defs.ATTR_TRANSPORT]: 'udp' }), 500);
  fake.io.set(io('nginx', 'receive'), 200);
  fake.io.set(io('curl', 'receive'), 7000);
  fake.io.set({ 'otel.metric.overflow': true, [defs.ATTR_DIRECTION]: 'transmit' }, 3);
  fake.active.set({ [defs.ATTR_EXECUTABLE]: 'nginx' }, 4);
  fake.rtt.set({ [defs.ATTR_EXECUTABLE]: 'nginx' }, rttCounts(3, 10));
  fake.losses.push([defs.EVENTS_LOST, 2], [defs.EVENTS_MISSED, 5, { [defs.ATTR_HOOK]: 'a' }], [defs.MAP_FULL, 1, { [defs.ATTR_MAP]: 'm' }]);
  const view = model(fake, clock);
  await view.sample();
  const s = view.snapshot({ groupBy: 'process' });
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.time, new Date(T0).toISOString());
  assert.equal(s.windowSeconds, 0);
  assert.deepEqual(s.sockscope, { version: '9.9.9', kernel: '6.1.0-test', hostname: 'node-1' });
  assert.equal(s.plan.summary, '1/2 hooks attached: sendmsg=tp_btf, retransmit=none');
  assert.deepEqual(s.plan.hooks[1], { hook: 'retransmit', implementation: null, required: false });
  assert.deepEqual(s.losses, {
    eventsLost: 2, eventsMissed: 5, ioSpilled: 0, ioCacheEvictions: 0, flowMapErrors: 0,
    recordsMalformed: 0, mapFull: 1, seriesOverflow: 0, eventStreamDropped: 0,
  });
  assert.equal(s.totals.txBytes, 1503);
  assert.equal(s.totals.rxBytes, 7200);
  const nginx = s.rows.find((r) => r.id === 'nginx')!;
  assert.deepEqual([nginx.label, nginx.txBytes, nginx.rxBytes, nginx.activeConnections], ['nginx', 1500, 200, 4]);
  assert.deepEqual(nginx.attributes, { [defs.ATTR_EXECUTABLE]: 'nginx' });
  assert.equal(nginx.txBytesPerSecond, 0);
  // Cumulative percentiles on the first sample: 10 samples in bucket 3, (50 µs, 100 µs].
  assert.ok(nginx.rttP50Seconds! > 0.00005 && nginx.rttP50Seconds! <= 0.0001);
  assert.equal(s.rows.find((r) => r.id === 'curl')!.rttP50Seconds, null);
  // The overflow series has no process: it is the unattributed row, so rows add up to the totals.
  const unknown = s.rows.find((r) => r.id === '')!;
  assert.equal(unknown.label, '(unknown process)');
  assert.equal(s.rows.reduce((n, r) => n + r.txBytes, 0), s.totals.txBytes);
});

test('rates are over the requested window, from the sample that far back; RTT percentiles only from samples in the window', async () => {
  const fake = new FakeCollection();
  const clock = { t: T0 };
  const tx = io('app', 'transmit');
  const rttKey = { [defs.ATTR_EXECUTABLE]: 'app' };
  const opened = { [defs.ATTR_EXECUTABLE]: 'app' };
  const view = model(fake, clock);
  for (let i = 0; i <= 20; i++) {
    fake.io.set(tx, i * 100);
    fake.opened.set(opened, i * 2);
    // Before t=10 every RTT sample is slow (bucket 10); after, fast (bucket 2).
    fake.rtt.set(rttKey, i <= 10 ? rttCounts(10, 100 * i) : [...rttCounts(10, 1000)].map((c, b) => (b === 2 ? 50 * (i - 10) : c)));
    await view.sample();
    clock.t += 1000;
  }
  const s = view.snapshot({ groupBy: 'process', windowSeconds: 10 });
  assert.equal(s.windowSeconds, 10);
  const app = s.rows[0]!;
  assert.equal(app.txBytes, 2000);
  assert.equal(app.txBytesPerSecond, 100);
  assert.equal(app.openedPerSecond, 2);
  assert.ok(app.rttP99Seconds! <= defs.RTT_BUCKETS[2]!, `only the fast samples of the window: ${app.rttP99Seconds}`);
  assert.equal(s.totals.txBytesPerSecond, 100);
  // A window longer than the history uses all of it, and says so.
  assert.equal(view.snapshot({ groupBy: 'process', windowSeconds: 3600 }).windowSeconds, 20);
  // Over the whole history the slow samples dominate.
  assert.ok(view.snapshot({ groupBy: 'process', windowSeconds: 20 }).rows[0]!.rttP50Seconds! > defs.RTT_BUCKETS[8]!);
});

test('limit, filter and order: by tx+rx bytes per second, then by totals', async () => {
  const fake = new FakeCollection();
  const clock = { t: T0 };
  const view = model(fake, clock);
  const names = ['alpha', 'beta', 'gamma', 'delta'];
  for (let i = 0; i < 3; i++) {
    names.forEach((name, k) => fake.io.set(io(name, 'receive'), i * (k + 1) * 10));
    await view.sample();
    clock.t += 1000;
  }
  const s = view.snapshot({ groupBy: 'process', limit: 2 });
  assert.deepEqual(s.rows.map((r) => r.id), ['delta', 'gamma']);
  assert.deepEqual(view.snapshot({ groupBy: 'process', filter: 'ALP' }).rows.map((r) => r.id), ['alpha']);
});

test('groupings: pid when present, container id or k8s path, namespace/pod, systemd unit', async () => {
  const fake = new FakeCollection();
  const clock = { t: T0 };
  fake.io.set(io('nginx', 'transmit', { [defs.ATTR_PID]: 42, 'k8s.namespace.name': 'web', 'k8s.pod.name': 'front-1', 'k8s.container.name': 'nginx', 'container.id': 'abcdef0123456789' }), 10);
  fake.io.set(io('sshd', 'transmit', { [defs.ATTR_PID]: 7, 'systemd.unit.name': 'ssh.service' }), 20);
  const view = model(fake, clock);
  await view.sample();
  const ids = (g: 'process' | 'container' | 'pod' | 'unit') => view.snapshot({ groupBy: g }).rows.map((r) => [r.id, r.label]);
  assert.deepEqual(ids('process'), [['7', 'sshd (7)'], ['42', 'nginx (42)']]);
  assert.deepEqual(ids('container'), [['', '(no container)'], ['abcdef0123456789', 'nginx']]);
  assert.deepEqual(ids('pod'), [['', '(no pod)'], ['web/front-1', 'web/front-1']]);
  assert.deepEqual(ids('unit'), [['ssh.service', 'ssh.service'], ['', '(no unit)']]);
});

test('history: per-interval rates aligned to the times, the top rows by traffic over the window', async () => {
  const fake = new FakeCollection();
  const clock = { t: T0 };
  const view = model(fake, clock);
  const busy = io('busy', 'transmit');
  const quiet = io('quiet', 'transmit');
  const active = { [defs.ATTR_EXECUTABLE]: 'busy' };
  for (let i = 0; i < 5; i++) {
    fake.io.set(busy, i * 1000);
    fake.io.set(quiet, 5000 + i);
    fake.active.set(active, i);
    await view.sample();
    clock.t += 1000;
  }
  const h = view.history({ groupBy: 'process', limit: 1 });
  assert.equal(h.step, 1);
  assert.deepEqual(h.times, [1, 2, 3, 4].map((i) => T0 + i * 1000));
  assert.equal(h.rows.length, 1);
  assert.deepEqual(h.rows[0], { id: 'busy', label: 'busy', txBytesPerSecond: [1000, 1000, 1000, 1000], rxBytesPerSecond: [0, 0, 0, 0], activeConnections: [1, 2, 3, 4] });
  assert.deepEqual(view.history({ groupBy: 'process', windowSeconds: 2 }).times, [T0 + 3000, T0 + 4000]);
});

test('history is bounded: by samples, and by rows held, which shortens the time it covers', async () => {
  const fake = new FakeCollection();
  const clock = { t: T0 };
  for (let p = 0; p < 50; p++) fake.io.set(io(`p${p}`, 'transmit'), p);
  // 50 process rows + 1 row in each of the other three groupings per sample.
  const view = model(fake, clock, { historySeconds: 30, maxRowSamples: 53 * 10 });
  for (let i = 0; i < 40; i++) {
    await view.sample();
    clock.t += 1000;
  }
  assert.equal(view.rowSamples, 53 * 10);
  assert.equal(view.snapshot({ groupBy: 'process', windowSeconds: 60 }).windowSeconds, 9);
  const wide = model(fake, clock, { historySeconds: 5 });
  for (let i = 0; i < 40; i++) {
    await wide.sample();
    clock.t += 1000;
  }
  assert.equal(wide.snapshot({ groupBy: 'process', windowSeconds: 60 }).windowSeconds, 5);
});

test('a row whose series expired does not get a negative rate', async () => {
  const fake = new FakeCollection();
  const clock = { t: T0 };
  const view = model(fake, clock);
  fake.io.set(io('app', 'transmit', { [defs.ATTR_TRANSPORT]: 'udp' }), 5000);
  fake.io.set(io('app', 'transmit'), 100);
  await view.sample();
  clock.t += 1000;
  fake.io.delete([...fake.io.keys()][0]!);
  fake.io.set([...fake.io.keys()][0]!, 200);
  await view.sample();
  assert.equal(view.snapshot({ groupBy: 'process' }).rows[0]!.txBytesPerSecond, 0);
});

test('snapshot before any sample is an error; a failed collection rejects sample() and the next one still runs', async () => {
  const clock = { t: T0 };
  let fail = true;
  const fake = new FakeCollection();
  const view = new ViewModel({
    collect: async () => (fail ? { ...fake.result(), errors: [new Error('boom')] } : fake.result()),
    plan: { hooks: [] },
    version: 'x',
    now: () => clock.t,
  });
  assert.throws(() => view.snapshot({ groupBy: 'process' }), /no sample yet/);
  await assert.rejects(view.sample(), /collection for the view failed/);
  fail = false;
  await view.sample();
  assert.equal(view.snapshot({ groupBy: 'unit' }).rows.length, 0);
});

test('bucketQuantile interpolates inside the bucket like histogram_quantile, and +Inf gives the top boundary', () => {
  assert.equal(bucketQuantile(0.5, [1, 2, 4], [0, 10, 0, 0]), 1.5);
  assert.equal(bucketQuantile(0.5, [1, 2, 4], [10, 0, 0, 0]), 0.5);
  assert.equal(bucketQuantile(0.99, [1, 2, 4], [0, 0, 0, 5]), 4);
  assert.equal(bucketQuantile(0.5, [1, 2, 4], [0, 0, 0, 0]), null);
  assert.equal(bucketQuantile(0.25, [1, 2], [2, 2, 0]), 0.5);
});

test('a sample() while one is being taken joins it: a slow collection does not queue samples up', async () => {
  const fake = new FakeCollection();
  let collections = 0;
  let release!: () => void;
  const view = new ViewModel({
    collect: async () => {
      collections++;
      await new Promise<void>((r) => (release = r));
      return fake.result();
    },
    plan: { hooks: [] },
    version: 'x',
  });
  const first = view.sample();
  const second = view.sample();
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all([first, second]);
  assert.equal(collections, 1);
  const third = view.sample();
  await new Promise((r) => setImmediate(r));
  release();
  await third;
  assert.equal(collections, 2);
});

test('reads are remembered for the sampling decision; after a gap the history starts afresh, never a rate across it', async () => {
  const fake = new FakeCollection();
  const clock = { t: T0 };
  const tx = io('app', 'transmit');
  const rtt = { [defs.ATTR_EXECUTABLE]: 'app' };
  const view = model(fake, clock);
  assert.equal(view.readWithin(60_000), false);
  view.noteRead();
  clock.t += 60_000;
  assert.equal(view.readWithin(60_000), true);
  assert.equal(view.readWithin(59_999), false);
  for (let i = 0; i < 3; i++) {
    fake.io.set(tx, i * 100);
    fake.rtt.set(rtt, rttCounts(4, i + 1));
    await view.sample();
    clock.t += 1000;
  }
  const held = view.rowSamples;
  await view.ensureFresh(); // the latest is 1 s old: no new sample
  assert.equal(view.rowSamples, held);
  assert.equal(view.snapshot({ groupBy: 'process' }).windowSeconds, 2);
  clock.t += 60_000;
  fake.io.set(tx, 10_000);
  fake.rtt.set(rtt, rttCounts(4, 50));
  await view.ensureFresh();
  const s = view.snapshot({ groupBy: 'process' });
  assert.equal(s.windowSeconds, 0);
  assert.equal(s.rows[0]!.txBytes, 10_000);
  assert.equal(s.rows[0]!.txBytesPerSecond, 0);
  assert.equal(view.history({ groupBy: 'process' }).times.length, 0);
  // The first sample of the new history has the cumulative RTT buckets again.
  assert.notEqual(s.rows[0]!.rttP50Seconds, null);
});
