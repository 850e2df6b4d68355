/** What the collector hands the metrics layer: aggregated deltas, one per flow per drain. */

export type Transport = 'tcp' | 'udp';
export type IpFamily = 'ipv4' | 'ipv6';

/** Traffic of one socket, as used by one process, since the previous drain. */
export interface FlowDelta {
  tgid: number;
  /** Thread name (kernel `comm`) of the last thread that used the socket. */
  comm: string;
  cgroupId: bigint;
  /** Address family of the traffic on the wire (v4-mapped IPv6 counts as ipv4). */
  family: IpFamily;
  transport: Transport;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  txBytes: number;
  rxBytes: number;
  txMessages: number;
  rxMessages: number;
}

/** Cumulative counters about the collector itself. */
export interface CollectorStats {
  /** Records the kernel could not put on the ring buffer (it was full). */
  eventsLost: number;
  /** Records the addon consumed from the ring buffer. */
  eventsReceived: number;
  /** Drain-thread wake-ups (timer or kernel fill-level wake-up). */
  drainWakeups: number;
}

/** The seam between the collector and the metrics layer. */
export interface FlowSource {
  /** Returns everything aggregated since the last call and resets it. */
  drain(): FlowDelta[];
  stats(): CollectorStats;
}
