/**
 * The rows table: its columns, sorting by any of them (click a header; again to reverse)
 * and rendering. Labels come from process names and pod names, so cells are filled with
 * textContent, never parsed as HTML.
 */
import type { Row } from './api.js';
import { formatByteRate, formatBytes, formatRate, formatSeconds } from './format.js';

interface Column {
  key: string;
  title: string;
  value: (row: Row) => number | string | null;
  format: (row: Row) => string;
}

export const COLUMNS: readonly Column[] = [
  { key: 'label', title: 'Name', value: (r) => r.label, format: (r) => r.label },
  { key: 'traffic', title: 'Total/s', value: (r) => r.txBytesPerSecond + r.rxBytesPerSecond, format: (r) => formatByteRate(r.txBytesPerSecond + r.rxBytesPerSecond) },
  { key: 'tx', title: 'TX/s', value: (r) => r.txBytesPerSecond, format: (r) => formatByteRate(r.txBytesPerSecond) },
  { key: 'rx', title: 'RX/s', value: (r) => r.rxBytesPerSecond, format: (r) => formatByteRate(r.rxBytesPerSecond) },
  { key: 'txTotal', title: 'TX total', value: (r) => r.txBytes, format: (r) => formatBytes(r.txBytes) },
  { key: 'rxTotal', title: 'RX total', value: (r) => r.rxBytes, format: (r) => formatBytes(r.rxBytes) },
  { key: 'connections', title: 'Conns', value: (r) => r.activeConnections, format: (r) => String(r.activeConnections) },
  { key: 'opened', title: 'Opened/s', value: (r) => r.openedPerSecond, format: (r) => formatRate(r.openedPerSecond) },
  { key: 'failed', title: 'Failed/s', value: (r) => r.failedPerSecond, format: (r) => formatRate(r.failedPerSecond) },
  { key: 'retransmits', title: 'Retrans/s', value: (r) => r.retransmitsPerSecond, format: (r) => formatRate(r.retransmitsPerSecond) },
  { key: 'rttP50', title: 'RTT p50', value: (r) => r.rttP50Seconds, format: (r) => formatSeconds(r.rttP50Seconds) },
  { key: 'rttP99', title: 'RTT p99', value: (r) => r.rttP99Seconds, format: (r) => formatSeconds(r.rttP99Seconds) },
];

export interface SortOrder {
  key: string;
  descending: boolean;
}

/** Sorted copy; rows without a value (no RTT samples) go last either way, ties by label. */
export function sortRows(rows: readonly Row[], order: SortOrder): Row[] {
  const column = COLUMNS.find((c) => c.key === order.key) ?? COLUMNS[1]!;
  const sign = order.descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    if (x === null || y === null) return x === y ? a.label.localeCompare(b.label) : x === null ? 1 : -1;
    const byValue = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y;
    return byValue !== 0 ? sign * byValue : a.label.localeCompare(b.label);
  });
}

/** Case-insensitive substring of the label, as the filter box promises. */
export function filterRows<T extends { label: string }>(rows: readonly T[], filter: string): T[] {
  const needle = filter.trim().toLowerCase();
  return needle === '' ? [...rows] : rows.filter((r) => r.label.toLowerCase().includes(needle));
}

/** Builds the header once; `onSort` gets the column key clicked. */
export function renderHeader(head: HTMLTableSectionElement, onSort: (key: string) => void): void {
  const tr = document.createElement('tr');
  for (const column of COLUMNS) {
    const th = document.createElement('th');
    th.dataset.key = column.key;
    th.textContent = column.title;
    th.tabIndex = 0;
    th.addEventListener('click', () => onSort(column.key));
    th.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') onSort(column.key);
    });
    tr.append(th);
  }
  head.replaceChildren(tr);
}

export function markSorted(head: HTMLTableSectionElement, order: SortOrder): void {
  for (const th of head.querySelectorAll('th')) {
    const sorted = th.dataset.key === order.key;
    th.setAttribute('aria-sort', sorted ? (order.descending ? 'descending' : 'ascending') : 'none');
  }
}

export function renderBody(body: HTMLTableSectionElement, rows: readonly Row[], emptyText: string): void {
  if (rows.length === 0) {
    const td = document.createElement('td');
    td.colSpan = COLUMNS.length;
    td.className = 'empty';
    td.textContent = emptyText;
    const tr = document.createElement('tr');
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.id = row.id;
      for (const column of COLUMNS) {
        const td = document.createElement('td');
        td.dataset.key = column.key;
        td.textContent = column.format(row);
        tr.append(td);
      }
      return tr;
    }),
  );
}
