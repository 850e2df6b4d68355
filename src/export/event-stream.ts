/**
 * The connection event stream: one JSON object per line for every TCP state change
 * and retransmit, to a file (appended) or stdout.
 */
import type { ConnectionRecord } from '../collector/types';
import { errorType } from '../metrics/connection-tracker';
import { EventFileWriter, type EventFileStats, type EventFileWriterOptions } from './event-file-writer';

export interface EventRecord {
  time: string;
  type: 'state' | 'retransmit';
  tgid?: number;
  pid?: number;
  comm?: string;
  cgroup_id?: string;
  family: string;
  /** Inode of the socket's network namespace (readlink /proc/<pid>/ns/net shows net:[N]). */
  netns: number;
  local: { address: string; port: number };
  remote: { address: string; port: number };
  old_state: string;
  new_state: string;
  direction?: string;
  duration_ms?: number;
  error?: string;
  srtt_us?: number;
}

/** bpf_ktime_get_ns() is CLOCK_MONOTONIC, as is process.hrtime: map it onto wall time. */
export function monotonicToWallClock(): (ns: bigint) => string {
  const offsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return (ns) => new Date(Number((ns + offsetNs) / 1_000_000n)).toISOString();
}

export function toEventRecord(e: ConnectionRecord, wallTime: (ns: bigint) => string): EventRecord {
  const record: EventRecord = {
    time: wallTime(e.timestampNs),
    type: e.kind,
    family: e.family,
    netns: e.netns,
    local: { address: e.localAddress, port: e.localPort },
    remote: { address: e.remoteAddress, port: e.remotePort },
    old_state: e.oldState,
    new_state: e.newState,
  };
  if (e.owner) {
    record.tgid = e.owner.tgid;
    record.pid = e.owner.pid;
    record.comm = e.owner.comm;
    record.cgroup_id = e.owner.cgroupId.toString();
  }
  if (e.direction) record.direction = e.direction;
  if (e.durationNs > 0) record.duration_ms = e.durationNs / 1e6;
  if (e.kind === 'state' && e.newState === 'CLOSE' && (e.error !== 0 || e.oldState === 'SYN_SENT')) {
    record.error = errorType(e.error);
  }
  if (e.srttMicros > 0) record.srtt_us = e.srttMicros;
  return record;
}

export class EventStreamWriter {
  private readonly out: EventFileWriter;

  /** `target` is a file path (appended to) or "-" for stdout. */
  constructor(target: string, options: EventFileWriterOptions) {
    this.out = new EventFileWriter(target, options);
  }

  /** Resolves once the file is open; rejects naming the path when it cannot be. */
  ready(): Promise<void> {
    return this.out.ready();
  }

  write(events: readonly ConnectionRecord[]): void {
    const wallTime = monotonicToWallClock();
    this.out.write(events.map((e) => JSON.stringify(toEventRecord(e, wallTime))));
  }

  /** Events written and dropped (by reason), for the self-metrics. */
  stats(): EventFileStats {
    return this.out.stats();
  }

  close(): Promise<void> {
    return this.out.close();
  }
}
