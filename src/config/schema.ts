/**
 * The settings of the daemon: one convict schema, from which the loader, the validation
 * messages and `sockscope --help` are all derived.
 */
import convict from 'convict';
import { formatByteSize, formatDurationMs, parseByteSize, parseDurationMs } from './duration.js';
import { DEFAULT_IO_CACHE_SLOTS } from '../collector/bpf-collector.js';
import { AttributePolicy } from '../metrics/attribute-policy.js';
import { METRICS } from '../metrics/definitions.js';
import { DEFAULT_PEER_GROUPS, parseCidr } from '../metrics/peer-groups.js';

export interface Config {
  prometheus: { enabled: boolean; host: string; port: number };
  /** endpoint '' turns OTLP push off. interval and timeout are in milliseconds. */
  otlp: { endpoint: string; interval: number; timeout: number; histograms: 'explicit' | 'exponential' };
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
  };
  /** Where the host's cgroup2 tree and kubelet pod logs are mounted ('' = find / default). */
  attribution: { cgroupRoot: string; podLogRoot: string };
  /** file '' turns the JSON-lines event stream off. */
  events: { file: string };
}

export const PROBE_MODES = ['auto', 'fentry', 'kprobe', 'tracepoint'] as const;
export type ProbeMode = (typeof PROBE_MODES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a setting's value is written as text, converted, checked and shown. */
export interface SettingFormat {
  /** The convict format name. */
  readonly name: string;
  /** The value placeholder shown after the flag in --help, e.g. "<port>". */
  readonly placeholder: string;
  /** What is allowed, phrased to follow the key: "must be an integer from 0 to 65535". */
  readonly allowed: string;
  /**
   * Converts text (env, flags, strings in the file) to the setting's type. Text it cannot read
   * is returned unchanged, so that validation rejects it and the message quotes it as given.
   */
  coerce(text: string): unknown;
  isValid(value: unknown): boolean;
  /** The value as a person would write it, e.g. 16777216 -> "16MiB". */
  show(value: unknown): string;
}

const BOOLEAN: SettingFormat = {
  name: 'sockscope-boolean',
  placeholder: '<true|false>',
  allowed: 'must be true or false',
  // convict's own boolean coercion reads every text but "false" as true; this one is strict.
  coerce: (text) => (text === 'true' ? true : text === 'false' ? false : text),
  isValid: (value) => typeof value === 'boolean',
  show: String,
};

const PORT: SettingFormat = {
  name: 'sockscope-port',
  placeholder: '<port>',
  allowed: 'must be an integer from 0 to 65535',
  coerce: (text) => (/^\d+$/.test(text) ? Number(text) : text),
  isValid: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535,
  show: String,
};

const LISTEN_HOST: SettingFormat = {
  name: 'sockscope-listen-host',
  placeholder: '<host>',
  allowed: 'must be a host name or IP address without spaces or "/", e.g. 0.0.0.0 or ::1',
  coerce: (text) => text,
  isValid: (value) => typeof value === 'string' && /^[^\s/]+$/.test(value),
  show: String,
};

const OTLP_ENDPOINT: SettingFormat = {
  name: 'sockscope-otlp-endpoint',
  placeholder: '<url>',
  allowed: 'must be empty (OTLP push off) or an http:// or https:// URL, e.g. http://localhost:4317',
  coerce: (text) => text,
  isValid: (value) => typeof value === 'string' && (value === '' || isHttpUrl(value)),
  show: (value) => (value === '' ? '"" (off)' : String(value)),
};

/** A setting that takes one of a few words. */
function oneOf(name: string, placeholder: string, values: readonly string[]): SettingFormat {
  return {
    name,
    placeholder,
    allowed: `must be one of ${values.join(', ')}`,
    coerce: (text) => text,
    isValid: (value) => values.includes(value as string),
    show: String,
  };
}

const LOG_LEVEL = oneOf('sockscope-log-level', '<level>', LOG_LEVELS);

function durationFormat(name: string, minMs: number, maxMs: number): SettingFormat {
  return {
    name,
    placeholder: '<duration>',
    allowed:
      `must be a duration from ${formatDurationMs(minMs)} to ${formatDurationMs(maxMs)}: ` +
      'integer milliseconds or text like "500ms", "10s", "1m"',
    coerce: (text) => parseDurationMs(text) ?? text,
    isValid: (value) => Number.isInteger(value) && (value as number) >= minMs && (value as number) <= maxMs,
    show: (value) => formatDurationMs(value as number),
  };
}

// A day bounds the push period well below the 2^31-1 ms at which Node timers misfire.
const OTLP_DURATION = durationFormat('sockscope-otlp-duration', 1, 24 * 3_600_000);
const DRAIN_INTERVAL = durationFormat('sockscope-drain-interval', 1, 10_000);

/** 0 or a power of two: at most one bit set. */
const atMostOneBit = (value: number): boolean => (value & (value - 1)) === 0;

const MIN_RING_BYTES = 4096;
const MAX_RING_BYTES = 1024 ** 3;

const RING_BUFFER_SIZE: SettingFormat = {
  name: 'sockscope-ring-buffer-size',
  placeholder: '<size>',
  // The kernel requires a BPF ring buffer to be a power of two and a multiple of the page size.
  allowed:
    `must be a power of two from ${MIN_RING_BYTES} (${formatByteSize(MIN_RING_BYTES)}) to ` +
    `${MAX_RING_BYTES} (${formatByteSize(MAX_RING_BYTES)}) bytes: an integer or text like "16MiB", "4096KiB"`,
  coerce: (text) => parseByteSize(text) ?? text,
  isValid: (value) =>
    Number.isInteger(value) &&
    (value as number) >= MIN_RING_BYTES &&
    (value as number) <= MAX_RING_BYTES &&
    atMostOneBit(value as number),
  show: (value) => formatByteSize(value as number),
};

const PROBE_MODE = oneOf('sockscope-probe-mode', '<mode>', PROBE_MODES);

const FILE_PATH: SettingFormat = {
  name: 'sockscope-file-path',
  placeholder: '<path>',
  allowed: 'must be a file path, "-" for standard output, or empty for off',
  coerce: (text) => text,
  isValid: (value) => typeof value === 'string' && !value.includes('\0'),
  show: (value) => (value === '' ? '(off)' : String(value)),
};

const count = (name: string, min: number, max: number): SettingFormat => ({
  name,
  placeholder: '<n>',
  allowed: `must be an integer from ${min} to ${max}`,
  coerce: (text) => (/^\d+$/.test(text) ? Number(text) : text),
  isValid: (value) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max,
  show: String,
});
const MAX_SERIES = count('sockscope-max-series', 1, 10_000_000);
const MAP_ENTRIES = count('sockscope-map-entries', 64, 16_777_216);
const MAX_IO_CACHE_SLOTS = 65_536;

const IO_CACHE_SLOT_COUNT = count('sockscope-io-cache-slots', 0, MAX_IO_CACHE_SLOTS);
const IO_CACHE_SLOTS: SettingFormat = {
  ...IO_CACHE_SLOT_COUNT,
  allowed: `must be 0 (no cache) or a power of two from 1 to ${MAX_IO_CACHE_SLOTS}`,
  isValid: (value) => IO_CACHE_SLOT_COUNT.isValid(value) && atMostOneBit(value as number),
};
const SERIES_TTL = durationFormat('sockscope-series-ttl', 1000, 7 * 24 * 3600 * 1000);

/** A JSON object whose values are arrays of strings (given as JSON text in env and flags). */
const stringListMap = (name: string, what: string, checkEntry: (key: string, values: string[]) => string | undefined): SettingFormat => ({
  name,
  placeholder: '<json>',
  allowed: `must be a JSON object of ${what}`,
  coerce: (text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  },
  isValid: (value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.entries(value).every(
      ([k, v]) => Array.isArray(v) && v.every((x) => typeof x === 'string') && checkEntry(k, v as string[]) === undefined,
    ),
  show: (value) => JSON.stringify(value).replace(/,/g, ', '),
});
const METRIC_ATTRIBUTES: SettingFormat = {
  name: 'sockscope-metric-attributes',
  placeholder: '<json>',
  allowed:
    'must be a JSON list of {"metric": <OTel metric name>, "attributes": [<attribute names>]}, with the ' +
    'attributes each metric lists in docs/metrics.md',
  coerce: (text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  },
  isValid: (value) =>
    Array.isArray(value) &&
    value.every(
      (e: unknown) =>
        typeof e === 'object' &&
        e !== null &&
        typeof (e as { metric?: unknown }).metric === 'string' &&
        Array.isArray((e as { attributes?: unknown }).attributes) &&
        (e as { attributes: unknown[] }).attributes.every((a) => typeof a === 'string') &&
        AttributePolicy.validate(METRICS, { [(e as { metric: string }).metric]: (e as { attributes: string[] }).attributes }).length === 0,
    ),
  show: (value) => JSON.stringify(value).replace(/,/g, ', '),
};
const PEER_GROUPS = stringListMap('sockscope-peer-groups', 'group name -> list of CIDRs, e.g. {"corp": ["10.0.0.0/8"]}', (_name, cidrs) =>
  cidrs.find((c) => parseCidr(c) === undefined),
);

const HISTOGRAM_KINDS = ['explicit', 'exponential'] as const;
const HISTOGRAM_KIND = oneOf('sockscope-histogram-kind', '<kind>', HISTOGRAM_KINDS);

const FORMATS: readonly SettingFormat[] = [
  BOOLEAN, PORT, LISTEN_HOST, OTLP_ENDPOINT, LOG_LEVEL, OTLP_DURATION, DRAIN_INTERVAL, RING_BUFFER_SIZE, PROBE_MODE,
  FILE_PATH, MAX_SERIES, MAP_ENTRIES, IO_CACHE_SLOTS, SERIES_TTL, METRIC_ATTRIBUTES, PEER_GROUPS, HISTOGRAM_KIND,
];

convict.addFormats(
  Object.fromEntries(
    FORMATS.map((format): [string, convict.Format] => [
      format.name,
      {
        validate(value: unknown): void {
          if (!format.isValid(value)) throw new Error(format.allowed);
        },
        coerce: (value: string) => format.coerce(value),
      },
    ]),
  ),
);

export const configSchema: convict.Schema<Config> = {
  prometheus: {
    enabled: {
      doc: 'Serve Prometheus metrics over HTTP at /metrics (with /healthz and /readyz).',
      format: BOOLEAN.name,
      default: true,
      env: 'SOCKSCOPE_PROMETHEUS_ENABLED',
    },
    host: {
      doc: 'Address the metrics HTTP server listens on.',
      format: LISTEN_HOST.name,
      default: '0.0.0.0',
      env: 'SOCKSCOPE_PROMETHEUS_HOST',
    },
    port: {
      doc: 'TCP port the metrics HTTP server listens on; 0 picks a free port.',
      format: PORT.name,
      default: 9464,
      env: 'SOCKSCOPE_PROMETHEUS_PORT',
    },
  },
  otlp: {
    endpoint: {
      doc: 'OTLP/gRPC collector to push metrics to; empty turns OTLP push off.',
      format: OTLP_ENDPOINT.name,
      default: '',
      env: 'SOCKSCOPE_OTLP_ENDPOINT',
    },
    interval: {
      doc: 'How often metrics are pushed to the OTLP endpoint.',
      format: OTLP_DURATION.name,
      default: 10_000,
      env: 'SOCKSCOPE_OTLP_INTERVAL',
    },
    timeout: {
      doc: 'How long one OTLP push may take; at most otlp.interval, and lowered to it when not set.',
      format: OTLP_DURATION.name,
      default: 10_000,
      env: 'SOCKSCOPE_OTLP_TIMEOUT',
    },
    histograms: {
      doc:
        'Histograms pushed over OTLP: explicit (the same buckets as /metrics) or exponential (base-2, ' +
        'no configured bounds). /metrics always uses explicit buckets.',
      format: HISTOGRAM_KIND.name,
      default: 'explicit',
      env: 'SOCKSCOPE_OTLP_HISTOGRAMS',
    },
  },
  log: {
    level: {
      doc: 'Lowest level of the JSON log lines written to stdout; silent turns logging off.',
      format: LOG_LEVEL.name,
      default: 'info',
      env: 'SOCKSCOPE_LOG_LEVEL',
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
    },
    drainInterval: {
      doc: 'How often the native thread drains the ring buffer of connection events (byte sums are read once a second).',
      format: DRAIN_INTERVAL.name,
      default: 50,
      env: 'SOCKSCOPE_EBPF_DRAININTERVAL',
    },
    maxFlows: {
      doc:
        'Flows aggregated between two drains (once a second): entries of each of the kernel\'s two per-CPU socket I/O maps ' +
        '(calls a full one cannot take go on the ring buffer) and of the addon\'s flow table (counted as map full). ' +
        'The kernel maps allocate on use on Linux >= 6.1; before, each holds this many 112-byte values on every CPU.',
      format: MAP_ENTRIES.name,
      default: 65_536,
      env: 'SOCKSCOPE_EBPF_MAXFLOWS',
    },
    ioCacheSlots: {
      doc:
        'Slots per CPU of the socket I/O cache the tracepoint probes add to before the per-CPU maps: a call whose socket ' +
        'holds its slot costs no hash-map lookup. 136 bytes per slot, twice per CPU (1024: 272 KiB per CPU); ' +
        'a socket that finds its slot taken moves the holder into the maps. Allocated only when socket I/O runs on ' +
        'tracepoints (fexit and kprobes add to the maps directly). 0 turns the cache off.',
      format: IO_CACHE_SLOTS.name,
      default: DEFAULT_IO_CACHE_SLOTS,
      env: 'SOCKSCOPE_EBPF_IOCACHESLOTS',
    },
    maxSockets: {
      doc: 'Entries of the kernel LRU map of TCP socket owners.',
      format: MAP_ENTRIES.name,
      default: 65_536,
      env: 'SOCKSCOPE_EBPF_MAXSOCKETS',
    },
    maxListeners: {
      doc: 'Entries of the kernel LRU map of listening-socket owners.',
      format: MAP_ENTRIES.name,
      default: 8192,
      env: 'SOCKSCOPE_EBPF_MAXLISTENERS',
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
    },
    ttl: {
      doc: 'A series not updated for this long is no longer exported (exited processes, closed pods).',
      format: SERIES_TTL.name,
      default: 300_000,
      env: 'SOCKSCOPE_METRICS_TTL',
    },
    maxConnections: {
      doc: 'Most TCP connections tracked for the active gauge and lifetimes; more are counted as map full.',
      format: MAP_ENTRIES.name,
      default: 262_144,
      env: 'SOCKSCOPE_METRICS_MAXCONNECTIONS',
    },
    attributes: {
      doc:
        'Per metric, the attributes to export instead of its defaults, as a JSON list: ' +
        '[{"metric": "sockscope.network.io", "attributes": ["process.executable.name", "process.pid"]}]. ' +
        'Candidates are listed in docs/metrics.md.',
      format: METRIC_ATTRIBUTES.name,
      default: [],
      env: 'SOCKSCOPE_METRICS_ATTRIBUTES',
    },
    peerGroups: {
      doc:
        'Named CIDR groups for sockscope.peer.group, as JSON, checked in order; an address in none is "external". ' +
        'Replaces the default loopback/private groups.',
      format: PEER_GROUPS.name,
      default: DEFAULT_PEER_GROUPS as Record<string, string[]>,
      env: 'SOCKSCOPE_METRICS_PEERGROUPS',
    },
  },
  attribution: {
    cgroupRoot: {
      doc: 'Where the host\'s cgroup v2 tree is mounted (e.g. /host/sys/fs/cgroup in a container); empty finds it in /proc/self/mountinfo.',
      format: FILE_PATH.name,
      default: '',
      env: 'SOCKSCOPE_ATTRIBUTION_CGROUPROOT',
    },
    podLogRoot: {
      doc: 'The kubelet\'s pod log directory, for pod and container names.',
      format: FILE_PATH.name,
      default: '/var/log/pods',
      env: 'SOCKSCOPE_ATTRIBUTION_PODLOGROOT',
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
    },
  },
  events: {
    file: {
      doc: 'Append TCP state changes and retransmits as JSON lines to this file ("-" for stdout); empty turns it off.',
      format: FILE_PATH.name,
      default: '',
      env: 'SOCKSCOPE_EVENTS_FILE',
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
export const SETTINGS: readonly Setting[] = collectSettings(configSchema as unknown as SchemaGroup, '');

interface SchemaLeaf {
  default: unknown;
  doc?: string;
  format?: unknown;
  env?: string;
}
interface SchemaGroup {
  [name: string]: SchemaLeaf | SchemaGroup;
}

function collectSettings(group: SchemaGroup, prefix: string): Setting[] {
  return Object.entries(group).flatMap(([name, child]): Setting[] => {
    const key = prefix + name;
    // convict's own rule: a node with a "default" is a setting, any other object is a group.
    if (!('default' in child)) return collectSettings(child as SchemaGroup, `${key}.`);
    const leaf = child as SchemaLeaf;
    const format = FORMATS.find((candidate) => candidate.name === leaf.format);
    if (format === undefined || leaf.doc === undefined || leaf.env !== envVarName(key)) {
      throw new Error(`schema: ${key} needs a sockscope format, a doc and env ${envVarName(key)}`);
    }
    const snakeEnv = ENV_PREFIX + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase().replace(/\./g, '_');
    return [{
      key,
      flag: `--${key}`,
      env: leaf.env,
      envAliases: snakeEnv === leaf.env ? [] : [snakeEnv],
      default: leaf.default,
      doc: leaf.doc,
      format,
    }];
  });
}

function isHttpUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}
