/**
 * What the page reads from the daemon that served it: /api/v1/snapshot and /api/v1/history
 * (docs/api.md). The types are the daemon's own (type-only: nothing of src/ reaches the
 * browser), so a change of the API that the page does not follow fails the build.
 */
import type { GroupBy, ViewHistory, ViewRow, ViewSnapshot } from '../../src/view/snapshot';

export type { GroupBy };
export type Row = ViewRow;
export type Snapshot = ViewSnapshot;
export type History = ViewHistory;

/** GET a JSON document of the API; a non-2xx answer throws with the daemon's one-line error. */
async function getJson<T>(path: string, query: Record<string, string | number>): Promise<T> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== '') params.set(name, String(value));
  const response = await fetch(`${path}?${params}`, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) {
    const body = await response.text();
    let message = body.trim();
    try {
      message = (JSON.parse(body) as { error?: string }).error ?? message;
    } catch {
      // Not JSON (a proxy, a 404 page): show it as it came.
    }
    throw new Error(`${path}: ${response.status} ${message}`);
  }
  return (await response.json()) as T;
}

// Relative to /ui/: the page works wherever the daemon's root is mounted (a proxy's sub-path).
const API = '../api/v1';

export function fetchSnapshot(group: GroupBy, filter: string, limit: number): Promise<Snapshot> {
  return getJson<Snapshot>(`${API}/snapshot`, { group, window: 10, limit, filter });
}

export function fetchHistory(group: GroupBy, limit: number): Promise<History> {
  return getJson<History>(`${API}/history`, { group, window: 300, limit });
}
