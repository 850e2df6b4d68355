/**
 * What the page reads from the daemon that served it: /api/v1/snapshot and /api/v1/history
 * (docs/api.md). Only the fields the page shows are declared; the daemon's own types are in
 * src/view/snapshot.ts.
 */
export type GroupBy = 'process' | 'container' | 'pod' | 'unit';

export interface Rates {
  txBytes: number;
  rxBytes: number;
  txBytesPerSecond: number;
  rxBytesPerSecond: number;
  activeConnections: number;
  openedPerSecond: number;
  failedPerSecond: number;
  retransmitsPerSecond: number;
  rttP50Seconds: number | null;
  rttP99Seconds: number | null;
}

export interface Row extends Rates {
  id: string;
  label: string;
}

export interface Snapshot {
  time: string;
  windowSeconds: number;
  groupBy: GroupBy;
  sockscope: { version: string; kernel: string; hostname: string };
  plan: { summary: string };
  losses: Record<string, number>;
  totals: Rates;
  rows: Row[];
}

export interface History {
  step: number;
  /** Unix milliseconds. */
  times: number[];
  rows: Array<{ id: string; label: string; txBytesPerSecond: number[]; rxBytesPerSecond: number[] }>;
}

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
