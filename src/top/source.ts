/** Where `sockscope top` gets its snapshots: a running daemon's JSON API, or probes of its own. */
import type { SnapshotQuery, ViewSnapshot } from '../view/snapshot';

export interface SnapshotSource {
  /** Where the numbers come from, for the header: "http://host:9464" or "probes in this process". */
  readonly description: string;
  snapshot(query: SnapshotQuery): Promise<ViewSnapshot>;
  close(): Promise<void>;
}

/** A failure to get a snapshot, phrased as the one line a person reads. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}
