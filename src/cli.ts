#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --optimize-for-size
/** The command line: `sockscope [run|check|events|help] [options]`. */
import { parseArgs } from 'node:util';
import { readBuildInfo } from './build-info.js';
import { ConfigError, loadCommandLine, type CommandFlag, type LoadedCommandLine } from './config/load.js';
import { SETTINGS } from './config/schema.js';
import pino from 'pino';
import { createLogger } from './log.js';
import { missingRuntimeSettings } from './runtime-settings.js';
import { SETTING_CHECKS } from './setting-checks.js';
import { WebConfigError } from './export/web-config.js';
import { WebConfigSource } from './export/web-config-source.js';
import type { Config } from './config/schema.js';
import type { Logger } from './log.js';

export const COMMANDS: Readonly<Record<'run' | 'check' | 'events' | 'top' | 'selftest' | 'help', string>> = {
  run: 'Run the exporter (the default command).',
  check:
    'Print which implementation of each kernel hook loads and attaches here, and why others do not ' +
    '(--output text|json); exits 1 when a required hook has none.',
  events: 'Write TCP state changes and retransmits as JSON lines to stdout (logs go to stderr).',
  top:
    'A live view of traffic, connections, retransmits and RTT per process, container, pod or unit. ' +
    'Attaches its own probes (root), or reads a running daemon: --from http://host:9464 (https too; basic auth ' +
    'in the URL or --user and --password-file; --ca-file for a private CA). --interval 1s refreshes, ' +
    '--window 1s is what rates are over, --group process|container|pod|unit, --filter text. Keys: ' +
    'g group, n t r T R c o f e 5 9 sort by a column, / filter, space or p pause, q quit. One snapshot ' +
    'and exit with --once, --output text|json, or when stdout is not a terminal.',
  selftest:
    'Prove in under 30 s that this kernel and build count exactly: make known TCP/UDP traffic in a private ' +
    'network namespace and compare what /metrics would export (--output text|json); exits 0 when every check ' +
    'that ran passed, 1 when one failed or the probes cannot attach, 2 on bad usage or when not root.',
  help: 'Print this help.',
};

/** What the command line asks for. */
export type Invocation =
  | { command: 'run' | 'check' | 'events' | 'top' | 'selftest'; /** Everything after the command, for loadCommandLine. */ options: string[] }
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'unknown'; name: string };

/** The command is the first argument; without one, or when it is a flag, the command is run. */
export function parseCommandLine(args: readonly string[]): Invocation {
  // --help and --version win wherever they stand, even beside flags that are wrong.
  const { values } = parseArgs({
    args: [...args],
    options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
    strict: false,
    allowPositionals: true,
  });
  if (values.help !== undefined) return { command: 'help' };
  if (values.version !== undefined) return { command: 'version' };
  const [first, ...rest] = args;
  if (first === undefined || first.startsWith('-')) return { command: 'run', options: [...args] };
  if (first === 'run' || first === 'check' || first === 'events' || first === 'top' || first === 'selftest') return { command: first, options: rest };
  if (first === 'help') return { command: 'help' };
  return { command: 'unknown', name: first };
}

export function unknownCommandMessage(name: string): string {
  return `sockscope: unknown command ${JSON.stringify(name)}; the commands are ${Object.keys(COMMANDS).join(', ')}`;
}

/** The --help text, generated from the schema so that it lists every setting as it is. */
export function renderHelp(): string {
  const lines = [
    'Usage: sockscope [command] [options]',
    '',
    'Exports per-process TCP and UDP traffic, seen through eBPF, as Prometheus metrics and OTLP.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).flatMap(([name, doc]) => {
      const [first, ...more] = wrap(doc, 11);
      return [`  ${name.padEnd(9)}${first!.trimStart()}`, ...more];
    }),
    '',
    'Options:',
    '  -h, --help         Print this help.',
    '  --version          Print the version.',
    '  --config <path>    Read settings from a YAML (.yaml, .yml) or JSON file, nested by key:',
    '                     "prometheus: {port: 9464}" or {"prometheus": {"port": 9464}}.',
    '',
    'Settings come from, later winning: the defaults, the --config file, SOCKSCOPE_* environment',
    'variables, flags. Flags take --key value or --key=value; booleans also take a bare --key.',
    '',
  ];
  for (const setting of SETTINGS) {
    const envNames = [setting.env, ...setting.envAliases.map((alias) => `(or ${alias})`)].join(' ');
    lines.push(
      `  ${setting.flag} ${setting.format.placeholder}`,
      ...wrap(`env ${envNames}, default ${setting.format.show(setting.default)}`, 6),
      ...wrap(setting.doc, 6),
      ...wrap(`The value ${setting.format.allowed}.`, 6),
      '',
    );
  }
  return lines.join('\n');
}

/** Runs the command line and resolves to the exit status. */
export async function main(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const invocation = parseCommandLine(args);
  switch (invocation.command) {
    case 'help':
      process.stdout.write(renderHelp());
      return 0;
    case 'version':
      process.stdout.write(`${readBuildInfo().version}\n`);
      return 0;
    case 'unknown':
      process.stderr.write(`${unknownCommandMessage(invocation.name)}\n`);
      return 2;
    case 'run':
      return run(invocation.options, env);
    case 'check':
      return check(invocation.options, env);
    case 'events':
      return events(invocation.options, env);
    case 'top':
      return top(invocation.options, env);
    case 'selftest':
      return selftest(invocation.options, env);
  }
}

/** check's and selftest's own flag. */
const OUTPUT_FLAG: CommandFlag = { name: 'output', values: ['text', 'json'] };

/** Reads the settings and the command's own flags, or prints the one-line error; undefined means exit 2. */
function commandLineOrReport(
  options: readonly string[],
  env: NodeJS.ProcessEnv,
  commandFlags: readonly CommandFlag[] = [],
): LoadedCommandLine | undefined {
  try {
    return loadCommandLine({ argv: options, env, commandFlags, checks: SETTING_CHECKS });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return undefined;
  }
}

async function check(options: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const loaded = commandLineOrReport(options, env, [OUTPUT_FLAG]);
  if (!loaded) return 2;
  const { config, commandValues } = loaded;
  const { checkReport, renderCheckText } = await import('./check.js');
  try {
    const { report, plan } = checkReport(config);
    const json = commandValues.get(OUTPUT_FLAG.name) === 'json';
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderCheckText(report));
    return plan.missingRequired().length > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`sockscope check: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function selftest(options: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const loaded = commandLineOrReport(options, env, [OUTPUT_FLAG]);
  if (!loaded) return 2;
  if (process.getuid?.() !== 0) {
    process.stderr.write('sockscope selftest: run it as root: it loads BPF programs and creates a network namespace\n');
    return 2;
  }
  const { runSelftest } = await import('./selftest/run.js');
  const { renderSelftestText } = await import('./selftest/report.js');
  try {
    const report = await runSelftest(loaded.config);
    const json = loaded.commandValues.get(OUTPUT_FLAG.name) === 'json';
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderSelftestText(report));
    return report.status;
  } catch (err) {
    process.stderr.write(`sockscope selftest: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function events(options: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const config = commandLineOrReport(options, env)?.config;
  if (!config) return 2;
  // stdout carries the events: logs go to stderr.
  const log = createLogger(config.log.level, pino.destination({ dest: 2, sync: true }));
  try {
    const { streamEvents } = await import('./events-command.js');
    await streamEvents(config, log);
    return 0;
  } catch (err) {
    log.fatal({ err }, 'sockscope events stopped on an error');
    return 1;
  }
}

async function top(options: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { TOP_FLAGS, readTopOptions } = await import('./top/options.js');
  const loaded = commandLineOrReport(options, env, Object.values(TOP_FLAGS));
  if (!loaded) return 2;
  let topOptions;
  try {
    topOptions = readTopOptions(loaded.commandValues, Boolean(process.stdout.isTTY && process.stdin.isTTY));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const { runTop } = await import('./top/run-top.js');
  return runTop(loaded.config, topOptions);
}

async function run(options: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const config = commandLineOrReport(options, env)?.config;
  if (!config) return 2;
  const log = createLogger(config.log.level);
  const webConfig = webConfigOrReport(config, log);
  if (webConfig === null) return 2;
  const missing = missingRuntimeSettings(process.execArgv, env);
  if (missing.length > 0) {
    log.warn({ missing }, 'node was started without the memory settings that every launcher passes: expect a higher RSS');
  }
  try {
    // Loaded here, not at the top, so that --help, --version and config errors need no native addon.
    const { runDaemon } = await import('./daemon.js');
    await runDaemon(config, log, webConfig);
    return 0;
  } catch (err) {
    log.fatal({ err }, 'sockscope stopped on an error');
    if (!log.isLevelEnabled('fatal')) process.stderr.write(`sockscope: ${String(err)}\n`);
    return 1;
  }
}

/**
 * The web config, read before any probe is attached: a bad file is one line and exit 2.
 * null: it was bad and has been reported; undefined: there is none.
 */
function webConfigOrReport(config: Config, log: Logger): WebConfigSource | undefined | null {
  const path = config.prometheus.webConfigFile;
  if (!config.prometheus.enabled || path === '') return undefined;
  try {
    return new WebConfigSource(path, {
      onError: (err) => log.error(`${err.message}; the last good web config stays in force`),
      onReload: () => log.info({ path }, 'web config read again'),
    });
  } catch (err) {
    if (!(err instanceof WebConfigError)) throw err;
    process.stderr.write(`sockscope: ${err.message}\n`);
    return null;
  }
}

function wrap(text: string, indent: number, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => ' '.repeat(indent) + l);
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (status) => {
      process.exitCode = status;
    },
    (err: unknown) => {
      process.stderr.write(`sockscope: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
