/**
 * The environment and the --config file as values for settings, each with where it came
 * from. Checks here are about names and shape (unknown variables and keys, a file that is
 * not an object); the values themselves are convict's to check. A .yaml/.yml file is
 * YAML, any other JSON.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigError, show, suggest } from './errors.js';
import { ENV_PREFIX, SETTINGS, type Setting } from './schema.js';
import { parseYaml, YamlSyntaxError } from './yaml-text.js';

/** One value for one setting from one source. */
export interface Assignment {
  setting: Setting;
  /** As given: a string from env or flags, any JSON value from the file. */
  raw: unknown;
  /** e.g. "flag --prometheus.port", "env SOCKSCOPE_PROMETHEUS_PORT", "file ./sockscope.yaml line 3". */
  origin: string;
}

/** The SOCKSCOPE_* variables, an alias read as the setting's own name; other variables are ignored. */
export function readEnv(env: NodeJS.ProcessEnv): Assignment[] {
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

export interface ConfigFile {
  /** Every setting the file gives, with the line it stands on where YAML tells. */
  assignments: Assignment[];
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // Drop node's ", open '<path>'" tail: the path is already in the message.
    const reason = String((err as Error).message).replace(/, \w+ '.*'$/, '');
    throw new ConfigError(`cannot read config file ${show(path)}: ${reason} (from flag --config)`, 'config');
  }
  const yaml = isYamlFile(path);
  let object: unknown;
  // Where a key stands in the file; JSON.parse gives no positions, YAML does.
  let origin = (_key: string): string => `file ${path}`;
  try {
    if (yaml) {
      const parsed = parseYaml(text);
      object = parsed.value;
      origin = (key) => {
        const line = parsed.lineOf(key.split('.'));
        return line === undefined ? `file ${path}` : `file ${path} line ${line}`;
      };
    } else {
      object = JSON.parse(text);
    }
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw new ConfigError(`config file ${show(path)} is not valid YAML: ${err.message}`, 'config');
    throw new ConfigError(`config file ${show(path)} is not valid JSON: ${(err as Error).message}`, 'config');
  }
  if (!isPlainObject(object)) {
    const example = yaml ? 'a YAML mapping like "prometheus: {port: 9464}"' : 'a JSON object like {"prometheus": {"port": 9464}}';
    throw new ConfigError(`config file ${show(path)} = ${show(object)} is invalid: must be ${example}`, 'config');
  }
  return { assignments: fileAssignments(object, origin, '') };
}

/** The extensions read as YAML; every other file is read as JSON, as before YAML was supported. */
function isYamlFile(path: string): boolean {
  const extension = extname(path).toLowerCase();
  return extension === '.yaml' || extension === '.yml';
}

/**
 * Checks the file's shape against the schema: every key known, every group an object.
 * Done here, not left to convict's strict validation, because convict's load() silently
 * skips a "__proto__" key and its messages name neither the file nor a near miss.
 */
function fileAssignments(
  object: Record<string, unknown>,
  originOf: (key: string) => string,
  prefix: string,
): Assignment[] {
  return Object.entries(object).flatMap(([name, raw]): Assignment[] => {
    const key = prefix + name;
    const origin = originOf(key);
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
    return fileAssignments(raw, originOf, `${key}.`);
  });
}

/** The names one level below a group ("" is the top): childNames("otlp") -> endpoint, interval, timeout. */
function childNames(group: string): string[] {
  const prefix = group === '' ? '' : `${group}.`;
  const names = SETTINGS.filter((s) => s.key.startsWith(prefix)).map((s) => s.key.slice(prefix.length).split('.')[0]!);
  return [...new Set(names)];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
