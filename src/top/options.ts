/** `sockscope top`'s own flags, read beside the settings (which matter in standalone mode only). */
import { ConfigError, show } from '../config/errors';
import type { CommandFlag } from '../config/flags';
import { parseDurationMs } from '../config/duration';
import { GROUPINGS, type GroupBy } from '../view/snapshot';

export const TOP_FLAGS = {
  from: { name: 'from', describe: 'the URL of a running sockscope, such as http://localhost:9464' },
  interval: { name: 'interval', describe: 'a duration such as 1s, 2s or 1500ms' },
  window: { name: 'window', describe: 'a duration such as 10s' },
  group: { name: 'group', values: GROUPINGS },
  filter: { name: 'filter', describe: 'a substring of the row names' },
  once: { name: 'once', boolean: true },
  output: { name: 'output', values: ['text', 'json'] },
  user: { name: 'user', describe: 'a user name for basic auth' },
  passwordFile: { name: 'password-file', describe: 'the path of a file holding the basic auth password' },
  caFile: { name: 'ca-file', describe: 'the path of a PEM file with the CA that signed the daemon certificate' },
} as const satisfies Record<string, CommandFlag>;

/** What the flags ask of top. */
export interface TopOptions {
  /** Read this daemon's JSON API; undefined: attach probes in this process. */
  from?: URL;
  /** How often the view refreshes. */
  intervalMs: number;
  /** The window rates are computed over: the refresh interval unless --window says otherwise. */
  windowMs: number;
  group: GroupBy;
  filter: string;
  /** One snapshot, then exit: --once, --output, or stdout not a terminal. */
  once: boolean;
  output: 'text' | 'json';
  user?: string;
  passwordFile?: string;
  caFile?: string;
}

/** The pipeline samples once a second: a shorter refresh would show the same numbers again. */
const MIN_INTERVAL_MS = 1000;

export function readTopOptions(values: ReadonlyMap<string, string>, stdoutIsTerminal: boolean): TopOptions {
  const intervalMs = duration(values, TOP_FLAGS.interval.name, 1000);
  if (intervalMs < MIN_INTERVAL_MS) throw invalid(TOP_FLAGS.interval.name, values, 'must be at least 1s: the pipeline samples once a second');
  const windowMs = duration(values, TOP_FLAGS.window.name, intervalMs);
  if (windowMs < MIN_INTERVAL_MS) throw invalid(TOP_FLAGS.window.name, values, 'must be at least 1s: the pipeline samples once a second');
  const output = values.get(TOP_FLAGS.output.name) === 'json' ? 'json' : 'text';
  return {
    from: fromUrl(values),
    intervalMs,
    windowMs,
    group: (values.get(TOP_FLAGS.group.name) as GroupBy | undefined) ?? 'process',
    filter: values.get(TOP_FLAGS.filter.name) ?? '',
    once: values.has(TOP_FLAGS.once.name) || values.has(TOP_FLAGS.output.name) || !stdoutIsTerminal,
    output,
    user: values.get(TOP_FLAGS.user.name),
    passwordFile: values.get(TOP_FLAGS.passwordFile.name),
    caFile: values.get(TOP_FLAGS.caFile.name),
  };
}

/** A duration flag; a bare number is seconds, as top's -d is. */
function duration(values: ReadonlyMap<string, string>, name: string, fallbackMs: number): number {
  const text = values.get(name);
  if (text === undefined) return fallbackMs;
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseDurationMs(text);
  if (ms === undefined || !Number.isFinite(ms)) throw invalid(name, values, 'must be a duration such as 1s, 1500ms or 2 (seconds)');
  return ms;
}

function fromUrl(values: ReadonlyMap<string, string>): URL | undefined {
  const text = values.get(TOP_FLAGS.from.name);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(TOP_FLAGS.from.name, values, 'must be a URL such as http://localhost:9464');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(TOP_FLAGS.from.name, values, 'must be an http:// or https:// URL such as http://localhost:9464');
  }
  return url;
}

function invalid(name: string, values: ReadonlyMap<string, string>, problem: string): ConfigError {
  return new ConfigError(`--${name} = ${show(values.get(name))} is invalid: ${problem} (from flag --${name})`, name);
}
