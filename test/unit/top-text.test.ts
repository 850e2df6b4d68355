/** `sockscope top`'s plain-text table (--once, or stdout not a terminal), its number formats and its keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ViewRow, ViewSnapshot } from '../../src/view/snapshot';
import { DEFAULT_SORT, sortRows } from '../../src/top/columns';
import { formatBytes, formatPerSecond, formatSeconds } from '../../src/top/format';
import { applyKey, type KeyFlags, type ViewState } from '../../src/top/keys';
import { renderText } from '../../src/top/text-table';

function row(label: string, fields: Partial<ViewRow>): ViewRow {
  return {
    id: label,
    label,
    attributes: { 'process.executable.name': label },
    txBytes: 0,
    rxBytes: 0,
    txBytesPerSecond: 0,
    rxBytesPerSecond: 0,
    activeConnections: 0,
    openedPerSecond: 0,
    failedPerSecond: 0,
    retransmitsPerSecond: 0,
    rttP50Seconds: null,
    rttP99Seconds: null,
    ...fields,
  };
}

const snapshot: ViewSnapshot = {
  apiVersion: 'v1',
  time: '2026-12-03T18:00:00.000Z',
  windowSeconds: 2,
  groupBy: 'process',
  sockscope: { version: '0.1.0', kernel: '6.1.0-18-amd64', hostname: 'node-a' },
  plan: { summary: '4/4 hooks attached: socket_send=tp_btf', hooks: [] },
  losses: { eventsLost: 0, eventsMissed: 3, ioSpilled: 0, mapFull: 0, seriesOverflow: 7 },
  totals: {
    txBytes: 3 * 1024 * 1024 + 512,
    rxBytes: 1536,
    txBytesPerSecond: 1024 * 1024,
    rxBytesPerSecond: 768,
    activeConnections: 2,
    openedPerSecond: 0.5,
    failedPerSecond: 0,
    retransmitsPerSecond: 0,
    rttP50Seconds: 0.00005,
    rttP99Seconds: 0.0125,
  },
  rows: [
    row('nginx', { txBytes: 3 * 1024 * 1024, txBytesPerSecond: 1024 * 1024, activeConnections: 2, openedPerSecond: 0.5, rttP50Seconds: 0.00005, rttP99Seconds: 0.0125 }),
    row('a-very-long-process-label-indeed', { txBytes: 512, rxBytes: 1536, rxBytesPerSecond: 768 }),
  ],
};

test('--once prints the header, the losses with the non-zero ones marked, and one aligned row per process', () => {
  const text = renderText(snapshot, DEFAULT_SORT);
  const lines = text.split('\n');
  assert.equal(lines[0], 'sockscope 0.1.0 on node-a (kernel 6.1.0-18-amd64) · by process · rates over 2.00 s · 2026-12-03T18:00:00.000Z');
  assert.equal(
    lines[1],
    'total  tx 1.00 MiB/s  rx 768 B/s  tx 3.00 MiB  rx 1.50 KiB  conns 2  opened 0.50/s  failed 0/s  retransmits 0/s  rtt p50 50.0 µs p99 12.5 ms',
  );
  assert.equal(lines[2], 'plan: 4/4 hooks attached: socket_send=tp_btf');
  assert.equal(lines[3], 'losses: lost 0  missed 3 (!)  spilled 0  seriesOverflow 7 (!)');
  // The label column is as wide as the longest label: nothing is cut in plain text.
  const header = 'PROCESS                                  TX/s         RX/s         TX         RX  CONNS  OPEN/s  FAIL/s  RETR/s   RTT p50   RTT p99';
  assert.equal(lines[5], header);
  assert.equal(lines[6], 'nginx                              1.00 MiB/s        0 B/s   3.00 MiB        0 B      2    0.50       0       0   50.0 µs   12.5 ms');
  assert.equal(lines[7], 'a-very-long-process-label-indeed        0 B/s      768 B/s      512 B   1.50 KiB      0       0       0       0         -         -');
  for (const line of lines.slice(6, 8)) assert.equal(line.length, header.length);
  assert.equal(lines.length, 9);
  assert.equal(text.at(-1), '\n');
});

test('an empty view says so instead of printing a bare header', () => {
  const text = renderText({ ...snapshot, groupBy: 'pod', rows: [] }, DEFAULT_SORT);
  assert.match(text, /^POD +TX\/s/m);
  assert.match(text, /^\(no pod rows\)$/m);
});

test('numbers keep three significant digits; RTT picks µs, ms or s; no samples is "-"', () => {
  assert.deepEqual([0, 512, 1023, 1024, 1536, 10 * 1024 + 100, 3 * 1024 ** 3].map(formatBytes), ['0 B', '512 B', '1023 B', '1.00 KiB', '1.50 KiB', '10.1 KiB', '3.00 GiB']);
  assert.deepEqual([0, 0.333, 12, 1200].map(formatPerSecond), ['0', '0.33', '12.0', '1.20k']);
  assert.deepEqual([null, 0.00005, 0.0125, 2].map(formatSeconds), ['-', '50.0 µs', '12.5 ms', '2.00 s']);
});

test('sorting by RTT puts rows without samples last in either direction', () => {
  const rows = [row('none', {}), row('slow', { rttP99Seconds: 0.2 }), row('fast', { rttP99Seconds: 0.001 })];
  assert.deepEqual(sortRows(rows, { by: 'rttP99Seconds', descending: true }).map((r) => r.label), ['slow', 'fast', 'none']);
  assert.deepEqual(sortRows(rows, { by: 'rttP99Seconds', descending: false }).map((r) => r.label), ['fast', 'slow', 'none']);
  assert.deepEqual(sortRows(rows, { by: 'label', descending: false }).map((r) => r.label), ['fast', 'none', 'slow']);
});

const NO_KEY: KeyFlags = { return: false, escape: false, backspace: false, delete: false, ctrl: false, meta: false };
const START: ViewState = { group: 'process', sort: DEFAULT_SORT, filter: '', paused: false, quit: false };
const press = (state: ViewState, input: string, key: Partial<KeyFlags> = {}) => applyKey(state, input, { ...NO_KEY, ...key });

test('keys: a column key sorts by it and again reverses; g cycles the groupings; p and space pause; q quits', () => {
  const byTx = press(START, 'T');
  assert.deepEqual(byTx.sort, { by: 'txBytes', descending: true });
  assert.deepEqual(press(byTx, 'T').sort, { by: 'txBytes', descending: false });
  assert.deepEqual(press(START, 'n').sort, { by: 'label', descending: false });
  const groups = ['g', 'g', 'g', 'g'].reduce<ViewState[]>((states, k) => [...states, press(states.at(-1)!, k)], [START]);
  assert.deepEqual(groups.map((s) => s.group), ['process', 'container', 'pod', 'unit', 'process']);
  assert.equal(press(START, 'p').paused, true);
  assert.equal(press(press(START, ' '), ' ').paused, false);
  assert.equal(press(START, 'q').quit, true);
});

test('keys: / types a filter that Enter applies and Esc cancels; Esc (which ink flags as meta too) clears it', () => {
  let state = press(START, '/');
  // "q" and "g" are text while typing; a pasted run arrives as one string.
  for (const ch of ['q', 'g']) state = press(state, ch);
  state = press(state, 'ix\r');
  assert.equal(state.draft, 'qgix');
  state = press(state, '', { backspace: true });
  state = press(state, '\r', { return: true });
  assert.deepEqual([state.filter, state.draft, state.quit, state.group], ['qgi', undefined, false, 'process']);
  assert.equal(press(press(state, '/'), '', { escape: true, meta: true }).filter, 'qgi');
  assert.equal(press(state, '', { escape: true, meta: true }).filter, '');
  assert.deepEqual(press(START, 'g', { meta: true }), START, 'Alt-g does nothing');
});
