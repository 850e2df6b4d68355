/**
 * The live view of `sockscope top`, drawn with ink (React for terminals): ink owns the screen,
 * the cursor and the keys. An ES module because ink is one; React.createElement instead of
 * JSX, as the project compiles no JSX.
 */
import React, { useEffect, useReducer, useState } from 'react';
import { Box, Text, render, useApp, useInput, useStdout } from 'ink';
import type { GroupBy, ViewSnapshot } from '../view/snapshot.js';
import { COLUMNS, DEFAULT_SORT, describeSort, sortRows, type SortOrder } from './columns.js';
import { applyKey, type KeyFlags, type ViewState } from './keys.js';
import { header } from './header.js';
import type { SnapshotSource } from './source.js';
import { MAX_LIMIT } from '../view/view-model.js';
import { labelWidthFor, rowLine, titleLine } from './text-table.js';

const h = React.createElement;

export interface AppOptions {
  source: SnapshotSource;
  intervalMs: number;
  windowMs: number;
  group: GroupBy;
  filter: string;
}

/** Lines around the rows: title, totals, plan, losses, filter, column titles; keys and error below. */
const LINES_ABOVE_ROWS = 6;
const LINES_BELOW_ROWS = 2;

const HELP = `keys: g group · / filter · p pause · q quit · sort (again: reverse): ${COLUMNS.map((c) => `${c.key} ${c.title}`).join(' ')}`;

export interface LiveView {
  /** Resolves once the view ended (q, Ctrl-C or stop()) and ink has given the terminal back. */
  done: Promise<void>;
  stop(): void;
}

/** Draws the view until q, Ctrl-C or stop(). */
export function startLiveView(options: AppOptions): LiveView {
  const instance = render(h(TopView, options), { patchConsole: false });
  return { done: instance.waitUntilExit().then(() => undefined), stop: () => instance.unmount() };
}

function TopView(props: AppOptions): React.ReactElement {
  const { exit } = useApp();
  const [state, press] = useReducer(
    (current: ViewState, event: { input: string; key: KeyFlags }) => applyKey(current, event.input, event.key),
    { group: props.group, sort: DEFAULT_SORT, filter: props.filter, paused: false, quit: false },
  );
  const { group, sort, filter, draft, paused } = state;
  const { snapshot, error } = useSnapshots(props, group, filter, paused);
  const [columns, rows] = useTerminalSize();
  useInput((input, key) => press({ input, key }));
  useEffect(() => {
    if (state.quit) exit();
  }, [state.quit, exit]);

  const labelWidth = labelWidthFor(columns);
  const shown = snapshot ? sortRows(snapshot.rows, sort).slice(0, Math.max(1, rows - LINES_ABOVE_ROWS - LINES_BELOW_ROWS)) : [];
  const line = (text: string, props: Record<string, unknown> = {}) => h(Text, { wrap: 'truncate', ...props }, text);
  // A space, not '': ink drops an empty line, and the rows would move up.
  const filterLine =
    draft !== undefined ? `filter: ${draft}▏ (Enter applies, Esc cancels)` : filter !== '' ? `filter: ${filter} (Esc clears)` : ' ';
  return h(
    Box,
    { flexDirection: 'column' },
    ...(snapshot ? headerLines(snapshot, props.source.description, sort, paused, line) : [line(`reading ${props.source.description}…`), line(' '), line(' '), line(' ')]),
    line(filterLine, { color: 'cyan' }),
    line(titleLine(group, labelWidth), { inverse: true }),
    ...shown.map((row) => line(rowLine(row, labelWidth))),
    line(HELP, { dimColor: true }),
    line(error ?? ' ', { color: 'red' }),
  );
}

function headerLines(
  snapshot: ViewSnapshot,
  source: string,
  sort: SortOrder,
  paused: boolean,
  line: (text: string, props?: Record<string, unknown>) => React.ReactElement,
): React.ReactElement[] {
  const head = header(snapshot);
  const status = `${paused ? 'PAUSED · ' : ''}from ${source} · sort ${describeSort(sort)}`;
  const losses = h(
    Text,
    { wrap: 'truncate' },
    'losses:',
    ...head.losses.map((l) => h(Text, l.value !== 0 ? { color: 'red', bold: true } : {}, `  ${l.name} ${l.value}`)),
  );
  return [
    h(Text, { wrap: 'truncate' }, h(Text, { bold: true }, head.title), `  ${status}`),
    line(head.totals),
    line(head.plan),
    losses,
  ];
}

/** The latest snapshot, read now and every interval while not paused; a failed read keeps the last one. */
function useSnapshots(options: AppOptions, group: GroupBy, filter: string, paused: boolean) {
  const [snapshot, setSnapshot] = useState<ViewSnapshot | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (paused) return undefined;
    // Cleared when the grouping, filter or pause changes: a read still under way is then stale.
    let current = true;
    let reading = false;
    const read = async () => {
      if (reading) return;
      reading = true;
      try {
        const next = await options.source.snapshot({ groupBy: group, filter, windowSeconds: options.windowMs / 1000, limit: MAX_LIMIT });
        if (current) {
          setSnapshot(next);
          setError(undefined);
        }
      } catch (err) {
        if (current) setError(err instanceof Error ? err.message : String(err));
      } finally {
        reading = false;
      }
    };
    void read();
    const timer = setInterval(() => void read(), options.intervalMs);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [options, group, filter, paused]);
  return { snapshot, error };
}

function useTerminalSize(): [columns: number, rows: number] {
  const { stdout } = useStdout();
  const [size, setSize] = useState<[number, number]>([stdout.columns || 120, stdout.rows || 40]);
  useEffect(() => {
    const onResize = () => setSize([stdout.columns || 120, stdout.rows || 40]);
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);
  return size;
}
