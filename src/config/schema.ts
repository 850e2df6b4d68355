/**
 * The settings of the daemon: one convict schema, from which the loader, the validation
 * messages and `sockscope --help` are all derived.
 */
import type convict from 'convict';
import { DEFAULT_IO_CACHE_SLOTS, DEFAULT_PEER_GROUPS } from './defaults.js';
import {
  BOOLEAN, DRAIN_INTERVAL, FILE_PATH, FORMATS, INPUT_FILE, HISTOGRAM_KIND, IO_CACHE_SLOTS, LISTEN_HOST, LOG_LEVEL, MAP_ENTRIES,
  CLUSTER_NETWORKS, MAX_SERIES, METRIC_ATTRIBUTES, HTTP_CONNECTIONS, HTTP_HEADER_SIZE, HTTP_TIMEOUT, OTLP_COMPRESSION, OTLP_DURATION, OTLP_ENDPOINT, OTLP_HEADERS, PEER_GROUPS, PORT, PROBE_MODE, RING_BUFFER_SIZE,
  SERIES_TTL, type LogLevel, type ProbeMode, type SettingFormat,
} from './formats.js';

export interface Config {
  /** webConfigFile '' serves plain HTTP without authentication. */
  /** Timeouts in milliseconds, maxHeaderSize in bytes. */
  prometheus: {
    enabled: boolean;
    host: string;
    port: number;
    webConfigFile: string;
    probesWithoutAuth: boolean;
    maxConnections: number;
    headersTimeout: number;
    requestTimeout: number;
    keepAliveTimeout: number;
    maxHeaderSize: number;
  };
  /** endpoint '' turns OTLP push off. interval and timeout are in milliseconds. */
  otlp: {
    endpoint: string;
    interval: number;
    timeout: number;
    histograms: 'explicit' | 'exponential';
    /** key=value pairs (OTEL_EXPORTER_OTLP_HEADERS syntax); headersFile '' is none. */
    headers: string;
    headersFile: string;
    compression: 'none' | 'gzip';
    /** PEM files for https:// endpoints; '' leaves each to the OTEL_EXPORTER_OTLP_* variables. */
    caFile: string;
    certFile: string;
    keyFile: string;
  };
  log: { level: LogLevel };
  /** ringBufferSize in bytes, drainInterval in milliseconds. */
  ebpf: { ringBufferSize: number; drainInterval: number; maxFlows: number; ioCacheSlots: number; maxSockets: number; maxListeners: number };
  probes: { mode: ProbeMode };
  /** ttl in milliseconds; attributes: metric -> exported attributes; peerGroups: name -> CIDRs. */
  metrics: {
    maxSeries: number;
    ttl: number;
    maxConnections: number;
    /** A list, not a map: convict would read the dots of metric names as nesting. */
    attributes: Array<{ metric: string; attributes: string[] }>;
    peerGroups: Record<string, string[]>;
    /** Pod and service CIDRs whose peers are exported by address; [] = none. */
    clusterNetworks: string[];
    /** Network namespace file whose conntrack names the backends ('' = the daemon's own). */
    conntrackNetns: string;
    conntrackCacheSize: number;
  };
  /** Where the host's cgroup2 tree and kubelet pod logs are mounted ('' = find / default). */
  attribution: { cgroupRoot: string; podLogRoot: string };
  /** file '' turns the JSON-lines event stream off. */
  events: { file: string };
  /** The landing page /, the JSON API /api/v1/ and the live page /ui/ on the metrics server. */
  ui: { enabled: boolean };
}

/**
 * Every setting's format, default, doc, environment variable (`env`) and flag (`arg`, the
 * name after "--"). load.ts hands convict the environment; flags.ts reads the flags, since
 * convict's own parser (yargs-parser) rewrites number-like text and joins repeated flags.
 */
export const configSchema: convict.Schema<Config> = {
  prometheus: {
    enabled: {
      doc: 'Serve Prometheus metrics over HTTP at /metrics (with /healthz and /readyz).',
      format: BOOLEAN.name,
      default: true,
      env: 'SOCKSCOPE_PROMETHEUS_ENABLED',
      arg: 'prometheus.enabled',
    },
    host: {
      doc: 'Address the metrics HTTP server listens on.',
      format: LISTEN_HOST.name,
      default: '0.0.0.0',
      env: 'SOCKSCOPE_PROMETHEUS_HOST',
      arg: 'prometheus.host',
    },
    port: {
      doc: 'TCP port the metrics HTTP server listens on; 0 picks a free port.',
      format: PORT.name,
      default: 9464,
      env: 'SOCKSCOPE_PROMETHEUS_PORT',
      arg: 'prometheus.port',
    },
    webConfigFile: {
      doc:
        'A web configuration file in the Prometheus exporter-toolkit format (tls_server_config, basic_auth_users, ' +
        'http_server_config.headers, rate_limit) for every endpoint of the metrics server; re-read when it or a file it names ' +
        'changes. Empty serves plain HTTP without authentication.',
      format: INPUT_FILE.name,
      default: '',
      env: 'SOCKSCOPE_PROMETHEUS_WEBCONFIGFILE',
      arg: 'prometheus.webConfigFile',
    },
    probesWithoutAuth: {
      doc:
        'Answer /healthz and /readyz without basic auth (TLS still applies), for kubelet probes, which cannot send ' +
        'credentials. /metrics always needs them when the web config has basic_auth_users.',
      format: BOOLEAN.name,
      default: false,
      env: 'SOCKSCOPE_PROMETHEUS_PROBESWITHOUTAUTH',
      arg: 'prometheus.probesWithoutAuth',
    },
    // Limits against clients that hold connections or trickle requests (docs/faults.md).
    maxConnections: {
      doc: 'Most connections the metrics server holds open at once; it closes further ones as they arrive.',
      format: HTTP_CONNECTIONS.name,
      default: 1024,
      env: 'SOCKSCOPE_PROMETHEUS_MAXCONNECTIONS',
      arg: 'prometheus.maxConnections',
    },
    headersTimeout: {
      doc: 'Time a client has to send the request line and headers (from connecting or the previous answer); then 408 and close.',
      format: HTTP_TIMEOUT.name,
      default: 10_000,
      env: 'SOCKSCOPE_PROMETHEUS_HEADERSTIMEOUT',
      arg: 'prometheus.headersTimeout',
    },
    requestTimeout: {
      doc: 'Time a client has to send a whole request; then 408 and close. At least prometheus.headersTimeout.',
      format: HTTP_TIMEOUT.name,
      default: 30_000,
      env: 'SOCKSCOPE_PROMETHEUS_REQUESTTIMEOUT',
      arg: 'prometheus.requestTimeout',
    },
    keepAliveTimeout: {
      doc: 'How long an idle keep-alive connection is kept after an answer before the server closes it.',
      format: HTTP_TIMEOUT.name,
      default: 5000,
      env: 'SOCKSCOPE_PROMETHEUS_KEEPALIVETIMEOUT',
      arg: 'prometheus.keepAliveTimeout',
    },
    maxHeaderSize: {
      doc: 'Largest request line plus headers accepted; a larger request gets 431.',
      format: HTTP_HEADER_SIZE.name,
      default: 16 * 1024,
      env: 'SOCKSCOPE_PROMETHEUS_MAXHEADERSIZE',
      arg: 'prometheus.maxHeaderSize',
    },
  },
  otlp: {
    endpoint: {
      doc: 'OTLP/gRPC collector to push metrics to; empty turns OTLP push off.',
      format: OTLP_ENDPOINT.name,
      default: '',
      env: 'SOCKSCOPE_OTLP_ENDPOINT',
      arg: 'otlp.endpoint',
    },
    interval: {
      doc: 'How often metrics are pushed to the OTLP endpoint.',
      format: OTLP_DURATION.name,
      default: 10_000,
      env: 'SOCKSCOPE_OTLP_INTERVAL',
      arg: 'otlp.interval',
    },
    timeout: {
      doc: 'How long one OTLP push may take; at most otlp.interval, and lowered to it when not set.',
      format: OTLP_DURATION.name,
      default: 10_000,
      env: 'SOCKSCOPE_OTLP_TIMEOUT',
      arg: 'otlp.timeout',
    },
    histograms: {
      doc:
        'Histograms pushed over OTLP: explicit (the same buckets as /metrics) or exponential (base-2, ' +
        'no configured bounds). /metrics always uses explicit buckets.',
      format: HISTOGRAM_KIND.name,
      default: 'explicit',
      env: 'SOCKSCOPE_OTLP_HISTOGRAMS',
      arg: 'otlp.histograms',
    },
    headers: {
      doc:
        'gRPC headers sent with every push, e.g. "authorization=Bearer <token>", as key=value pairs separated by commas ' +
        '(the syntax of OTEL_EXPORTER_OTLP_HEADERS, which is read too, for keys not set here). Never shown in messages.',
      format: OTLP_HEADERS.name,
      default: '',
      env: 'SOCKSCOPE_OTLP_HEADERS',
      arg: 'otlp.headers',
    },
    headersFile: {
      doc:
        'File of more headers, key=value pairs separated by commas or newlines (e.g. a mounted Secret); ' +
        'read at start-up, and otlp.headers wins for a key set in both.',
      format: INPUT_FILE.name,
      default: '',
      env: 'SOCKSCOPE_OTLP_HEADERSFILE',
      arg: 'otlp.headersFile',
    },
    compression: {
      doc: 'Compression of the pushed messages: none or gzip.',
      format: OTLP_COMPRESSION.name,
      default: 'none',
      env: 'SOCKSCOPE_OTLP_COMPRESSION',
      arg: 'otlp.compression',
    },
    caFile: {
      doc:
        'PEM file of the CA certificates that verify an https:// endpoint, instead of the system\'s; empty uses ' +
        'OTEL_EXPORTER_OTLP_CERTIFICATE if set.',
      format: INPUT_FILE.name,
      default: '',
      env: 'SOCKSCOPE_OTLP_CAFILE',
      arg: 'otlp.caFile',
    },
    certFile: {
      doc: 'PEM client certificate (chain) for mutual TLS with an https:// endpoint; needs otlp.keyFile.',
      format: INPUT_FILE.name,
      default: '',
      env: 'SOCKSCOPE_OTLP_CERTFILE',
      arg: 'otlp.certFile',
    },
    keyFile: {
      doc: 'PEM private key of otlp.certFile.',
      format: INPUT_FILE.name,
      default: '',
      env: 'SOCKSCOPE_OTLP_KEYFILE',
      arg: 'otlp.keyFile',
    },
  },
  log: {
    level: {
      doc: 'Lowest level of the JSON log lines written to stdout; silent turns logging off.',
      format: LOG_LEVEL.name,
      default: 'info',
      env: 'SOCKSCOPE_LOG_LEVEL',
      arg: 'log.level',
    },
  },
  ebpf: {
    ringBufferSize: {
      doc:
        'Size of the kernel-to-user ring buffer of TCP state changes and retransmits (bytes are summed in the kernel); ' +
        'a bigger ring loses fewer events in bursts of connection churn.',
      format: RING_BUFFER_SIZE.name,
      default: 1024 * 1024,
      env: 'SOCKSCOPE_EBPF_RINGBUFFERSIZE',
      arg: 'ebpf.ringBufferSize',
    },
    drainInterval: {
      doc: 'How often the native thread drains the ring buffer of connection events (byte sums are read once a second).',
      format: DRAIN_INTERVAL.name,
      default: 50,
      env: 'SOCKSCOPE_EBPF_DRAININTERVAL',
      arg: 'ebpf.drainInterval',
    },
    maxFlows: {
      doc:
        'Flows aggregated between two drains (once a second): entries of each of the kernel\'s two socket I/O maps ' +
        '(calls a full one cannot take go on the ring buffer) and of the addon\'s flow table (counted as map full). ' +
        'One entry per socket and process active in the second, shared by all CPUs: 192 bytes of kernel memory per ' +
        'entry and map, allocated on use on Linux >= 6.1, preallocated before (13 MiB for both maps at the default).',
      format: MAP_ENTRIES.name,
      default: 32_768,
      env: 'SOCKSCOPE_EBPF_MAXFLOWS',
      arg: 'ebpf.maxFlows',
    },
    ioCacheSlots: {
      doc:
        'Slots per CPU of the socket I/O cache the tracepoint probes add to before the socket I/O maps: a call whose socket ' +
        'holds its slot costs no hash-map lookup. 152 bytes per slot, twice per CPU (1024: 304 KiB per CPU); ' +
        'a socket that finds its slot taken moves the holder into the maps. Allocated only when socket I/O runs on ' +
        'tracepoints (fexit and kprobes add to the maps directly). 0 turns the cache off.',
      format: IO_CACHE_SLOTS.name,
      default: DEFAULT_IO_CACHE_SLOTS,
      env: 'SOCKSCOPE_EBPF_IOCACHESLOTS',
      arg: 'ebpf.ioCacheSlots',
    },
    maxSockets: {
      doc:
        'Entries of the kernel hash of TCP socket owners, two per loopback connection (one per end); when full, new sockets ' +
        'get no owner from the kernel (counted in sockscope_ebpf_map_full_total{sockscope_ebpf_map="sockets"}). ' +
        'From Linux 6.1 allocated on use, ~128 bytes per live socket; before, preallocated: ~144 bytes each (262,144: 36 MiB).',
      format: MAP_ENTRIES.name,
      // 100k concurrent loopback connections are 200k sockets (docs/performance.md).
      default: 262_144,
      env: 'SOCKSCOPE_EBPF_MAXSOCKETS',
      arg: 'ebpf.maxSockets',
    },
    maxListeners: {
      doc: 'Entries of the kernel hash of listening-socket owners; when full, new listeners get no owner from the kernel (counted in sockscope_ebpf_map_full_total{sockscope_ebpf_map="listeners"}).',
      format: MAP_ENTRIES.name,
      default: 8192,
      env: 'SOCKSCOPE_EBPF_MAXLISTENERS',
      arg: 'ebpf.maxListeners',
    },
  },
  metrics: {
    maxSeries: {
      doc:
        'Most series one metric exports; past it, new attribute sets fold into one otel_metric_overflow="true" series ' +
        '(counted by sockscope_metrics_series_overflow_total).',
      format: MAX_SERIES.name,
      default: 5000,
      env: 'SOCKSCOPE_METRICS_MAXSERIES',
      arg: 'metrics.maxSeries',
    },
    ttl: {
      doc: 'A series not updated for this long is no longer exported (exited processes, closed pods).',
      format: SERIES_TTL.name,
      default: 300_000,
      env: 'SOCKSCOPE_METRICS_TTL',
      arg: 'metrics.ttl',
    },
    maxConnections: {
      doc: 'Most TCP connections tracked for the active gauge and lifetimes; more are counted as map full.',
      format: MAP_ENTRIES.name,
      default: 262_144,
      env: 'SOCKSCOPE_METRICS_MAXCONNECTIONS',
      arg: 'metrics.maxConnections',
    },
    attributes: {
      doc:
        'Per metric, the attributes to export instead of its defaults, as a JSON list: ' +
        '[{"metric": "sockscope.network.io", "attributes": ["process.executable.name", "process.pid"]}]. ' +
        'Candidates are listed in docs/metrics.md.',
      format: METRIC_ATTRIBUTES.name,
      default: [],
      env: 'SOCKSCOPE_METRICS_ATTRIBUTES',
      arg: 'metrics.attributes',
    },
    peerGroups: {
      doc:
        'Named CIDR groups for sockscope.peer.group, as JSON, checked in order; an address in none is "external". ' +
        'Replaces the default loopback/private groups.',
      format: PEER_GROUPS.name,
      default: Object.fromEntries(Object.entries(DEFAULT_PEER_GROUPS).map(([name, cidrs]) => [name, [...cidrs]])),
      env: 'SOCKSCOPE_METRICS_PEERGROUPS',
      arg: 'metrics.peerGroups',
    },
    clusterNetworks: {
      doc:
        'The cluster\'s pod and service networks, as a JSON list of CIDRs (IPv4 and IPv6), e.g. ' +
        '["10.244.0.0/16", "10.96.0.0/12"]. Peers inside them are exported with network.peer.address (and ' +
        'network.peer.port when the peer is the server) on the bytes, messages, connection, retransmit and RTT ' +
        'metrics, for Prometheus to name by joining with kube-state-metrics; other peers keep only their peer group. ' +
        'Entries must not overlap. Empty exports no peer addresses.',
      format: CLUSTER_NETWORKS.name,
      default: [],
      env: 'SOCKSCOPE_METRICS_CLUSTERNETWORKS',
      arg: 'metrics.clusterNetworks',
    },
    conntrackNetns: {
      doc:
        'The network namespace whose conntrack table has the Service DNATs, as a /proc/<pid>/ns/net or /run/netns/<name> ' +
        'path; empty is the daemon\'s own (the node\'s, with hostNetwork). With clusterNetworks set, the backend behind ' +
        'each connection to a cluster peer is looked up there and exported as sockscope.peer.backend.address.',
      format: FILE_PATH.name,
      default: '',
      env: 'SOCKSCOPE_METRICS_CONNTRACKNETNS',
      arg: 'metrics.conntrackNetns',
    },
    conntrackCacheSize: {
      doc:
        'Most connections whose conntrack answer is kept; past it the oldest is dropped (counted in ' +
        'sockscope_conntrack_cache_evicted_total) and looked up again if it sends more.',
      format: MAP_ENTRIES.name,
      default: 65_536,
      env: 'SOCKSCOPE_METRICS_CONNTRACKCACHESIZE',
      arg: 'metrics.conntrackCacheSize',
    },
  },
  attribution: {
    cgroupRoot: {
      doc: 'Where the host\'s cgroup v2 tree is mounted (e.g. /host/sys/fs/cgroup in a container); empty finds it in /proc/self/mountinfo.',
      format: FILE_PATH.name,
      default: '',
      env: 'SOCKSCOPE_ATTRIBUTION_CGROUPROOT',
      arg: 'attribution.cgroupRoot',
    },
    podLogRoot: {
      doc: 'The kubelet\'s pod log directory, for pod and container names.',
      format: FILE_PATH.name,
      default: '/var/log/pods',
      env: 'SOCKSCOPE_ATTRIBUTION_PODLOGROOT',
      arg: 'attribution.podLogRoot',
    },
  },
  probes: {
    mode: {
      doc:
        'Which kind of kernel hook to use: auto picks, per hook, the cheapest that loads and attaches here ' +
        '(fentry, tp_btf, tracepoint, kprobe); fentry, kprobe or tracepoint (classic) force that family for ' +
        'every hook that has one.',
      format: PROBE_MODE.name,
      default: 'auto',
      env: 'SOCKSCOPE_PROBES_MODE',
      arg: 'probes.mode',
    },
  },
  events: {
    file: {
      doc: 'Append TCP state changes and retransmits as JSON lines to this file ("-" for stdout); empty turns it off.',
      format: FILE_PATH.name,
      default: '',
      env: 'SOCKSCOPE_EVENTS_FILE',
      arg: 'events.file',
    },
  },
  ui: {
    enabled: {
      doc:
        'Serve the landing page (/), the JSON API (/api/v1/, see docs/api.md) and the live view (/ui/) beside /metrics, ' +
        'behind the same listener, TLS and basic auth; false answers them 404.',
      format: BOOLEAN.name,
      default: true,
      env: 'SOCKSCOPE_UI_ENABLED',
      arg: 'ui.enabled',
    },
  },
};

/** One leaf of the schema, with everything the loader and --help need to know about it. */
export interface Setting {
  /** Dotted path, e.g. "prometheus.port". */
  readonly key: string;
  /** e.g. "--prometheus.port". */
  readonly flag: string;
  /** e.g. "SOCKSCOPE_PROMETHEUS_PORT". */
  readonly env: string;
  /** Other accepted names: camelCase words split by "_", e.g. SOCKSCOPE_EBPF_RING_BUFFER_SIZE. */
  readonly envAliases: readonly string[];
  readonly default: unknown;
  readonly doc: string;
  readonly format: SettingFormat;
}

export const ENV_PREFIX = 'SOCKSCOPE_';

/** "ebpf.ringBufferSize" -> "SOCKSCOPE_EBPF_RINGBUFFERSIZE". */
export function envVarName(key: string): string {
  return ENV_PREFIX + key.toUpperCase().replace(/\./g, '_');
}

/** Every setting, in schema order. */
export const SETTINGS: readonly Setting[] = collectSettings(configSchema, '');

function collectSettings(group: object, prefix: string): Setting[] {
  return Object.entries(group).flatMap(([name, child]: [string, unknown]): Setting[] => {
    const key = prefix + name;
    if (typeof child !== 'object' || child === null) throw new Error(`schema: ${key} must be a setting or a group`);
    // convict's own rule: a node with a "default" is a setting, any other object is a group.
    if (!('default' in child)) return collectSettings(child, `${key}.`);
    const format = FORMATS.find((candidate) => candidate.name === textField(child, 'format'));
    const doc = textField(child, 'doc');
    const env = textField(child, 'env');
    if (format === undefined || doc === undefined || env !== envVarName(key) || textField(child, 'arg') !== key) {
      throw new Error(`schema: ${key} needs a sockscope format, a doc, env ${envVarName(key)} and arg ${key}`);
    }
    const snakeEnv = ENV_PREFIX + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase().replace(/\./g, '_');
    return [{
      key,
      flag: `--${key}`,
      env,
      envAliases: snakeEnv === env ? [] : [snakeEnv],
      default: child.default,
      doc,
      format,
    }];
  });
}

function textField(node: object, field: 'format' | 'doc' | 'env' | 'arg'): string | undefined {
  const value: unknown = Reflect.get(node, field);
  return typeof value === 'string' ? value : undefined;
}

/** metrics.attributes as the metrics layer takes it: metric name -> attribute names. */
export function attributeSelection(config: Config): Record<string, string[]> {
  return Object.fromEntries(config.metrics.attributes.map((entry) => [entry.metric, entry.attributes]));
}
