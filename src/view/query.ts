/**
 * The query strings of /api/v1/snapshot and /api/v1/history: every parameter checked,
 * and anything wrong named in one message (the API answers it as a 400).
 */
import { MAX_LIMIT } from './view-model';
import { GROUPINGS, type GroupBy, type HistoryQuery, type SnapshotQuery } from './snapshot';

export class QueryError extends Error {}

/** The longest window asked for that is not an error (a day); the history answers what it holds. */
export const MAX_WINDOW_SECONDS = 86_400;
const MAX_FILTER_LENGTH = 256;

export function parseSnapshotQuery(params: URLSearchParams): SnapshotQuery {
  const values = single(params, ['group', 'window', 'limit', 'filter']);
  const query: SnapshotQuery = { groupBy: groupBy(values.get('group')) };
  if (values.has('window')) query.windowSeconds = windowSeconds(values.get('window')!);
  if (values.has('limit')) query.limit = limit(values.get('limit')!);
  const filter = values.get('filter');
  if (filter !== undefined && filter !== '') {
    if (filter.length > MAX_FILTER_LENGTH) throw new QueryError(`filter: at most ${MAX_FILTER_LENGTH} characters, got ${filter.length}`);
    query.filter = filter;
  }
  return query;
}

export function parseHistoryQuery(params: URLSearchParams): HistoryQuery {
  const values = single(params, ['group', 'window', 'limit']);
  const query: HistoryQuery = { groupBy: groupBy(values.get('group')) };
  if (values.has('window')) query.windowSeconds = windowSeconds(values.get('window')!);
  if (values.has('limit')) query.limit = limit(values.get('limit')!);
  return query;
}

/** Each known parameter at most once; an unknown one is an error (a typo would otherwise be ignored). */
function single(params: URLSearchParams, known: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (!known.includes(name)) throw new QueryError(`unknown parameter "${name}"; known: ${known.join(', ')}`);
    if (values.has(name)) throw new QueryError(`parameter "${name}" given more than once`);
    values.set(name, value);
  }
  return values;
}

function groupBy(value: string | undefined): GroupBy {
  if (value === undefined) return 'process';
  const found = GROUPINGS.find((g) => g === value);
  if (!found) throw new QueryError(`group: "${value}" is not one of ${GROUPINGS.join(', ')}`);
  return found;
}

function windowSeconds(value: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(seconds > 0 && seconds <= MAX_WINDOW_SECONDS)) {
    throw new QueryError(`window: "${value}" is not a number of seconds above 0 and at most ${MAX_WINDOW_SECONDS}`);
  }
  return seconds;
}

function limit(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw new QueryError(`limit: "${value}" is not a whole number from 1 to ${MAX_LIMIT}`);
  return n;
}
