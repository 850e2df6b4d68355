/**
 * Turns a run directory left by `run-guest` into one KernelResult (results/<kernel>.json).
 *
 *   node dist/test/kernel-matrix/collect-result.js --id 6.1 --run-dir <dir> --command '<suite>' --out <file>
 *
 * The run directory holds `outcome` and `facts` (key=value lines), `output.log`, and `results/`
 * where the suite wrote `plan.json`, `*.tap` reports and, if it was cut short, `running`; any of
 * them may be missing.
 */
import { parseModeResults } from './result';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseCheckPlan } from './check-plan';
import { parseNodeTestSummary } from './node-test-summary';
import type { KernelResult, Outcome } from './result';

const OUTCOMES: readonly Outcome[] = ['passed', 'failed', 'boot-failed', 'timed-out'];

export function collectResult(id: string, runDir: string, command: string, now = new Date()): KernelResult {
  const outcome = readKeyValues(path.join(runDir, 'outcome'));
  const facts = readKeyValues(path.join(runDir, 'facts'));
  const planText = readIfExists(path.join(runDir, 'results', 'plan.json'));
  // The TAP files are the suite's own reports; the console output is the fallback for other commands.
  const testText = readTapReports(path.join(runDir, 'results')) ?? readIfExists(path.join(runDir, 'output.log'));
  const state = OUTCOMES.find((o) => o === outcome.outcome) ?? 'boot-failed';
  const running = readIfExists(path.join(runDir, 'results', 'running'))?.trim();
  let reason = outcome.reason ?? (outcome.outcome === undefined ? 'the run left no outcome' : '');
  if (state !== 'passed' && running) reason += ` (unfinished: ${running})`;
  return {
    id,
    release: facts.release || null,
    package: outcome.package || null,
    packageVersion: outcome.package_version || null,
    runner: id === 'host' ? 'host' : 'qemu-tcg',
    outcome: state,
    exitStatus: toNumber(outcome.exit_status) ?? 1,
    reason,
    btf: facts.btf === 'true' ? true : facts.btf === 'false' ? false : null,
    bootModules: (outcome.boot_modules ?? '').split(/\s+/).filter(Boolean),
    wallSeconds: toNumber(outcome.wall_seconds),
    bootSeconds: toNumber(outcome.boot_seconds),
    suiteSeconds: toNumber(facts.suite_seconds),
    command,
    plan: planText === undefined ? null : parseCheckPlan(planText),
    tests: testText === undefined ? null : parseNodeTestSummary(testText),
    modes: parseModeResults(readTapReports(path.join(runDir, 'results')) ?? ''),
    finishedAt: now.toISOString(),
  };
}

/** `key=value` lines; the value is everything after the first `=`. */
export function readKeyValues(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of (readIfExists(file) ?? '').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values[line.slice(0, at).trim()] = line.slice(at + 1).replace(/\r$/, '');
  }
  return values;
}

/** Every `*.tap` in the directory, in name order, as one text; undefined when there is none. */
function readTapReports(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.tap')).sort();
  return files.length === 0 ? undefined : files.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
}

function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

function toNumber(text: string | undefined): number | null {
  if (text === undefined || text.trim() === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      'run-dir': { type: 'string' },
      command: { type: 'string', default: '' },
      out: { type: 'string' },
    },
  });
  if (!values.id || !values['run-dir'] || !values.out) {
    process.stderr.write('usage: collect-result --id <kernel> --run-dir <dir> --out <file> [--command <suite>]\n');
    process.exit(2);
  }
  const result = collectResult(values.id, values['run-dir'], values.command ?? '');
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
}

if (require.main === module) main();
