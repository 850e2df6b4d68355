/** Typed view of the C++ addon (addon/src). The addon carries out steps; TypeScript decides. */
import path from 'node:path';

export interface NativeProgramInfo {
  name: string;
  section: string;
  autoload: boolean;
}

export interface NativeStats {
  /** Events the ring buffer could not take: connection events, and calls the socket I/O map could not take. */
  eventsLost: number;
  eventsReceived: number;
  drainWakeups: number;
  flowTableDropped: number;
  connEventsDropped: number;
  /** Calls the socket I/O map could not take, counted from ring records instead. */
  ioCallsSpilled: number;
  /** Times a socket took a slot of the tracepoints' socket I/O cache from another (the holder moved to the map). */
  ioCacheEvictions: number;
  /** Failed swaps or reads of the kernel's socket I/O maps; their data is read at the next drain. */
  flowMapErrors: number;
  /** Ring records of no known type, or too short for their type: skipped. */
  malformedRecords: number;
  socketsMapFull: number;
  listenersMapFull: number;
  /**
   * Per loaded program: runs the kernel skipped because another BPF program was running on that
   * CPU, plus, for kprobes attached through tracefs, the probe's misses (kprobe_profile nmissed).
   */
  recursionMisses: Record<string, number>;
  /** Per loaded program, bpf_prog_info run_time_ns: advances only while kernel.bpf_stats_enabled is on. */
  programRunTimeNs: Record<string, number>;
  /** Per loaded program, bpf_prog_info run_cnt: advances only while kernel.bpf_stats_enabled is on. */
  programRunCount: Record<string, number>;
  /** Per map the session created, by map name: the kernel's memlock figure (/proc/self/fdinfo), bytes. */
  mapMemoryBytes: Record<string, number>;
}

export interface NativeSessionOptions {
  ringBufferSize: number;
  /** Ring fill level (bytes) above which the kernel wakes the drain thread early. */
  wakeupDataSize: number;
  /**
   * Flows the native table holds between two drains, and entries of each of the two
   * socket I/O maps in the kernel (shared by all CPUs).
   */
  maxFlows: number;
  /** Entries of each kernel socket I/O map alone, when not maxFlows (tests: a tiny map forces the ring fallback). */
  ioMapEntries?: number;
  /** Slots per CPU of the tracepoint probes' socket I/O cache, a power of two; 0 (default): none. */
  ioCacheSlots?: number;
  /** Preallocate the socket I/O and owner hash maps (before 6.1, see hashMapsNeedPreallocation); default true. */
  preallocateMaps?: boolean;
  /**
   * Create the socket I/O maps and read them once a second; default true. False when no socket I/O
   * program loads: the maps are not created, drain() returns nothing, ioCacheSlots must be 0.
   */
  socketIo?: boolean;
  /** Connection events held between two drains. */
  maxConnEvents?: number;
  /** Entries of the kernel's socket-owner map. */
  maxSockets?: number;
  /** Entries of the kernel's listener-owner map. */
  maxListeners?: number;
}

export interface NativeBpfSession {
  programs(): NativeProgramInfo[];
  setAutoload(program: string, autoload: boolean): void;
  load(): void;
  attach(program: string): void;
  startDrain(intervalMillis: number): void;
  /**
   * Resolves once a drain of the socket I/O maps and the ring, begun after this call, is
   * done: the swap and the read run on the addon's drain thread. Calls made before it
   * begins share it. Then takeRecords() has everything up to the drain.
   */
  drain(): Promise<void>;
  /** Resolves once the drain thread has consumed the ring after this call; then takeEvents(). */
  drainEvents(): Promise<void>;
  /**
   * The flow records aggregated so far, packed as `recordLayout` describes; no kernel access.
   * The addon reuses the memory: read it before the next takeRecords().
   */
  takeRecords(): Uint8Array;
  /** The connection events consumed so far, in order, packed as `connEventLayout` describes. */
  takeEvents(): Buffer;
  /** Tests: while true, the drain thread serves no drain() or drainEvents() (close() still answers them). */
  holdDrains(hold: boolean): void;
  stats(): NativeStats;
  close(): void;
}

/** Byte offsets of the fields of one drained flow record. */
export interface RecordLayout {
  size: number;
  tgid: number;
  family: number;
  protocol: number;
  cgroupId: number;
  localAddress: number;
  remoteAddress: number;
  localPort: number;
  remotePort: number;
  netns: number;
  comm: number;
  threadComm: number;
  commLength: number;
  txBytes: number;
  rxBytes: number;
  txMessages: number;
  rxMessages: number;
  srttMicros: number;
}

/** Byte offsets of the fields of one connection event (state change or retransmit). */
export interface ConnEventLayout {
  size: number;
  type: number;
  oldState: number;
  newState: number;
  flags: number;
  family: number;
  localPort: number;
  remotePort: number;
  error: number;
  timestampNs: number;
  durationNs: number;
  srttMicros: number;
  localAddress: number;
  remoteAddress: number;
  netns: number;
  tgid: number;
  pid: number;
  cgroupId: number;
  comm: number;
  threadComm: number;
  commLength: number;
}

/** What the addon's dropCapabilities did (addon/src/capabilities.h). */
export interface NativeCapabilityDrop {
  threadsDropped: number;
  unreachableTids: number[];
  unansweredThreads: number;
  error: string | null;
  boundingSetReduced: boolean;
}

/** One original-direction tuple to look up in conntrack (addon/src/conntrack_lookup.h). */
export interface NativeConntrackTuple {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  source: string;
  sourcePort: number;
  destination: string;
  destinationPort: number;
}

export interface NativeConntrackAnswer {
  outcome: 'backend' | 'no_nat' | 'not_found' | 'unavailable' | 'netns' | 'error';
  /** The reply direction's source, for backend and no_nat; '' else. */
  backend: string;
}

/**
 * Conntrack lookups on a native thread that entered `netns` ('' = ours) and opened its socket
 * before the constructor returned: before the daemon drops the capabilities that takes.
 */
export interface NativeConntrackLookup {
  lookup(tuples: NativeConntrackTuple[]): Promise<NativeConntrackAnswer[]>;
  /** Why conntrack cannot be used (decided when constructed); '' else. */
  unavailableReason(): string;
  close(): void;
}

export interface NativeAddon {
  BpfSession: new (options: NativeSessionOptions) => NativeBpfSession;
  ConntrackLookup: new (options: { netns?: string }) => NativeConntrackLookup;
  recordLayout: RecordLayout;
  connEventLayout: ConnEventLayout;
  /** Keeps only the capabilities `keep` (capability(7) numbers) in every thread of the process. */
  dropCapabilities(keep: number[]): NativeCapabilityDrop;
}

/** Package root: this file runs from dist/src/collector/. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

let cached: NativeAddon | undefined;

export function loadNativeAddon(): NativeAddon {
  if (cached) return cached;
  const file = path.join(PACKAGE_ROOT, 'addon', 'build', 'Release', 'sockscope.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(file) as NativeAddon;
  } catch (err) {
    throw new Error(
      `cannot load the native addon ${file}: ${(err as Error).message} (build it with \`npm run build\`)`,
    );
  }
  return cached;
}
