/**
 * The columns of `sockscope top`, shared by the live view and the plain-text table: what each
 * shows, the key that sorts by it, and how rows compare on it.
 */
import { GROUPINGS, type GroupBy, type ViewRow } from '../view/snapshot';
import { formatBytes, formatBytesPerSecond, formatCount, formatPerSecond, formatSeconds } from './format';

export type ColumnId =
  | 'label'
  | 'txBytesPerSecond'
  | 'rxBytesPerSecond'
  | 'txBytes'
  | 'rxBytes'
  | 'activeConnections'
  | 'openedPerSecond'
  | 'failedPerSecond'
  | 'retransmitsPerSecond'
  | 'rttP50Seconds'
  | 'rttP99Seconds';

export interface Column {
  id: ColumnId;
  title: string;
  /** The key that sorts by this column (pressed again: the other direction). */
  key: string;
  width: number;
  cell(row: ViewRow): string;
}

/** The label column's width is whatever the terminal leaves; this is its least. */
export const MIN_LABEL_WIDTH = 16;

export const COLUMNS: readonly Column[] = [
  { id: 'label', title: 'NAME', key: 'n', width: MIN_LABEL_WIDTH, cell: (r) => r.label },
  { id: 'txBytesPerSecond', title: 'TX/s', key: 't', width: 12, cell: (r) => formatBytesPerSecond(r.txBytesPerSecond) },
  { id: 'rxBytesPerSecond', title: 'RX/s', key: 'r', width: 12, cell: (r) => formatBytesPerSecond(r.rxBytesPerSecond) },
  { id: 'txBytes', title: 'TX', key: 'T', width: 10, cell: (r) => formatBytes(r.txBytes) },
  { id: 'rxBytes', title: 'RX', key: 'R', width: 10, cell: (r) => formatBytes(r.rxBytes) },
  { id: 'activeConnections', title: 'CONNS', key: 'c', width: 6, cell: (r) => formatCount(r.activeConnections) },
  { id: 'openedPerSecond', title: 'OPEN/s', key: 'o', width: 7, cell: (r) => formatPerSecond(r.openedPerSecond) },
  { id: 'failedPerSecond', title: 'FAIL/s', key: 'f', width: 7, cell: (r) => formatPerSecond(r.failedPerSecond) },
  { id: 'retransmitsPerSecond', title: 'RETR/s', key: 'e', width: 7, cell: (r) => formatPerSecond(r.retransmitsPerSecond) },
  { id: 'rttP50Seconds', title: 'RTT p50', key: '5', width: 9, cell: (r) => formatSeconds(r.rttP50Seconds) },
  { id: 'rttP99Seconds', title: 'RTT p99', key: '9', width: 9, cell: (r) => formatSeconds(r.rttP99Seconds) },
];

/** What the label column is called in each grouping. */
export const GROUP_TITLES: Readonly<Record<GroupBy, string>> = {
  process: 'PROCESS',
  container: 'CONTAINER',
  pod: 'POD',
  unit: 'UNIT',
};

/** The grouping after `current`, in the order the group key cycles through them. */
export function nextGrouping(current: GroupBy): GroupBy {
  return GROUPINGS[(GROUPINGS.indexOf(current) + 1) % GROUPINGS.length]!;
}

/** What the rows are sorted by: a column, or 'traffic' (tx+rx bytes/s, the API's own order). */
export interface SortOrder {
  by: ColumnId | 'traffic';
  descending: boolean;
}

export const DEFAULT_SORT: SortOrder = { by: 'traffic', descending: true };

/** The column a key sorts by, or undefined when the key sorts nothing. */
export function columnForKey(key: string): Column | undefined {
  return COLUMNS.find((c) => c.key === key);
}

/** A key on a column: sort by it (numbers biggest first, names A to Z); again: the other direction. */
export function sortAfterKey(current: SortOrder, column: ColumnId): SortOrder {
  if (current.by === column) return { by: column, descending: !current.descending };
  return { by: column, descending: column !== 'label' };
}

/** "TX/s ↓", "tx+rx/s ↓": what the header says the order is. */
export function describeSort(order: SortOrder): string {
  const name = order.by === 'traffic' ? 'tx+rx/s' : COLUMNS.find((c) => c.id === order.by)!.title;
  return `${name} ${order.descending ? '↓' : '↑'}`;
}

/**
 * The rows in the order asked for; equal rows keep the API's order. A missing RTT (no samples)
 * sorts below every measured one, whichever the direction.
 */
export function sortRows(rows: readonly ViewRow[], order: SortOrder): ViewRow[] {
  const sign = order.descending ? -1 : 1;
  return rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => compare(a.row, b.row, order.by, sign) || a.index - b.index)
    .map(({ row }) => row);
}

function compare(a: ViewRow, b: ViewRow, by: SortOrder['by'], sign: number): number {
  if (by === 'label') return sign * a.label.localeCompare(b.label);
  if (by === 'traffic') return sign * (a.txBytesPerSecond + a.rxBytesPerSecond - b.txBytesPerSecond - b.rxBytesPerSecond);
  const x = a[by];
  const y = b[by];
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  return sign * (x - y);
}
