/** Reads `sockscope top`'s screen back into numbers: its header, column titles and rows. */
import { COLUMNS, type ColumnId } from '../../src/top/columns';
import { labelWidthFor } from '../../src/top/text-table';

export interface TopFrame {
  groupBy: string;
  /** The "rates over N s" of the header; undefined before a second sample. */
  windowSeconds?: number;
  sort: string;
  /** The first word of the column titles: PROCESS, CONTAINER, POD or UNIT. */
  labelTitle: string;
  rows: Array<Record<ColumnId, string>>;
}

/** The frame on a screen `columns` wide, or undefined while it is not drawn yet. */
export function readFrame(screen: readonly string[], columns: number): TopFrame | undefined {
  const head = /· by (\w+) · (?:rates over ([\d.]+) s|rates: waiting)/.exec(screen[0] ?? '');
  const titleIndex = screen.findIndex((l) => /^(PROCESS|CONTAINER|POD|UNIT)\s+TX\/s/.test(l));
  if (!head || titleIndex === -1) return undefined;
  const widths = COLUMNS.map((c, i) => (i === 0 ? labelWidthFor(columns) : c.width));
  const rows: TopFrame['rows'] = [];
  for (const line of screen.slice(titleIndex + 1)) {
    if (line.startsWith('keys:') || line === '') break;
    const row = {} as Record<ColumnId, string>;
    let at = 0;
    COLUMNS.forEach((c, i) => {
      row[c.id] = line.slice(at, at + widths[i]!).trim();
      at += widths[i]! + 1;
    });
    rows.push(row);
  }
  return {
    groupBy: head[1]!,
    windowSeconds: head[2] === undefined ? undefined : Number(head[2]),
    sort: /sort (\S+ [↓↑])/.exec(screen[0]!)?.[1] ?? '',
    labelTitle: screen[titleIndex]!.split(/\s+/)[0]!,
    rows,
  };
}

const UNIT_BYTES: Readonly<Record<string, number>> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** "3.00 MiB" -> 3145728, "614 KiB/s" -> 628736 (as shown: three significant digits). */
export function bytesShown(cell: string): number {
  const match = /^([\d.]+) (B|KiB|MiB|GiB)(\/s)?$/.exec(cell);
  if (!match) throw new Error(`not a byte count: ${JSON.stringify(cell)}`);
  return Number(match[1]) * UNIT_BYTES[match[2]!]!;
}
