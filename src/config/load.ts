/**
 * Builds the Config from its four sources, later winning: schema defaults < JSON file
 * (--config) < SOCKSCOPE_* environment < --flags. Anything wrong becomes one ConfigError line
 * that names the key, the value as given, what is allowed and where the value came from.
 */
import { readFileSync } from 'node:fs';
import convict from 'convict';
import { configSchema, ENV_PREFIX, SETTINGS, type Config, type Setting } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  /** @param detail the problem, without the "config: " prefix; folded onto one line */
  constructor(detail: string, readonly key?: string) {
    super(`config: ${detail.replace(/\s*\n\s*/g, ' ')}`);
  }
}

/**
 * A check that needs knowledge config does not have, such as which metrics and attributes
 * exist: the layer that has it passes the check in, and a failure reads like any other.
 */
export interface SettingCheck {
  /** The setting checked, e.g. "metrics.attributes". */
  readonly key: string;
  /** What is wrong with the setting's value, phrased to follow "is invalid: ", or undefined. */
  problem(config: Config): string | undefined;
}

export interface LoadConfigOptions {
  /** The options after the command, e.g. ["--config", "sockscope.json", "--prometheus.port=9000"]. */
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  checks?: readonly SettingCheck[];
}

/** One value for one setting from one source. */
interface Assignment {
  setting: Setting;
  /** As given: a string from env or flags, any JSON value from the file. */
  raw: unknown;
  /** e.g. "flag --prometheus.port", "env SOCKSCOPE_PROMETHEUS_PORT", "file ./sockscope.json". */
  origin: string;
}

export function loadConfig(opts: LoadConfigOptions): Config {
  const flags = parseFlags(opts.argv);
  const fromFile = flags.configFile === undefined ? undefined : readConfigFile(flags.configFile);
  const fromEnv = readEnv(opts.env);

  // convict applies the environment itself (the schema's `env` names) and again after load(),
  // so env beats the file. Flags are not given to convict as `args`: its yargs-parser rewrites
  // number-like text ("1e3" -> 1000, "0x10" -> 16), so they are set() verbatim instead and go
  // through the same coercion as env values.
  const env = Object.fromEntries(fromEnv.map((a) => [a.setting.env, a.raw as string]));
  const config = convict<Config>(configSchema, { env, args: [] });
  if (fromFile !== undefined) config.load(fromFile.object);
  for (const assignment of flags.assignments) config.set(assignment.setting.key, assignment.raw);

  const winners = new Map<string, Assignment>();
  for (const a of [...(fromFile?.assignments ?? []), ...fromEnv, ...flags.assignments]) winners.set(a.setting.key, a);

  const result = config.getProperties();
  for (const setting of SETTINGS) {
    if (!setting.format.isValid(valueAt(result, setting.key))) {
      throw invalid(setting, winners.get(setting.key), setting.format.allowed);
    }
  }
  reconcileOtlpTimeout(result, winners);
  for (const check of opts.checks ?? []) {
    const problem = check.problem(result);
    const setting = SETTINGS.find((s) => s.key === check.key);
    if (problem !== undefined && setting !== undefined) throw invalid(setting, winners.get(setting.key), problem);
  }

  try {
    config.validate({ allowed: 'strict' });
  } catch (err) {
    // Unreachable while the checks above cover the schema; kept as the schema's own last word.
    throw new ConfigError(String((err as Error).message).split('\n')[0]!);
  }
  return result;
}

// The OTel periodic reader refuses a timeout longer than its interval when given both.
function reconcileOtlpTimeout(config: Config, winners: ReadonlyMap<string, Assignment>): void {
  const { interval, timeout } = config.otlp;
  if (timeout <= interval) return;
  const timeoutSource = winners.get('otlp.timeout');
  if (timeoutSource === undefined) {
    config.otlp.timeout = interval;
    return;
  }
  const timeoutSetting = timeoutSource.setting;
  throw invalid(
    timeoutSetting,
    timeoutSource,
    `must not exceed otlp.interval, which is ${timeoutSetting.format.show(interval)}`,
  );
}

function invalid(setting: Setting, source: Assignment | undefined, allowed: string): ConfigError {
  const value = source === undefined ? setting.default : source.raw;
  const origin = source === undefined ? 'default' : source.origin;
  return new ConfigError(`${setting.key} = ${show(value)} is invalid: ${allowed} (from ${origin})`, setting.key);
}

// ---- flags ----

interface ParsedFlags {
  configFile?: string;
  assignments: Assignment[];
}

function parseFlags(argv: readonly string[]): ParsedFlags {
  const parsed: ParsedFlags = { assignments: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg !== '-') {
        throw new ConfigError(`unknown flag ${arg}; see sockscope --help for the flags`);
      }
      throw new ConfigError(
        `unexpected argument ${show(arg)}; the command goes first, as in: sockscope run --prometheus.port 9000`,
      );
    }
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    let value = equals === -1 ? undefined : arg.slice(equals + 1);
    const next = argv[i + 1];

    if (flag === '--config') {
      if (value === undefined && next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      }
      if (value === undefined || value === '') {
        throw new ConfigError('flag --config needs a value: the path of a JSON config file', 'config');
      }
      parsed.configFile = value;
      continue;
    }

    const setting = SETTINGS.find((candidate) => candidate.flag === flag);
    if (setting === undefined) {
      const flags = ['--config', ...SETTINGS.map((s) => s.flag)];
      throw new ConfigError(`unknown flag ${flag}${suggest(flag, flags, 'flags')}`);
    }
    if (value === undefined) {
      if (typeof setting.default === 'boolean') {
        // A bare boolean flag means true; "--prometheus.enabled false" is also read.
        value = next === 'true' || next === 'false' ? next : 'true';
        if (value === next) i++;
      } else if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      } else {
        throw new ConfigError(`flag ${flag} needs a value: it ${setting.format.allowed}`, setting.key);
      }
    }
    parsed.assignments.push({ setting, raw: value, origin: `flag ${flag}` });
  }
  return parsed;
}

// ---- environment ----

function readEnv(env: NodeJS.ProcessEnv): Assignment[] {
  const byKey = new Map<string, Assignment>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const setting = SETTINGS.find((s) => s.env === name || s.envAliases.includes(name));
    if (setting === undefined) {
      const names = SETTINGS.map((s) => s.env);
      throw new ConfigError(`unknown environment variable ${name}${suggest(name, names, 'variables')}`);
    }
    const earlier = byKey.get(setting.key);
    if (earlier !== undefined && earlier.raw !== raw) {
      throw new ConfigError(
        `${setting.key} is set twice, by ${earlier.origin} = ${show(earlier.raw)} and by env ${name} = ${show(raw)}; ` +
          'set only one of them',
        setting.key,
      );
    }
    byKey.set(setting.key, { setting, raw, origin: `env ${name}` });
  }
  return SETTINGS.flatMap((s) => byKey.get(s.key) ?? []);
}

// ---- file ----

interface ConfigFile {
  object: Record<string, unknown>;
  assignments: Assignment[];
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // Drop node's ", open '<path>'" tail: the path is already in the message.
    const reason = String((err as Error).message).replace(/, \w+ '.*'$/, '');
    throw new ConfigError(`cannot read config file ${show(path)}: ${reason} (from flag --config)`, 'config');
  }
  let object: unknown;
  try {
    object = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${show(path)} is not valid JSON: ${(err as Error).message}`, 'config');
  }
  if (!isPlainObject(object)) {
    throw new ConfigError(
      `config file ${show(path)} = ${show(object)} is invalid: must be a JSON object like {"prometheus": {"port": 9464}}`,
      'config',
    );
  }
  return { object, assignments: fileAssignments(object, `file ${path}`, '') };
}

/** Checks the file's shape against the schema: every key known, every group an object. */
function fileAssignments(object: Record<string, unknown>, origin: string, prefix: string): Assignment[] {
  return Object.entries(object).flatMap(([name, raw]): Assignment[] => {
    const key = prefix + name;
    const setting = SETTINGS.find((s) => s.key === key);
    if (setting !== undefined) return [{ setting, raw, origin }];
    const children = childNames(key);
    if (children.length === 0) {
      const siblings = childNames(prefix.slice(0, -1)).map((child) => prefix + child);
      throw new ConfigError(`unknown key ${show(key)} (from ${origin})${suggest(key, siblings, 'keys here')}`, key);
    }
    if (!isPlainObject(raw)) {
      throw new ConfigError(
        `${key} = ${show(raw)} is invalid: must be an object with the keys ${children.join(', ')} (from ${origin})`,
        key,
      );
    }
    return fileAssignments(raw, origin, `${key}.`);
  });
}

/** The names one level below a group ("" is the top): childNames("otlp") -> endpoint, interval, timeout. */
function childNames(group: string): string[] {
  const prefix = group === '' ? '' : `${group}.`;
  const names = SETTINGS.filter((s) => s.key.startsWith(prefix)).map((s) => s.key.slice(prefix.length).split('.')[0]!);
  return [...new Set(names)];
}

// ---- helpers ----

function valueAt(config: Config, key: string): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) value = (value as Record<string, unknown>)[part];
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const MAX_SHOWN = 80;

/** A value as JSON on one line, cut short if long. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}…`;
}

/** "; did you mean X?" for a near miss, otherwise the list of what is known. */
function suggest(given: string, known: readonly string[], what: string): string {
  const normalize = (text: string): string => text.toLowerCase().replace(/[-_.]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(normalize(given), normalize(candidate));
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  if (best !== undefined && bestDistance <= 2) return `; did you mean ${best}?`;
  return `; the known ${what} are ${known.join(', ')}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
