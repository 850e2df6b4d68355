/**
 * The flags after the command, read with node's util.parseArgs: --config, the settings
 * (--prometheus.port 9000 or --prometheus.port=9000; a boolean also bare or followed by
 * true/false) and the command's own flags such as check's --output.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, show, suggest } from './errors.js';
import { SETTINGS, type Setting } from './schema.js';
import type { Assignment } from './sources.js';

/** A flag of the command itself rather than a setting, e.g. check's --output. */
export interface CommandFlag {
  /** Without the dashes, e.g. "output". */
  readonly name: string;
  /** The values allowed. Without it the flag takes any value, which the command checks itself. */
  readonly values?: readonly string[];
  /** What the value is, for "needs a value: ..." when `values` does not say it, e.g. "a URL". */
  readonly describe?: string;
  /** A bare --flag that takes no value; its value reads "true". */
  readonly boolean?: boolean;
}

export interface ParsedFlags {
  configFile?: string;
  /** In the order given: the last of a repeated flag wins. */
  assignments: Assignment[];
  /** The command's own flags that were given, by name. */
  commandValues: Map<string, string>;
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];
type OptionToken = Extract<Token, { kind: 'option' }>;

export function parseFlags(argv: readonly string[], commandFlags: readonly CommandFlag[] = []): ParsedFlags {
  const options: NonNullable<ParseArgsConfig['options']> = { config: { type: 'string' } };
  for (const setting of SETTINGS) options[setting.key] = { type: isBoolean(setting) ? 'boolean' : 'string' };
  for (const flag of commandFlags) options[flag.name] = { type: flag.boolean ? 'boolean' : 'string' };
  // Not strict: parseArgs' own errors would not name what is allowed, and a boolean followed
  // by "false" is ours to read. Unknown flags and stray words are judged token by token below.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });

  const parsed: ParsedFlags = { assignments: [], commandValues: new Map() };
  /** A bare boolean flag just read: a following "true" or "false" is its value. */
  let bareBoolean: { index: number; assignment: Assignment } | undefined;
  for (const token of tokens) {
    if (token.kind === 'positional' && bareBoolean?.index === token.index - 1 && /^(true|false)$/.test(token.value)) {
      bareBoolean.assignment.raw = token.value;
      bareBoolean = undefined;
      continue;
    }
    bareBoolean = undefined;
    if (token.kind !== 'option') {
      const given = token.kind === 'positional' ? token.value : '--';
      throw new ConfigError(
        `unexpected argument ${show(given)}; the command goes first, as in: sockscope run --prometheus.port 9000`,
      );
    }
    if (token.name === 'config') {
      // "--config=" is a missing value too; an empty setting value ("--otlp.endpoint=") is a value.
      parsed.configFile = valueOf(token, 'the path of a JSON config file', 'config', { emptyIsMissing: true });
      continue;
    }
    const commandFlag = token.rawName.startsWith('--') ? commandFlags.find((f) => f.name === token.name) : undefined;
    if (commandFlag !== undefined) {
      parsed.commandValues.set(commandFlag.name, commandValue(token, commandFlag));
      continue;
    }
    const setting = token.rawName.startsWith('--') ? SETTINGS.find((s) => s.key === token.name) : undefined;
    if (setting === undefined) throw unknownFlag(token.rawName, commandFlags);
    if (isBoolean(setting) && token.value === undefined) {
      const assignment: Assignment = { setting, raw: 'true', origin: `flag ${token.rawName}` };
      parsed.assignments.push(assignment);
      bareBoolean = { index: token.index, assignment };
      continue;
    }
    const raw = valueOf(token, `it ${setting.format.allowed}`, setting.key);
    parsed.assignments.push({ setting, raw, origin: `flag ${token.rawName}` });
  }
  return parsed;
}

function isBoolean(setting: Setting): boolean {
  return typeof setting.default === 'boolean';
}

/** The flag's value; parseArgs takes the next argument even when it is the next flag. */
function valueOf(token: OptionToken, needs: string, key: string, { emptyIsMissing = false } = {}): string {
  const { value } = token;
  if (value === undefined || (emptyIsMissing && value === '') || (!token.inlineValue && value.startsWith('--'))) {
    throw new ConfigError(`flag ${token.rawName} needs a value: ${needs}`, key);
  }
  return value;
}

function commandValue(token: OptionToken, flag: CommandFlag): string {
  if (flag.boolean) {
    if (token.value !== undefined) throw new ConfigError(`flag ${token.rawName} takes no value`, flag.name);
    return 'true';
  }
  if (flag.values === undefined) return valueOf(token, flag.describe ?? 'a value', flag.name);
  const allowed = flag.values.length === 2 ? flag.values.join(' or ') : `one of ${flag.values.join(', ')}`;
  const value = valueOf(token, `${allowed}`, flag.name);
  if (!flag.values.includes(value)) {
    throw new ConfigError(`${token.rawName} = ${show(value)} is invalid: must be ${allowed} (from flag ${token.rawName})`, flag.name);
  }
  return value;
}

function unknownFlag(rawName: string, commandFlags: readonly CommandFlag[]): ConfigError {
  if (!rawName.startsWith('--')) return new ConfigError(`unknown flag ${rawName}; see sockscope --help for the flags`);
  const known = ['--config', ...commandFlags.map((f) => `--${f.name}`), ...SETTINGS.map((s) => s.flag)];
  return new ConfigError(`unknown flag ${rawName}${suggest(rawName, known, 'flags')}`);
}
