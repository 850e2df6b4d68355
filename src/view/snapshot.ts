/**
 * The view contract (issue 12): what `sockscope top`, the live page and /api/v1 read.
 * R and W rely on these types exactly; change them only with them.
 */
export type GroupBy = 'process' | 'container' | 'pod' | 'unit';

export const GROUPINGS: readonly GroupBy[] = ['process', 'container', 'pod', 'unit'];

export interface ViewRow {
  /** Stable id of the row within its grouping, e.g. "1234" (pid), a container id, "ns/pod", a unit name. */
  id: string;
  /** What a person reads: "nginx (1234)", "ns/pod", "sshd.service", container name or short id. */
  label: string;
  /** The attributes that identify the row (process.pid, process.executable.name, container.id, k8s.*, systemd.unit.name). */
  attributes: Record<string, string | number>;
  txBytes: number;
  rxBytes: number; // cumulative totals (what /metrics says now)
  txBytesPerSecond: number;
  rxBytesPerSecond: number; // over the window
  activeConnections: number;
  openedPerSecond: number;
  failedPerSecond: number;
  retransmitsPerSecond: number;
  /** From the RTT histogram's buckets over the window (cumulative when the window has no earlier sample); null = no samples. */
  rttP50Seconds: number | null;
  rttP99Seconds: number | null;
}

export interface ViewSnapshot {
  apiVersion: 'v1';
  /** ISO 8601 of the collection. */
  time: string;
  /** The window the rates were computed over (0 on the first sample). */
  windowSeconds: number;
  groupBy: GroupBy;
  sockscope: { version: string; kernel: string; hostname: string };
  plan: { summary: string; hooks: Array<{ hook: string; implementation: string | null; required: boolean }> };
  /** Every loss self-metric as a total (0 when absent); see LOSS_METRICS. */
  losses: Record<string, number>;
  totals: Omit<ViewRow, 'id' | 'label' | 'attributes'>;
  /** Sorted by tx+rx bytes/s descending; at most `limit` rows. */
  rows: ViewRow[];
}

export interface SnapshotQuery {
  groupBy: GroupBy;
  /** Seconds; default 10. */
  windowSeconds?: number;
  /** Default 50, at most 1000. */
  limit?: number;
  /** Case-insensitive substring of the row label. */
  filter?: string;
}

export interface HistoryRow {
  id: string;
  label: string;
  txBytesPerSecond: number[];
  rxBytesPerSecond: number[];
  activeConnections: number[];
}

export interface ViewHistory {
  apiVersion: 'v1';
  groupBy: GroupBy;
  /** Seconds between samples. */
  step: number;
  /** Unix ms of each point; every row's arrays align with it. */
  times: number[];
  /** The top `limit` rows by tx+rx bytes over the window. */
  rows: HistoryRow[];
}

export interface HistoryQuery {
  groupBy: GroupBy;
  /** Seconds; default 300. */
  windowSeconds?: number;
  /** Default 10, at most 1000. */
  limit?: number;
}
