/**
 * Reads the closing counts and the failed tests out of `node --test` output, in either of the
 * reporters Node picks by itself: TAP (stdout not a terminal) or spec (a terminal, as hvc0 is in
 * the guest). Several runs in one output, e.g. a suite command with two `node --test`, add up.
 */
import type { FailedTest, TestCounts, TestSummary } from './result';

const COUNT_NAMES = ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo'] as const;
/** `# pass 5` (TAP) or `ℹ pass 5` (spec). */
const COUNT_LINE = /^(?:#|\u2139)\s+(tests|pass|fail|cancelled|skipped|todo)\s+(\d+)\s*$/;
const MAX_FAILED = 25;
const MAX_ERROR_LINES = 12;

/** The summary, or null when the output has no closing counts (node never got to report). */
export function parseNodeTestSummary(output: string): TestSummary | null {
  const lines = output.replace(/\r/g, '').split('\n');
  const counts: TestCounts = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
  let found = false;
  for (const line of lines) {
    const m = COUNT_LINE.exec(line.trim());
    if (m === null) continue;
    counts[m[1] as (typeof COUNT_NAMES)[number]] += Number(m[2]);
    found = true;
  }
  if (!found) return null;
  const failed = dedupe([...tapFailures(lines), ...specFailures(lines)]).slice(0, MAX_FAILED);
  return { ...counts, failed };
}

/** `not ok N - name` whose YAML block does not say it only failed through its subtests. */
function tapFailures(lines: string[]): FailedTest[] {
  const failed: FailedTest[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*not ok \d+ - (.*?)(?:\s+#\s+(?:SKIP|TODO)\b.*)?$/.exec(lines[i]!);
    if (m === null) continue;
    const yaml = yamlBlock(lines, i + 1);
    if (/^\s*failureType:\s*'subtestsFailed'/m.test(yaml.join('\n'))) continue;
    const test: FailedTest = { name: unescapeTap(m[1]!) };
    const error = yamlError(yaml);
    if (error) test.error = error;
    const location = yamlValue(yaml, 'location');
    if (location) test.location = location;
    failed.push(test);
  }
  return failed;
}

function yamlBlock(lines: string[], from: number): string[] {
  if (!/^\s*---\s*$/.test(lines[from] ?? '')) return [];
  const block: string[] = [];
  for (let i = from + 1; i < lines.length && !/^\s*\.\.\.\s*$/.test(lines[i]!); i++) block.push(lines[i]!);
  return block;
}

/** The error, whole when it is a block (an assertion diff), capped at MAX_ERROR_LINES. */
function yamlError(yaml: string[]): string | undefined {
  const at = yaml.findIndex((l) => /^\s*error:/.test(l));
  if (at === -1) return undefined;
  const inline = /^\s*error:\s*(.*)$/.exec(yaml[at]!)![1]!.trim();
  if (inline !== '' && !/^[|>][-+]?$/.test(inline)) return inline.replace(/^'(.*)'$/, '$1').replace(/''/g, "'");
  const keyIndent = indentOf(yaml[at]!);
  const block: string[] = [];
  for (let i = at + 1; i < yaml.length; i++) {
    const line = yaml[i]!;
    if (line.trim() !== '' && indentOf(line) <= keyIndent) break;
    block.push(line);
  }
  return capLines(dedent(block));
}

function yamlValue(yaml: string[], key: string): string | undefined {
  const line = yaml.find((l) => new RegExp(`^\\s*${key}:`).test(l));
  return line?.replace(new RegExp(`^\\s*${key}:\\s*`), '').replace(/^'(.*)'$/, '$1');
}

/** In spec output, the `✖ failing tests:` section lists only the failed tests themselves. */
function specFailures(lines: string[]): FailedTest[] {
  const failed: FailedTest[] = [];
  let inSection = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\u2716 failing tests:\s*$/.test(line)) {
      inSection = true;
      continue;
    }
    if (!inSection) continue;
    const m = /^\u2716 (.*?)(?: \([\d.]+m?s\))?$/.exec(line);
    if (m === null) continue;
    const test: FailedTest = { name: m[1]! };
    // The error is indented under its entry and runs until its stack trace or the next entry.
    const message: string[] = [];
    for (let j = i + 1; j < lines.length && !/^\s+at /.test(lines[j]!); j++) {
      if (lines[j]!.trim() !== '' && indentOf(lines[j]!) === 0) break;
      message.push(lines[j]!);
    }
    const error = capLines(dedent(message));
    if (error) test.error = error;
    const location = /^test at (.*)$/.exec(lines[i - 1] ?? '')?.[1];
    if (location) test.location = location;
    failed.push(test);
  }
  return failed;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function dedent(lines: string[]): string[] {
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map(indentOf));
  return lines.map((l) => l.slice(Number.isFinite(indent) ? indent : 0).trimEnd());
}

function capLines(lines: string[]): string | undefined {
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const kept = lines.slice(0, MAX_ERROR_LINES);
  if (lines.length > MAX_ERROR_LINES) kept.push('…');
  return kept.length === 0 ? undefined : kept.join('\n');
}

function unescapeTap(name: string): string {
  return name.replace(/\\#/g, '#').replace(/\\\\/g, '\\');
}

function dedupe(tests: FailedTest[]): FailedTest[] {
  const seen = new Set<string>();
  return tests.filter((t) => !seen.has(t.name) && seen.add(t.name));
}
