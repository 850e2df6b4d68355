/** The rows of `sockscope top` as fixed-width text: the live view's table, and `--once`'s output. */
import type { GroupBy, ViewRow, ViewSnapshot } from '../view/snapshot';
import { COLUMNS, GROUP_TITLES, MIN_LABEL_WIDTH, sortRows, type SortOrder } from './columns';
import { header, lossesText } from './header';

/** Width of the columns after the label, with a space before each. */
export const NUMBER_COLUMNS_WIDTH = COLUMNS.slice(1).reduce((sum, c) => sum + 1 + c.width, 0);

/** The column titles; the label column is named after the grouping. */
export function titleLine(groupBy: GroupBy, labelWidth: number): string {
  return [fit(GROUP_TITLES[groupBy], labelWidth, 'left'), ...COLUMNS.slice(1).map((c) => fit(c.title, c.width, 'right'))].join(' ');
}

export function rowLine(row: ViewRow, labelWidth: number): string {
  return COLUMNS.map((c, i) => fit(c.cell(row), i === 0 ? labelWidth : c.width, i === 0 ? 'left' : 'right')).join(' ');
}

/** The label column as wide as a terminal of `columns` leaves, never narrower than MIN_LABEL_WIDTH. */
export function labelWidthFor(columns: number): number {
  return Math.max(MIN_LABEL_WIDTH, columns - NUMBER_COLUMNS_WIDTH - 1);
}

/** `--once` and the non-TTY fallback: the header, then every row with its label in full. */
export function renderText(snapshot: ViewSnapshot, order: SortOrder): string {
  const h = header(snapshot);
  const rows = sortRows(snapshot.rows, order);
  const labelWidth = Math.max(MIN_LABEL_WIDTH, GROUP_TITLES[snapshot.groupBy].length, ...rows.map((r) => r.label.length));
  const lines = [h.title, h.totals, h.plan, lossesText(h.losses), '', titleLine(snapshot.groupBy, labelWidth)];
  for (const row of rows) lines.push(rowLine(row, labelWidth));
  if (rows.length === 0) lines.push(`(no ${snapshot.groupBy} rows)`);
  return lines.map((l) => l.trimEnd()).join('\n') + '\n';
}

/** Pads or cuts `text` to exactly `width` characters; a cut label ends in "…". */
function fit(text: string, width: number, align: 'left' | 'right'): string {
  if (text.length > width) return `${text.slice(0, width - 1)}…`;
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}
