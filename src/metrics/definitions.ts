/**
 * The metrics contract: every instrument sockscope exports, in one table.
 * docs/metrics.md is rendered from this table and test/unit/metrics-doc.test.ts
 * fails when the two disagree.
 */

/** OTel instrument kinds; an updowncounter is a Prometheus gauge that can be summed. */
export type InstrumentKind = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

export interface AttributeDefinition {
  name: string;
  description: string;
  /** Exported unless configuration says otherwise; opt-in attributes are off by default. */
  default?: boolean;
  /** Exported by default when `metrics.clusterNetworks` is set (the peer's address and port). */
  clusterDefault?: boolean;
}

export interface MetricDefinition {
  /** OpenTelemetry instrument name. */
  name: string;
  /** Prometheus family name, as exposed on /metrics. */
  prometheusName: string;
  kind: InstrumentKind;
  /** UCUM unit. */
  unit: string;
  description: string;
  attributes: AttributeDefinition[];
  /** Explicit bucket boundaries (histograms). */
  buckets?: number[];
}

export const ATTR_TRANSPORT = 'network.transport';
export const ATTR_DIRECTION = 'network.io.direction';
export const ATTR_NETWORK_TYPE = 'network.type';
export const ATTR_EXECUTABLE = 'process.executable.name';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_CONNECTION_DIRECTION = 'sockscope.connection.direction';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_STATE_FROM = 'sockscope.tcp.state.from';
export const ATTR_STATE_TO = 'sockscope.tcp.state.to';
export const ATTR_HOOK = 'sockscope.ebpf.hook';
export const ATTR_IMPLEMENTATION = 'sockscope.ebpf.implementation';
export const ATTR_MAP = 'sockscope.ebpf.map';
export const ATTR_RECONCILED_AS = 'sockscope.reconciled.as';
export const ATTR_PROGRAM = 'sockscope.ebpf.program';
export const ATTR_PEER_GROUP = 'sockscope.peer.group';
export const ATTR_PEER_ADDRESS = 'network.peer.address';
export const ATTR_PEER_PORT = 'network.peer.port';
export const ATTR_PEER_BACKEND = 'sockscope.peer.backend.address';
export const ATTR_CONNTRACK_OUTCOME = 'sockscope.conntrack.outcome';
export const ATTR_PID = 'process.pid';
export const ATTR_THREAD = 'thread.name';
export const ATTR_METRIC = 'sockscope.metric';
export const ATTR_DROP_REASON = 'sockscope.event_stream.reason';

const d = (name: string, description: string): AttributeDefinition => ({ name, description, default: true });
const optIn = (name: string, description: string): AttributeDefinition => ({ name, description });

const executable = d(
  ATTR_EXECUTABLE,
  "process name: the thread-group leader's kernel `comm` (what /proc/<pid>/comm says), at most 15 characters; absent when the owner is unknown",
);
const networkType = d(ATTR_NETWORK_TYPE, '`ipv4` or `ipv6` (an IPv6 socket talking to a v4-mapped peer counts as `ipv4`)');
const serverPort = d(
  ATTR_SERVER_PORT,
  'the listening port of the connection: the local port of a listening socket, else the remote port unless it is ' +
    'ephemeral (in the kernel\'s ip_local_port_range); absent when neither end is a server port',
);
const peerGroup = d(ATTR_PEER_GROUP, 'named CIDR group of the remote address (`metrics.peerGroups`; defaults: `loopback`, `private`, else `external`)');
const connectionDirection = d(ATTR_CONNECTION_DIRECTION, '`active` (this host called connect) or `passive` (it accepted)');

/** Where the owning process runs: from its cgroup (see src/attribution/cgroup-resolver.ts). */
const workload: AttributeDefinition[] = [
  d('k8s.namespace.name', 'Kubernetes namespace of the pod'),
  d('k8s.pod.name', 'Kubernetes pod name'),
  d('k8s.container.name', 'container name in the pod'),
  d('container.runtime.name', '`containerd`, `cri-o`, `docker` or `podman`'),
  d('systemd.unit.name', 'systemd unit of a bare-metal service, e.g. `nginx.service`'),
  optIn('container.id', 'container ID (changes on every restart)'),
  optIn('k8s.pod.uid', 'Kubernetes pod UID'),
];

/** High-cardinality: only where configured. */
const perProcess = optIn(ATTR_PID, 'process ID (changes with every process)');
const threadName = optIn(
  ATTR_THREAD,
  "name of the thread (kernel `comm`) that called connect() or listen(); the process name for connections found in /proc at start-up",
);
const flowThreadName = optIn(
  ATTR_THREAD,
  'name of the thread (kernel `comm`) that made the first send or receive on the socket on a CPU in a drain interval ' +
    '(at most a second); other threads of the process using that socket on that CPU in that interval count under it',
);
const PEER_ADDRESS_TEXT =
  'remote IP address (IPv4-mapped IPv6 written as IPv4). With `metrics.clusterNetworks` set: only for peers inside ' +
  'those networks (a pod, a Service ClusterIP, a node), absent for others';
const PEER_PORT_TEXT =
  'remote port. With `metrics.clusterNetworks` set: only for peers inside those networks that are the server side ' +
  '(the remote port is `server.port`), absent for clients, whose ports are ephemeral';
const PEER_BACKEND_TEXT =
  'the address the connection really reaches: the source of the conntrack entry\'s reply direction, found in the ' +
  'namespace where the NAT happened (`metrics.conntrackNetns`). Behind a Service DNAT it is the backend pod; without ' +
  'a DNAT it equals `network.peer.address`. Only with `metrics.clusterNetworks` set, for cluster peers that are the ' +
  'server side (when `network.peer.port` is there); absent when the lookup failed (counted in ' +
  '`sockscope_conntrack_lookups_total`)';
const localEnd: AttributeDefinition[] = [
  optIn('network.local.address', 'local IP address'),
  optIn('network.local.port', 'local port'),
];
const fourTuple: AttributeDefinition[] = [
  optIn(ATTR_PEER_ADDRESS, `${PEER_ADDRESS_TEXT}; opt-in here even then`),
  optIn(ATTR_PEER_PORT, `${PEER_PORT_TEXT}; opt-in here even then`),
  ...localEnd,
];
/** The metrics a service map is drawn from export the cluster peer by default once clusterNetworks is set. */
const clusterFourTuple: AttributeDefinition[] = [
  { name: ATTR_PEER_ADDRESS, description: PEER_ADDRESS_TEXT, clusterDefault: true },
  { name: ATTR_PEER_PORT, description: PEER_PORT_TEXT, clusterDefault: true },
  { name: ATTR_PEER_BACKEND, description: PEER_BACKEND_TEXT, clusterDefault: true },
  ...localEnd,
];

/** A TCP connection's attributes, without and with its direction. */
const peerAttributes = (tuple: AttributeDefinition[]): AttributeDefinition[] => [
  executable, networkType, serverPort, peerGroup, ...workload, perProcess, threadName, ...tuple,
];
const connectionAttributes = (tuple: AttributeDefinition[]): AttributeDefinition[] => [
  executable, networkType, serverPort, connectionDirection, peerGroup, ...workload, perProcess, threadName, ...tuple,
];

/** 10 µs to 5 s, roughly 1-2.5-5 per decade: loopback to intercontinental. */
export const RTT_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** 50 µs to 130 s: the last buckets catch SYN retransmissions (1, 3, 7, 15, 31, 63, 127 s). */
export const CONNECT_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 130,
];
/** 1 ms to 1 day. */
export const LIFETIME_BUCKETS = [0.001, 0.01, 0.1, 1, 10, 60, 300, 900, 3600, 14400, 86400];

const flowAttributes = (): AttributeDefinition[] => [
  d(ATTR_TRANSPORT, '`tcp` or `udp`'),
  d(ATTR_DIRECTION, '`transmit` or `receive`'),
  networkType,
  d(ATTR_EXECUTABLE, "process name: the thread-group leader's kernel `comm` (what /proc/<pid>/comm says), at most 15 characters"),
  serverPort,
  peerGroup,
  ...workload,
  perProcess,
  flowThreadName,
  ...clusterFourTuple,
];

export const NETWORK_IO: MetricDefinition = {
  name: 'sockscope.network.io',
  prometheusName: 'sockscope_network_io_bytes_total',
  kind: 'counter',
  unit: 'By',
  description: 'Bytes moved by TCP and UDP sockets (successful send and receive calls), per process.',
  attributes: flowAttributes(),
};

export const NETWORK_MESSAGES: MetricDefinition = {
  name: 'sockscope.network.messages',
  prometheusName: 'sockscope_network_messages_total',
  kind: 'counter',
  unit: '{message}',
  description: 'Successful send and receive calls on TCP and UDP sockets (one per syscall that moved data), per process.',
  attributes: flowAttributes(),
};

export const CONNECTIONS_OPENED: MetricDefinition = {
  name: 'sockscope.tcp.connections.opened',
  prometheusName: 'sockscope_tcp_connections_opened_total',
  kind: 'counter',
  unit: '{connection}',
  description: 'TCP connections that reached ESTABLISHED.',
  attributes: connectionAttributes(clusterFourTuple),
};

export const CONNECTIONS_CLOSED: MetricDefinition = {
  name: 'sockscope.tcp.connections.closed',
  prometheusName: 'sockscope_tcp_connections_closed_total',
  kind: 'counter',
  unit: '{connection}',
  description: 'Established TCP connections that reached CLOSE.',
  attributes: connectionAttributes(clusterFourTuple),
};

export const CONNECTIONS_FAILED: MetricDefinition = {
  name: 'sockscope.tcp.connections.failed',
  prometheusName: 'sockscope_tcp_connections_failed_total',
  kind: 'counter',
  unit: '{connection}',
  description: 'connect() attempts that went from SYN_SENT to CLOSE without being established.',
  attributes: [
    executable,
    networkType,
    serverPort,
    d(
      ATTR_ERROR_TYPE,
      '`refused` (RST to the SYN), `timed_out`, `reset`, `host_unreachable`, `network_unreachable`, `aborted` (closed before an answer), or `other`',
    ),
    peerGroup,
    ...workload,
    perProcess,
    threadName,
    ...clusterFourTuple,
  ],
};

export const CONNECTIONS_ACTIVE: MetricDefinition = {
  name: 'sockscope.tcp.connections.active',
  prometheusName: 'sockscope_tcp_connections_active',
  kind: 'updowncounter',
  unit: '{connection}',
  description: 'TCP connections established and not yet closed, including those opened before sockscope started.',
  attributes: connectionAttributes(clusterFourTuple),
};

export const STATE_TRANSITIONS: MetricDefinition = {
  name: 'sockscope.tcp.state.transitions',
  prometheusName: 'sockscope_tcp_state_transitions_total',
  kind: 'counter',
  unit: '{transition}',
  description: 'TCP state changes, by old and new state (kernel names: `SYN_SENT`, `ESTABLISHED`, ...).',
  attributes: [d(ATTR_STATE_FROM, 'state before the change'), d(ATTR_STATE_TO, 'state after the change')],
};

export const RETRANSMITS: MetricDefinition = {
  name: 'sockscope.tcp.retransmits',
  prometheusName: 'sockscope_tcp_retransmits_total',
  kind: 'counter',
  unit: '{segment}',
  description: 'TCP segments retransmitted (tcp:tcp_retransmit_skb), attributed to the socket owner.',
  attributes: peerAttributes(clusterFourTuple),
};

export const RTT: MetricDefinition = {
  name: 'sockscope.tcp.rtt',
  prometheusName: 'sockscope_tcp_rtt_seconds',
  kind: 'histogram',
  unit: 's',
  description:
    'TCP smoothed round-trip time (srtt). One sample per active flow per collection interval: the srtt at the ' +
    "flow's first send or receive of the last drain interval (at most a second) in which it moved data; " +
    "with calls on several CPUs, the first on one of them. Busy and idle flows weigh the same.",
  attributes: peerAttributes(clusterFourTuple),
  buckets: RTT_BUCKETS,
};

export const CONNECT_DURATION: MetricDefinition = {
  name: 'sockscope.tcp.connect.duration',
  prometheusName: 'sockscope_tcp_connect_duration_seconds',
  kind: 'histogram',
  unit: 's',
  description: 'Time from SYN_SENT to ESTABLISHED of successful connect() calls, measured in the kernel.',
  attributes: peerAttributes(fourTuple),
  buckets: CONNECT_BUCKETS,
};

export const CONNECTION_DURATION: MetricDefinition = {
  name: 'sockscope.tcp.connection.duration',
  prometheusName: 'sockscope_tcp_connection_duration_seconds',
  kind: 'histogram',
  unit: 's',
  description: 'Lifetime of TCP connections, from ESTABLISHED to CLOSE, measured in the kernel; recorded at close.',
  attributes: connectionAttributes(fourTuple),
  buckets: LIFETIME_BUCKETS,
};

export const EVENTS_LOST: MetricDefinition = {
  name: 'sockscope.ebpf.events.lost',
  prometheusName: 'sockscope_ebpf_events_lost_total',
  kind: 'counter',
  unit: '{event}',
  description: 'Events lost because the ring buffer was full: connection events, and socket I/O calls the socket I/O map could not take (full, or out of memory in a burst of new sockets). What they carried is missing from the other metrics.',
  attributes: [],
};

export const IO_SPILLED: MetricDefinition = {
  name: 'sockscope.ebpf.io.spilled',
  prometheusName: 'sockscope_ebpf_io_spilled_total',
  kind: 'counter',
  unit: '{call}',
  description:
    'Socket I/O calls the socket I/O map could not take (full, or out of memory in a burst of new sockets), sent on the ring buffer instead and still counted. A steady rate means more sockets are active per second than ebpf.maxFlows.',
  attributes: [],
};

export const IO_CACHE_EVICTIONS: MetricDefinition = {
  name: 'sockscope.ebpf.io.cache.evictions',
  prometheusName: 'sockscope_ebpf_io_cache_evictions_total',
  kind: 'counter',
  unit: '{eviction}',
  description:
    "Times a socket took a slot of the tracepoint probes' per-CPU socket I/O cache from another socket; the holder's sums moved to the socket I/O map, nothing is lost. A rate near the call rate means more sockets are busy per CPU than ebpf.ioCacheSlots.",
  attributes: [],
};

export const FLOW_MAP_ERRORS: MetricDefinition = {
  name: 'sockscope.ebpf.flow_map.errors',
  prometheusName: 'sockscope_ebpf_flow_map_errors_total',
  kind: 'counter',
  unit: '{error}',
  description:
    "Failed swaps or batch reads of the kernel's socket I/O maps. The sums stay in the kernel and are read at a later drain, so bytes arrive late, in a later interval; a steady rate means the addon cannot read the maps and bytes are piling up there.",
  attributes: [],
};

export const RECORDS_MALFORMED: MetricDefinition = {
  name: 'sockscope.ebpf.records.malformed',
  prometheusName: 'sockscope_ebpf_records_malformed_total',
  kind: 'counter',
  unit: '{record}',
  description:
    'Ring-buffer records of no known type, or shorter than their type, that the addon skipped: what they carried is missing from the other metrics. Non-zero means the BPF object and the addon disagree about the record layout.',
  attributes: [],
};

export const EVENTS_MISSED: MetricDefinition = {
  name: 'sockscope.ebpf.events.missed',
  prometheusName: 'sockscope_ebpf_events_missed_total',
  kind: 'counter',
  unit: '{event}',
  description:
    "Kernel events whose sockscope program did not run: a BPF program was already running on that CPU (the kernel's recursion protection, bpf_prog_info.recursion_misses), or, with kprobes, the probe missed (tracefs kprobe_profile nmissed: a kretprobe out of instances, a kprobe hit inside another kprobe's handler).",
  attributes: [d(ATTR_HOOK, '`socket_send`, `socket_recv`, `tcp_state`, `tcp_retransmit`')],
};

export const CONNECTIONS_RECONCILED: MetricDefinition = {
  name: 'sockscope.tcp.connections.reconciled',
  prometheusName: 'sockscope_tcp_connections_reconciled_total',
  kind: 'counter',
  unit: '{connection}',
  description: 'Connections the active gauge was corrected for from /proc/net/tcp, after their state change never reached sockscope: taken out (and counted closed) when the kernel no longer had them open, or put in (not counted opened) when it had them and no open was seen. Checked after a counted loss, and about every minute for losses the kernel did not count.',
  attributes: [d(ATTR_RECONCILED_AS, '`closed` (the kernel no longer had it), `opened` (the kernel had it, its open was not seen)')],
};

export const MAP_FULL: MetricDefinition = {
  name: 'sockscope.ebpf.map.full',
  prometheusName: 'sockscope_ebpf_map_full_total',
  kind: 'counter',
  unit: '{update}',
  description: 'Updates refused because a bounded map or table was full; what they carried is missing or unattributed.',
  attributes: [
    d(
      ATTR_MAP,
      '`sockets`, `listeners` (kernel maps), `flow_table`, `connection_events` (addon tables), `connections` (tracked connections)',
    ),
  ],
};

export const CONNTRACK_LOOKUPS: MetricDefinition = {
  name: 'sockscope.conntrack.lookups',
  prometheusName: 'sockscope_conntrack_lookups_total',
  kind: 'counter',
  unit: '{lookup}',
  description:
    'Conntrack lookups of a connection to a cluster peer, for `sockscope.peer.backend.address`, by outcome. Only the first of a connection is counted while it stays cached. Exported only with `metrics.clusterNetworks` set.',
  attributes: [
    d(
      ATTR_CONNTRACK_OUTCOME,
      '`backend` (a DNAT: the backend differs from the peer), `no_nat` (the entry exists, the backend is the peer); failures, which leave the backend empty: `not_found` (no entry in that namespace), `unavailable` (no conntrack netlink: module not loaded or no CAP_NET_ADMIN), `netns` (`metrics.conntrackNetns` could not be entered), `error`',
    ),
  ],
};

export const CONNTRACK_CACHE_EVICTED: MetricDefinition = {
  name: 'sockscope.conntrack.cache.evicted',
  prometheusName: 'sockscope_conntrack_cache_evicted_total',
  kind: 'counter',
  unit: '{entry}',
  description:
    "Cached conntrack answers of connections still open, dropped (oldest first) because the cache held `metrics.conntrackCacheSize` entries; the connection's next bytes look it up again. Exported only with `metrics.clusterNetworks` set.",
  attributes: [],
};

export const EVENT_STREAM_WRITTEN: MetricDefinition = {
  name: 'sockscope.event_stream.written',
  prometheusName: 'sockscope_event_stream_written_total',
  kind: 'counter',
  unit: '{event}',
  description: 'Connection events written to the event stream (`events.file`); exported only when it is on.',
  attributes: [],
};

export const EVENT_STREAM_DROPPED: MetricDefinition = {
  name: 'sockscope.event_stream.dropped',
  prometheusName: 'sockscope_event_stream_dropped_total',
  kind: 'counter',
  unit: '{event}',
  description:
    'Connection events the event stream (`events.file`) could not write; exported only when it is on. The metrics count them all the same.',
  attributes: [
    d(
      ATTR_DROP_REASON,
      '`buffer_full` (the file did not keep up and its buffer was full), `write_error` (a write or reopen failed, ' +
        'e.g. a full disk or a missing directory, until the file can be written again), `file_removed` ' +
        '(written to a file that was removed or replaced, before the writer noticed and reopened it)',
    ),
  ],
};

const exportErrorType = d(
  ATTR_ERROR_TYPE,
  'absent when the push succeeded; else the gRPC status it failed with, e.g. `UNAVAILABLE` (collector down), ' +
    '`UNAUTHENTICATED` (headers refused), `DEADLINE_EXCEEDED` (`otlp.timeout`), or `_OTHER`',
);

export const OTLP_EXPORTS: MetricDefinition = {
  name: 'sockscope.otlp.exports',
  prometheusName: 'sockscope_otlp_exports_total',
  kind: 'counter',
  unit: '{export}',
  description:
    'OTLP pushes finished, by outcome; exported only when `otlp.endpoint` is set. A failed push loses nothing: ' +
    'every push carries the cumulative totals.',
  attributes: [exportErrorType],
};

export const OTLP_DATA_POINTS: MetricDefinition = {
  name: 'otel.sdk.exporter.metric_data_point.exported',
  prometheusName: 'otel_sdk_exporter_metric_data_point_exported_total',
  kind: 'counter',
  unit: '{data_point}',
  description:
    'Data points in the finished OTLP pushes, by outcome (OTel\'s SDK exporter convention; a histogram is one data point); ' +
    'exported only when `otlp.endpoint` is set.',
  attributes: [exportErrorType],
};

export const PROGRAM_ATTACHED: MetricDefinition = {
  name: 'sockscope.ebpf.program.attached',
  prometheusName: 'sockscope_ebpf_program_attached',
  kind: 'gauge',
  unit: '',
  description: '1 for the implementation the attach plan chose for each hook; 0 for a hook with no working implementation.',
  attributes: [
    d(ATTR_HOOK, '`socket_send`, `socket_recv`, `tcp_state`, `tcp_retransmit`'),
    d(ATTR_IMPLEMENTATION, '`fentry`, `tp_btf`, `tracepoint`, `kprobe`, or `none`'),
  ],
};

export const MAP_MEMORY: MetricDefinition = {
  name: 'sockscope.ebpf.map.memory',
  prometheusName: 'sockscope_ebpf_map_memory_bytes',
  kind: 'gauge',
  unit: 'By',
  description:
    "Kernel memory of each BPF map sockscope created, as the kernel accounts it (the map's `memlock` in /proc/<pid>/fdinfo, what bpftool shows), per-CPU maps counted on every possible CPU. From Linux 6.4 it is what the map holds now; up to 5.10 the cost charged at creation (the full size, even of a map that allocates on use); 5.11 to 6.3 print an estimate, (key + value) x max_entries, that leaves out per-element overhead and reads 0 for the ring buffer.",
  attributes: [
    d(
      ATTR_MAP,
      'the map\'s name in the BPF object: `events` (ring buffer), `ss_stats`, `sockets`, `listeners`, the socket I/O maps ' +
        '(`io_socks_*`, `io_cache`, `io_calls`, only where socket I/O probes load) and the object\'s global-data maps (`*.rodata`, `*.bss`)',
    ),
  ],
};

const programAttributes = [
  d(ATTR_HOOK, '`socket_send`, `socket_recv`, `tcp_state`, `tcp_retransmit`'),
  d(ATTR_IMPLEMENTATION, '`fentry`, `tp_btf`, `tracepoint` or `kprobe`: the one the hook runs on'),
  d(ATTR_PROGRAM, 'the program\'s function name in ebpf/*.bpf.c, e.g. `btf_sock_send_length`, `kretprobe_inet_sendmsg`'),
];

export const PROGRAM_RUN_TIME: MetricDefinition = {
  name: 'sockscope.ebpf.program.run',
  prometheusName: 'sockscope_ebpf_program_run_seconds_total',
  kind: 'counter',
  unit: 's',
  description:
    "Time the kernel spent running each attached program since it loaded (bpf_prog_info run_time_ns). Exported only while the sysctl `kernel.bpf_stats_enabled` is 1: the kernel times programs only then, so it misses runs made while it was 0.",
  attributes: programAttributes,
};

export const PROGRAM_RUNS: MetricDefinition = {
  name: 'sockscope.ebpf.program.runs',
  prometheusName: 'sockscope_ebpf_program_runs_total',
  kind: 'counter',
  unit: '{run}',
  description:
    'Runs of each attached program since it loaded (bpf_prog_info run_cnt). Exported only while `kernel.bpf_stats_enabled` is 1, like the run time; run time over runs is the cost of one call.',
  attributes: programAttributes,
};

export const SERIES_OVERFLOW: MetricDefinition = {
  name: 'sockscope.metrics.series.overflow',
  prometheusName: 'sockscope_metrics_series_overflow_total',
  kind: 'counter',
  unit: '{update}',
  description:
    'Updates folded into the `otel_metric_overflow="true"` series of a metric because it had `metrics.maxSeries` series already.',
  attributes: [d(ATTR_METRIC, 'the OpenTelemetry name of the guarded metric')],
};

export const SERIES_ACTIVE: MetricDefinition = {
  name: 'sockscope.metrics.series',
  prometheusName: 'sockscope_metrics_series',
  kind: 'gauge',
  unit: '{series}',
  description: 'Series a metric exports now; idle ones leave after `metrics.ttl`.',
  attributes: [d(ATTR_METRIC, 'the OpenTelemetry name of the metric')],
};

export const BUILD_INFO: MetricDefinition = {
  name: 'sockscope.build.info',
  prometheusName: 'sockscope_build_info',
  kind: 'gauge',
  unit: '',
  description: 'Always 1; the attributes describe this sockscope build.',
  attributes: [d('version', 'sockscope version'), d('nodejs.version', 'Node.js runtime version')],
};

export const METRICS: readonly MetricDefinition[] = [
  NETWORK_IO,
  NETWORK_MESSAGES,
  CONNECTIONS_OPENED,
  CONNECTIONS_CLOSED,
  CONNECTIONS_FAILED,
  CONNECTIONS_ACTIVE,
  STATE_TRANSITIONS,
  RETRANSMITS,
  RTT,
  CONNECT_DURATION,
  CONNECTION_DURATION,
  EVENTS_LOST,
  IO_SPILLED,
  IO_CACHE_EVICTIONS,
  FLOW_MAP_ERRORS,
  RECORDS_MALFORMED,
  EVENTS_MISSED,
  MAP_FULL,
  CONNTRACK_LOOKUPS,
  CONNTRACK_CACHE_EVICTED,
  CONNECTIONS_RECONCILED,
  EVENT_STREAM_WRITTEN,
  EVENT_STREAM_DROPPED,
  OTLP_EXPORTS,
  OTLP_DATA_POINTS,
  PROGRAM_ATTACHED,
  MAP_MEMORY,
  PROGRAM_RUN_TIME,
  PROGRAM_RUNS,
  SERIES_OVERFLOW,
  SERIES_ACTIVE,
  BUILD_INFO,
];
