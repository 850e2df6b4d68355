/**
 * Builds the Config from its four sources, later winning: schema defaults < JSON file
 * (--config) < SOCKSCOPE_* environment < --flags. convict merges them and validates every
 * value; anything wrong becomes one ConfigError line that names the key, the value as given,
 * what is allowed and where the value came from.
 */
import convict from 'convict';
import { ConfigError, show } from './errors.js';
import { parseFlags, type CommandFlag } from './flags.js';
import { configSchema, SETTINGS, type Config, type Setting } from './schema.js';
import { readConfigFile, readEnv, type Assignment } from './sources.js';

export { ConfigError } from './errors.js';
export type { CommandFlag } from './flags.js';

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
  /** The command's own flags, e.g. check's --output. */
  commandFlags?: readonly CommandFlag[];
  checks?: readonly SettingCheck[];
}

export interface LoadedCommandLine {
  config: Config;
  /** The command's own flags that were given, by name. */
  commandValues: ReadonlyMap<string, string>;
}

export function loadConfig(opts: LoadConfigOptions): Config {
  return loadCommandLine(opts).config;
}

export function loadCommandLine(opts: LoadConfigOptions): LoadedCommandLine {
  const flags = parseFlags(opts.argv, opts.commandFlags);
  const fromFile = flags.configFile === undefined ? undefined : readConfigFile(flags.configFile);
  const fromEnv = readEnv(opts.env);

  // Each value is set on its own setting, file < env < flags. Not convict's load(): it walks
  // into an object given for a plain setting ({port: {a: {}}}) and throws a TypeError.
  // `env` and `args` are empty so that convict never reads process.env or process.argv itself.
  const config = convict<Config>(configSchema, { env: {}, args: [] });
  for (const assignment of [...(fromFile?.assignments ?? []), ...fromEnv, ...flags.assignments]) {
    config.set(assignment.setting.key, assignment.raw);
  }

  const winners = new Map<string, Assignment>();
  for (const a of [...(fromFile?.assignments ?? []), ...fromEnv, ...flags.assignments]) winners.set(a.setting.key, a);

  try {
    config.validate({ allowed: 'strict' });
  } catch (err) {
    throw explainInvalid(config.getProperties(), winners, err);
  }
  const result = config.getProperties();
  reconcileOtlpTimeout(result, winners);
  for (const check of opts.checks ?? []) {
    const problem = check.problem(result);
    const setting = SETTINGS.find((s) => s.key === check.key);
    if (problem !== undefined && setting !== undefined) throw invalid(setting, winners.get(setting.key), problem);
  }
  return { config: result, commandValues: flags.commandValues };
}

/**
 * convict's error lists every failure; the message names the first setting (in schema order)
 * whose format rejects its value, quoted as its source gave it.
 */
function explainInvalid(config: Config, winners: ReadonlyMap<string, Assignment>, err: unknown): ConfigError {
  for (const setting of SETTINGS) {
    const value = valueAt(config, setting.key);
    if (!setting.format.isValid(value)) {
      return invalid(setting, winners.get(setting.key), setting.format.problem?.(value) ?? setting.format.allowed);
    }
  }
  // Only if convict rejects what every format accepts: its own first line.
  return new ConfigError(String((err as Error).message).split('\n')[0]!);
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
  const shown = setting.format.secret ? '(hidden)' : show(value);
  return new ConfigError(`${setting.key} = ${shown} is invalid: ${allowed} (from ${origin})`, setting.key);
}

function valueAt(config: Config, key: string): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) value = typeof value === 'object' && value !== null ? Reflect.get(value, part) : undefined;
  return value;
}
