/** The self-test's report as text (a table and the attach plan) or JSON. */
import type { SelftestReport } from './run';

export function renderSelftestText(report: SelftestReport): string {
  const header = { check: 'check', expected: 'expected', seen: 'seen', verdict: 'result' };
  const rows = [header, ...report.checks];
  const width = (key: 'check' | 'expected' | 'seen') => Math.max(...rows.map((r) => r[key].length));
  const [c, e, s] = [width('check'), width('expected'), width('seen')];
  const lines = rows.map((r) => `${r.check.padEnd(c)}  ${r.expected.padStart(e)}  ${r.seen.padStart(s)}  ${r.verdict}`);
  const failed = report.checks.filter((r) => r.verdict === 'FAIL').length;
  const notRun = report.checks.filter((r) => r.verdict === 'NOT RUN').length;
  lines.push(
    '',
    `${report.checks.length - failed - notRun} passed, ${failed} failed, ${notRun} not run`,
    '',
    `attach plan (kernel ${report.kernel}, probes.mode=${report.mode}):`,
    ...report.plan.map((h) => `  ${h.hook.padEnd(16)} -> ${h.chosen ?? (h.required ? 'NONE (required)' : 'none (optional)')}`),
  );
  return lines.join('\n') + '\n';
}
