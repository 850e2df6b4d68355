/**
 * How each kind of setting is written as text, converted, checked and shown; registered
 * with convict, which runs them on every value from every source.
 */
import convict from 'convict';
import { cidrListProblem, parseCidr } from './cidr.js';
import { formatByteSize, formatDurationMs, parseByteSize, parseDurationMs } from './duration.js';
import { otlpHeadersProblem } from './otlp-headers.js';

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
  /** Values may be secrets (credentials): messages and --help never show them. */
  readonly secret?: boolean;
  /** What is wrong with an invalid value in particular (naming the bad entry), when `allowed` alone would not say. */
  problem?(value: unknown): string | undefined;
}

export const BOOLEAN: SettingFormat = {
  name: 'sockscope-boolean',
  placeholder: '<true|false>',
  allowed: 'must be true or false',
  // convict's own boolean coercion reads every text but "false" as true; this one is strict.
  coerce: (text) => (text === 'true' ? true : text === 'false' ? false : text),
  isValid: (value) => typeof value === 'boolean',
  show: String,
};

export const PORT: SettingFormat = {
  name: 'sockscope-port',
  placeholder: '<port>',
  allowed: 'must be an integer from 0 to 65535',
  coerce: (text) => (/^\d+$/.test(text) ? Number(text) : text),
  isValid: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535,
  show: String,
};

export const LISTEN_HOST: SettingFormat = {
  name: 'sockscope-listen-host',
  placeholder: '<host>',
  allowed: 'must be a host name or IP address without spaces or "/", e.g. 0.0.0.0 or ::1',
  coerce: (text) => text,
  isValid: (value) => typeof value === 'string' && /^[^\s/]+$/.test(value),
  show: String,
};

export const OTLP_ENDPOINT: SettingFormat = {
  name: 'sockscope-otlp-endpoint',
  placeholder: '<url>',
  allowed: 'must be empty (OTLP push off) or an http:// or https:// URL, e.g. http://localhost:4317',
  coerce: (text) => text,
  isValid: (value) => typeof value === 'string' && (value === '' || isHttpUrl(value)),
  show: (value) => (value === '' ? '"" (off)' : String(value)),
};

export const OTLP_HEADERS: SettingFormat = {
  name: 'sockscope-otlp-headers',
  placeholder: '<key=value,...>',
  allowed:
    'must be key=value pairs separated by commas, as in OTEL_EXPORTER_OTLP_HEADERS (keys of letters, digits, "-", "_", "."; ' +
    'values printable ASCII, percent-encoded where needed), e.g. "authorization=Bearer abc,x-scope-orgid=team1"',
  coerce: (text) => text,
  isValid: (value) => typeof value === 'string' && otlpHeadersProblem(value) === undefined,
  show: (value) => (value === '' ? '(none)' : '(hidden)'),
  secret: true,
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

export const LOG_LEVEL = oneOf('sockscope-log-level', '<level>', LOG_LEVELS);

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
export const OTLP_DURATION = durationFormat('sockscope-otlp-duration', 1, 24 * 3_600_000);
export const DRAIN_INTERVAL = durationFormat('sockscope-drain-interval', 1, 10_000);
// At least a second: Node checks these deadlines once a second (metrics-server.ts).
export const HTTP_TIMEOUT = durationFormat('sockscope-http-timeout', 1000, 3_600_000);

/** 0 or a power of two: at most one bit set. */
const atMostOneBit = (value: number): boolean => (value & (value - 1)) === 0;

const MIN_RING_BYTES = 4096;
const MAX_RING_BYTES = 1024 ** 3;

export const RING_BUFFER_SIZE: SettingFormat = {
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

const MIN_HEADER_BYTES = 1024;
const MAX_HEADER_BYTES = 1024 * 1024;

/** Node's http.Server maxHeaderSize: the request line and headers together. */
export const HTTP_HEADER_SIZE: SettingFormat = {
  name: 'sockscope-http-header-size',
  placeholder: '<size>',
  allowed: `must be from ${formatByteSize(MIN_HEADER_BYTES)} to ${formatByteSize(MAX_HEADER_BYTES)}: an integer or text like "16KiB"`,
  coerce: (text) => parseByteSize(text) ?? text,
  isValid: (value) => Number.isInteger(value) && (value as number) >= MIN_HEADER_BYTES && (value as number) <= MAX_HEADER_BYTES,
  show: (value) => formatByteSize(value as number),
};

export const PROBE_MODE = oneOf('sockscope-probe-mode', '<mode>', PROBE_MODES);

export const FILE_PATH: SettingFormat = {
  name: 'sockscope-file-path',
  placeholder: '<path>',
  allowed: 'must be a file path, "-" for standard output, or empty for off',
  coerce: (text) => text,
  isValid: (value) => typeof value === 'string' && !value.includes('\0'),
  show: (value) => (value === '' ? '(off)' : String(value)),
};

/** A file sockscope reads (credentials, certificates); checked for being readable when the settings load. */
export const INPUT_FILE: SettingFormat = {
  ...FILE_PATH,
  name: 'sockscope-input-file',
  allowed: 'must be a readable file path, or empty for none',
  show: (value) => (value === '' ? '(none)' : String(value)),
};

const count = (name: string, min: number, max: number): SettingFormat => ({
  name,
  placeholder: '<n>',
  allowed: `must be an integer from ${min} to ${max}`,
  coerce: (text) => (/^\d+$/.test(text) ? Number(text) : text),
  isValid: (value) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max,
  show: String,
});
export const MAX_SERIES = count('sockscope-max-series', 1, 10_000_000);
export const MAP_ENTRIES = count('sockscope-map-entries', 64, 16_777_216);
export const HTTP_CONNECTIONS = count('sockscope-http-connections', 1, 1_000_000);
const MAX_IO_CACHE_SLOTS = 65_536;

const IO_CACHE_SLOT_COUNT = count('sockscope-io-cache-slots', 0, MAX_IO_CACHE_SLOTS);
export const IO_CACHE_SLOTS: SettingFormat = {
  ...IO_CACHE_SLOT_COUNT,
  allowed: `must be 0 (no cache) or a power of two from 1 to ${MAX_IO_CACHE_SLOTS}`,
  isValid: (value) => IO_CACHE_SLOT_COUNT.isValid(value) && atMostOneBit(value as number),
};
export const SERIES_TTL = durationFormat('sockscope-series-ttl', 1000, 7 * 24 * 3600 * 1000);

/** A JSON object whose values are arrays of strings (given as JSON text in env and flags). */
const stringListMap = (name: string, what: string, checkEntry: (key: string, values: string[]) => string | undefined): SettingFormat => ({
  name,
  placeholder: '<json>',
  allowed: `must be a JSON object of ${what}`,
  coerce: parseJsonText,
  isValid: (value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.entries(value).every(
      ([k, v]) => Array.isArray(v) && v.every((x) => typeof x === 'string') && checkEntry(k, v as string[]) === undefined,
    ),
  show: (value) => JSON.stringify(value).replace(/,/g, ', '),
});
/**
 * The shape only: which metrics and attributes exist is the metrics layer's to know, and the
 * caller checks it (LoadConfigOptions.checks) with the same one-line error.
 */
export const METRIC_ATTRIBUTES: SettingFormat = {
  name: 'sockscope-metric-attributes',
  placeholder: '<json>',
  allowed:
    'must be a JSON list of {"metric": <OTel metric name>, "attributes": [<attribute names>]}, with the ' +
    'attributes each metric lists in docs/metrics.md',
  coerce: parseJsonText,
  isValid: (value) => Array.isArray(value) && value.every(isMetricAttributes),
  show: (value) => JSON.stringify(value).replace(/,/g, ', '),
};

function isMetricAttributes(entry: unknown): boolean {
  if (typeof entry !== 'object' || entry === null) return false;
  const { metric, attributes } = entry as { metric?: unknown; attributes?: unknown };
  return typeof metric === 'string' && Array.isArray(attributes) && attributes.every((a) => typeof a === 'string');
}

export const PEER_GROUPS = stringListMap('sockscope-peer-groups', 'group name -> list of CIDRs, e.g. {"corp": ["10.0.0.0/8"]}', (_name, cidrs) =>
  cidrs.find((c) => parseCidr(c) === undefined),
);

export const CLUSTER_NETWORKS: SettingFormat = {
  name: 'sockscope-cluster-networks',
  placeholder: '<json>',
  allowed: 'must be a JSON list of CIDRs that do not overlap, e.g. ["10.244.0.0/16", "10.96.0.0/12", "fd00:10::/56"]',
  coerce: parseJsonText,
  isValid: (value) => cidrListProblem(value) === undefined,
  problem: cidrListProblem,
  show: (value) => JSON.stringify(value).replace(/,/g, ', '),
};

export const OTLP_COMPRESSIONS = ['none', 'gzip'] as const;
export const OTLP_COMPRESSION = oneOf('sockscope-otlp-compression', '<none|gzip>', OTLP_COMPRESSIONS);

const HISTOGRAM_KINDS = ['explicit', 'exponential'] as const;
export const HISTOGRAM_KIND = oneOf('sockscope-histogram-kind', '<kind>', HISTOGRAM_KINDS);

export const FORMATS: readonly SettingFormat[] = [
  BOOLEAN, PORT, LISTEN_HOST, OTLP_ENDPOINT, LOG_LEVEL, OTLP_DURATION, DRAIN_INTERVAL, RING_BUFFER_SIZE, PROBE_MODE,
  FILE_PATH, INPUT_FILE, MAX_SERIES, MAP_ENTRIES, IO_CACHE_SLOTS, SERIES_TTL, METRIC_ATTRIBUTES, PEER_GROUPS, CLUSTER_NETWORKS, HISTOGRAM_KIND,
  OTLP_HEADERS, OTLP_COMPRESSION, HTTP_TIMEOUT, HTTP_HEADER_SIZE, HTTP_CONNECTIONS,
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

/** JSON text as its value; text that is not JSON stays as given, for the message. */
function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
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
