/** What the collector hands the metrics layer: aggregated deltas, one per flow per drain. */

export type Transport = 'tcp' | 'udp';
export type IpFamily = 'ipv4' | 'ipv6';

/** Traffic of one socket, as used by one process, since the previous drain. */
export interface FlowDelta {
  tgid: number;
  /** Process name: the thread-group leader's comm (what /proc/<tgid>/comm says). */
  comm: string;
  /** Name of the thread that made the interval's first call on this socket (opt-in `thread.name`). */
  threadName: string;
  /** Inode of the socket's network namespace (what readlink /proc/<pid>/ns/net shows as net:[N]). */
  netns: number;
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
  /** TCP smoothed RTT at the interval's first call (with the tracepoints' cache: on a CPU), microseconds; 0 for UDP or none. */
  srttMicros: number;
}

/** Cumulative counters about the collector itself. */
export interface CollectorStats {
  /** Records the kernel could not put on the ring buffer (it was full): connection events and spilled calls. */
  eventsLost: number;
  /** Records the addon consumed from the ring buffer. */
  eventsReceived: number;
  /** Drain-thread wake-ups (timer or kernel fill-level wake-up). */
  drainWakeups: number;
  /** Socket I/O calls the kernel's socket I/O map could not take, counted from ring records instead. */
  ioCallsSpilled: number;
  /** Times a socket took a slot of the tracepoints' socket I/O cache from another; the holder's sums moved to the map. */
  ioCacheEvictions: number;
  /** Failed updates of bounded maps, by map: data about those sockets is incomplete. */
  /** Failed swaps or batch reads of the kernel's socket I/O maps; their sums are read at a later drain. */
  flowMapErrors: number;
  /** Ring-buffer records of no known type or too short for their type, skipped by the addon. */
  malformedRecords: number;
  mapFull: { sockets: number; listeners: number; flow_table: number; connection_events: number };
  /** Per hook: kernel events whose BPF program did not run (recursion protection, missed kprobes). */
  missedByHook: Record<string, number>;
  /** Kernel memory of each BPF map sockscope created, by map name, bytes: a reading, not a counter. */
  mapMemoryBytes: Record<string, number>;
  /** Run time and runs of each loaded program; absent while kernel.bpf_stats_enabled is off. */
  programRuns?: ProgramRuns[];
}

/** What the kernel counted for one loaded BPF program (bpf_prog_info) since it loaded. */
export interface ProgramRuns {
  hook: string;
  implementation: string;
  /** The program's C function name in ebpf/*.bpf.c. */
  program: string;
  runTimeNs: number;
  runCount: number;
}

/** The seam between the collector and the metrics layer. */
export interface FlowSource {
  /**
   * Hands over everything aggregated since the last call, one flow at a time, and resets
   * it. `visit` must not keep the object: one at a time, each dies young, where an array
   * of one interval's flows outlives V8's young generation and is promoted (at 10k flows,
   * ~15 MB of RSS in dead flows). Resolves once all of it was visited; the kernel is read
   * off the event loop, after the call.
   */
  drainInto(visit: (flow: FlowDelta) => void): Promise<void>;
  stats(): CollectorStats;
}

/** TCP states by the kernel's names (include/net/tcp_states.h). */
export const TCP_STATES = [
  'UNKNOWN', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT',
  'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV', 'BOUND_INACTIVE',
] as const;
export type TcpState = (typeof TCP_STATES)[number];

/** The process a socket belongs to, as learned in process context. */
export interface SocketOwner {
  tgid: number;
  /** Thread that made the call (connect/listen). */
  pid: number;
  /** Process name: the thread-group leader's comm. */
  comm: string;
  /** Name of the thread that made the call (opt-in `thread.name`); the process name when unknown (/proc bootstrap). */
  threadName: string;
  cgroupId: bigint;
}

/** A TCP state change or retransmit, in kernel order. */
export interface ConnectionEvent {
  kind: 'state' | 'retransmit';
  /** CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). */
  timestampNs: bigint;
  /** For a retransmit both are the socket's current state. */
  oldState: TcpState;
  newState: TcpState;
  family: IpFamily;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Undefined when the kernel side had not seen the socket open (e.g. opened before we started). */
  owner?: SocketOwner;
  /** active: this host connected; passive: it accepted. Undefined when unknown. */
  direction?: 'active' | 'passive';
  /** SYN_SENT->ESTABLISHED: connect latency; ->CLOSE: time since ESTABLISHED; else 0. */
  durationNs: number;
  /** sk_err when the connection closed (errno), else 0. */
  error: number;
  srttMicros: number;
  /** Inode of the socket's network namespace. */
  netns: number;
  /** Family on the wire: an IPv6 socket talking to a v4-mapped peer puts IPv4 on the wire. */
  wireFamily: IpFamily;
}

export type Direction = 'active' | 'passive';

/** The endpoints of a TCP socket, as the kernel and /proc/net/tcp report them. */
export interface TcpTuple {
  family: IpFamily;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/**
 * A connection event with its owner and direction resolved once, by the collector's
 * ConnectionEnricher. Read-only: the metrics and the event stream both read it.
 */
export type ConnectionRecord = Readonly<Omit<ConnectionEvent, 'owner' | 'direction'>> & {
  /** connectionKey(): namespace and tuple. One string shared by every reader that keys by connection. */
  readonly key: string;
  /** Undefined when neither the kernel, the connection's open, /proc nor the listener knew it. */
  readonly owner?: Readonly<SocketOwner>;
  readonly direction?: Direction;
};

/** A TCP socket that existed when sockscope started (/proc), with its owner and direction resolved. */
export interface ExistingSocket extends Readonly<TcpTuple> {
  readonly netns: number;
  readonly wireFamily: IpFamily;
  readonly state: TcpState;
  readonly owner?: Readonly<SocketOwner>;
  /** Undefined for listeners and sockets that are not connections. */
  readonly direction?: Direction;
}

/** The kernel's connection events as decoded, before enrichment. */
export interface RawConnectionEventSource {
  /** Resolves to the events since the last call, in kernel order. */
  drainConnectionEvents(): Promise<ConnectionEvent[]>;
}

/** Source of enriched connection records; the seam between collector and its readers (metrics, event stream). */
export interface ConnectionSource {
  /** Resolves to the records since the last call, in kernel order. */
  drainConnections(): Promise<ConnectionBatch>;
}

/** Which connections the kernel still has; true too for a namespace whose list could not be read. */
export interface StillOpen {
  has(key: string): boolean;
}

export interface ConnectionBatch {
  /** In the first batch only: the TCP sockets that existed at start. */
  existing?: readonly ExistingSocket[];
  records: readonly ConnectionRecord[];
  /**
   * Set when events may have been lost (counted) and the kernel's socket list was read:
   * has(connectionKey()) is false for a connection the kernel no longer has. Consumers drop those.
   */
  stillOpen?: StillOpen;
  /**
   * Read with stillOpen: connections the kernel's list has open that no event opened (their
   * open was lost), resolved as at start. Consumers track them without counting an open.
   */
  adopted?: readonly ExistingSocket[];
}
