/**
 * The live view: every second, the snapshot of the chosen grouping (header, table) and,
 * every other second, the history behind the chart. Controls: group-by, a name filter,
 * sorting by any column, pause.
 */
import { fetchHistory, fetchSnapshot, type GroupBy, type Row, type Snapshot } from './api.js';
import { TrafficChart } from './chart.js';
import { formatByteRate, formatRate } from './format.js';
import { filterRows, markSorted, renderBody, renderHeader, sortRows, type SortOrder } from './table.js';

const REFRESH_MS = 1000;
const ROW_LIMIT = 200;
const CHART_ROWS = 8;
// With a filter, the chart draws the matching rows among this many of the history's top.
const CHART_FILTER_POOL = 100;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`index.html has no #${id}`);
  return found as T;
}

const groupSelect = element<HTMLSelectElement>('group');
const filterInput = element<HTMLInputElement>('filter');
const pauseButton = element<HTMLButtonElement>('pause');
const status = element<HTMLElement>('status');
const table = element<HTMLTableElement>('rows');
const chart = new TrafficChart(element('chart'));

let group = groupSelect.value as GroupBy;
let order: SortOrder = { key: 'traffic', descending: true };
let paused = false;
let rows: Row[] = [];
let tick = 0;
// Answers to requests overtaken by a newer one (the group or filter changed) are dropped.
let generation = 0;

function showRows(): void {
  const shown = sortRows(filterRows(rows, filterInput.value), order);
  renderBody(table.tBodies[0]!, shown, filterInput.value.trim() === '' ? 'no traffic seen yet' : 'no row matches the filter');
  markSorted(table.tHead!, order);
}

function showHeader(snapshot: Snapshot): void {
  const { sockscope, totals } = snapshot;
  element('meta').textContent =
    `sockscope ${sockscope.version} on ${sockscope.hostname}, kernel ${sockscope.kernel}; rates over ${snapshot.windowSeconds} s`;
  element('plan').textContent = `Attach plan: ${snapshot.plan.summary}`;
  element('totals').textContent =
    `Total: TX ${formatByteRate(totals.txBytesPerSecond)}, RX ${formatByteRate(totals.rxBytesPerSecond)}, ` +
    `${totals.activeConnections} connections, ${formatRate(totals.openedPerSecond)} opened/s, ` +
    `${formatRate(totals.failedPerSecond)} failed/s, ${formatRate(totals.retransmitsPerSecond)} retransmits/s`;
  const losses = element('losses');
  const items = Object.entries(snapshot.losses).map(([name, value]) => {
    const span = document.createElement('span');
    span.className = value > 0 ? 'loss nonzero' : 'loss';
    span.textContent = `${name} ${value}`;
    return span;
  });
  losses.replaceChildren('Losses: ', ...items);
}

async function refresh(): Promise<void> {
  const mine = ++generation;
  const withHistory = tick++ % 2 === 0;
  const filter = filterInput.value.trim();
  try {
    const [snapshot, history] = await Promise.all([
      fetchSnapshot(group, filter, ROW_LIMIT),
      withHistory ? fetchHistory(group, filter === '' ? CHART_ROWS : CHART_FILTER_POOL) : undefined,
    ]);
    if (mine !== generation) return;
    rows = snapshot.rows;
    showHeader(snapshot);
    showRows();
    if (history !== undefined) chart.show({ ...history, rows: filterRows(history.rows, filter).slice(0, CHART_ROWS) });
    status.textContent = `updated ${new Date(snapshot.time).toLocaleTimeString()}`;
    status.className = '';
  } catch (error) {
    if (mine !== generation) return;
    status.textContent = `cannot read the daemon: ${error instanceof Error ? error.message : String(error)}`;
    status.className = 'error';
  }
}

async function loop(): Promise<void> {
  if (!paused) await refresh();
  setTimeout(() => void loop(), REFRESH_MS);
}

renderHeader(table.tHead!, (key) => {
  order = { key, descending: order.key === key ? !order.descending : key !== 'label' };
  showRows();
});
groupSelect.addEventListener('change', () => {
  group = groupSelect.value as GroupBy;
  rows = [];
  tick = 0;
  showRows();
  void refresh();
});
filterInput.addEventListener('input', () => {
  // At once on what is shown; the next answer also holds matches beyond the top rows.
  showRows();
  tick = 0;
  void refresh();
});
pauseButton.addEventListener('click', () => {
  paused = !paused;
  pauseButton.textContent = paused ? 'Resume' : 'Pause';
  pauseButton.setAttribute('aria-pressed', String(paused));
});

void loop();
