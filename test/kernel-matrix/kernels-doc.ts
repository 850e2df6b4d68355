/**
 * Renders docs/kernels.md from the results of one matrix run: per kernel, the implementation the
 * attach plan chose for each hook, whether the suite passed, why cheaper implementations were
 * refused, and what failed. Pure: results in, Markdown out.
 */
import type { ProbeMode } from '../../src/collector/attach-plan';
import { EXPECTED_PLANS, PROBE_MODES, type MatrixKernel } from './expected-plan';
import type { KernelResult, PlannedHook } from './result';

export interface DocOptions {
  /** The suite command every kernel ran. */
  command: string;
  /** The command that regenerates the doc, shown in its header. */
  regenerate: string;
}

export function renderKernelsDoc(results: readonly KernelResult[], options: DocOptions): string {
  const sorted = [...results].sort(byMatrixOrder);
  const hooks = hookNames(sorted);
  const lines: string[] = [
    '# Kernel matrix',
    '',
    '<!-- Generated from test/kernel-matrix/results/*.json by a real run; do not edit. -->',
    '',
    'sockscope picks an implementation for each kernel hook at run time (see',
    '[architecture.md](architecture.md#attach-plan)). This table is what it picked on real Debian',
    'kernels, booted under QEMU (software emulation, no KVM), and whether the suite passed there.',
    '"host" is the machine that ran the matrix, without a VM.',
    `Last run: ${latest(sorted)}. Regenerate: \`${options.regenerate}\`.`,
    '',
    '## Hook implementations and tests',
    '',
    table(
      ['kernel', ...hooks.map((h) => `\`${h}\``), 'tests'],
      sorted.map((r) => [kernelCell(r), ...hooks.map((h) => hookCell(r, h)), testsCell(r)]),
    ),
    '',
    'A hook cell is the implementation chosen (fentry, tp_btf, tracepoint, kprobe); **none** means no',
    'implementation loaded and attached; "?" means the run left no attach plan. A cell in bold with',
    '"expected" differs from test/kernel-matrix/expected-plan.ts, the table CI holds each kernel to.',
    '',
    '## Every probe family, forced',
    '',
    'The exact-count suites run once per `probes.mode`: socket I/O (TCP/UDP × IPv4/IPv6 bytes), connections',
    '(N opened, M refused) and retransmits (count equal to the kernel\'s own tracepoint in every mode: the',
    'retransmit hook has no kprobe variant, see docs/counting.md). A cell counts the suites that',
    'passed in that mode; "n/a" means test/kernel-matrix/expected-plan.ts marks the family unavailable on',
    'that kernel (the suite skips, after a test checks it indeed does not attach). With `CI=true` a mode',
    'the table says attaches fails the run when it does not.',
    '',
    table(
      ['kernel', ...PROBE_MODES.map((m) => `\`${m}\``)],
      sorted.map((r) => [kernelCell(r), ...PROBE_MODES.map((m) => modeCell(r, m))]),
    ),
    '',
    '## Runs',
    '',
    table(
      ['kernel', 'Debian package', 'BTF', 'outcome', 'boot', 'suite', 'wall'],
      sorted.map((r) => [
        kernelCell(r),
        r.package ? `${r.package} ${r.packageVersion ?? ''}`.trim() : '(running kernel)',
        r.btf === null ? '?' : r.btf ? 'yes' : 'no',
        r.outcome === 'passed' ? 'passed' : `**${r.outcome}** (exit ${r.exitStatus})`,
        r.runner === 'host' ? '—' : seconds(r.bootSeconds),
        seconds(r.suiteSeconds),
        seconds(r.wallSeconds),
      ]),
    ),
    '',
    'Boot is the wall time outside the suite: QEMU start, kernel, initramfs, mounts, and power-off.',
    'The suite, run as root in the repo directory on each kernel:',
    '',
    '```sh',
    options.command.trim(),
    '```',
    '',
    ...refusals(sorted),
    ...failures(sorted),
    ...bootModules(sorted),
  ];
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function refusals(results: readonly KernelResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    for (const h of r.plan?.hooks ?? []) {
      for (const f of h.failures) {
        lines.push(`| ${kernelCell(r)} | \`${h.hook}\` | ${f.implementation} | ${f.stage ?? ''} | ${escape(f.reason)} |`);
      }
    }
  }
  if (lines.length === 0) return [];
  return [
    '## Implementations refused',
    '',
    'Cheaper implementations tried before the chosen one, and what the kernel said.',
    '',
    '| kernel | hook | implementation | stage | reason |',
    '| --- | --- | --- | --- | --- |',
    ...lines,
    '',
  ];
}

function failures(results: readonly KernelResult[]): string[] {
  const failed = results.filter((r) => r.outcome !== 'passed');
  if (failed.length === 0) return [];
  const lines = ['## Failures', ''];
  for (const r of failed) {
    lines.push(`### ${kernelCell(r)}`, '', `${r.outcome}: ${r.reason || `exit status ${r.exitStatus}`}`, '');
    for (const t of r.tests?.failed ?? []) {
      const where = t.location ? ` (${t.location.replace(/^.*\/dist\//, 'dist/')})` : '';
      lines.push(`- ${t.name}${where}`);
      if (t.error) lines.push('', '  ```', ...t.error.split('\n').map((l) => `  ${l}`), '  ```', '');
    }
    lines.push('');
  }
  return lines;
}

function bootModules(results: readonly KernelResult[]): string[] {
  const vms = results.filter((r) => r.bootModules.length > 0);
  if (vms.length === 0) return [];
  return [
    '## Modules loaded by the initramfs',
    '',
    'To reach the host root over 9p; everything else the kernel builds in.',
    '',
    ...vms.map((r) => `- ${kernelCell(r)}: ${r.bootModules.join(', ')}`),
    '',
  ];
}

function hookNames(results: readonly KernelResult[]): string[] {
  const names: string[] = [];
  for (const r of results) for (const h of r.plan?.hooks ?? []) if (!names.includes(h.hook)) names.push(h.hook);
  return names;
}

function hookCell(r: KernelResult, hook: string): string {
  if (r.plan === null) return '?';
  const h: PlannedHook | undefined = r.plan.hooks.find((p) => p.hook === hook);
  if (h === undefined) return '?';
  const got = h.chosen === null || !h.attached ? 'none' : h.chosen;
  const expected = expectedOf(r, hook);
  if (expected !== undefined && expected !== (got === 'none' ? 'unavailable' : got)) return `**${got}**, expected ${expected}`;
  if (got === 'none') return h.required ? '**none** (required)' : 'none';
  return got;
}

/** What the table says this run's plan (auto unless the plan names its mode) gives the hook. */
function expectedOf(r: KernelResult, hook: string): string | undefined {
  const kernel = EXPECTED_PLANS[r.id as MatrixKernel];
  const mode = (r.plan?.mode ?? 'auto') as ProbeMode;
  return kernel?.modes[mode]?.[hook];
}

function testsCell(r: KernelResult): string {
  if (r.outcome === 'boot-failed' || r.outcome === 'timed-out') return `**${r.outcome}**`;
  const t = r.tests;
  if (t === null) return r.outcome === 'passed' ? 'passed (no test report)' : `**failed** (exit ${r.exitStatus})`;
  const counted = `${t.pass}/${t.tests} passed${t.skipped > 0 ? `, ${t.skipped} skipped` : ''}`;
  return t.fail > 0 || t.cancelled > 0 || r.outcome !== 'passed' ? `**${t.fail + t.cancelled} failed**, ${counted}` : counted;
}

function kernelCell(r: KernelResult): string {
  return r.id === 'host' ? `host ${r.release ?? ''}`.trim() : (r.release ?? r.id);
}

function seconds(s: number | null): string {
  return s === null ? '' : `${s.toFixed(1)} s`;
}

function latest(results: readonly KernelResult[]): string {
  const dates = results.map((r) => r.finishedAt).sort();
  return dates.length === 0 ? 'never' : dates[dates.length - 1]!.slice(0, 10);
}

/** The VM kernels oldest first, then the host. */
function byMatrixOrder(a: KernelResult, b: KernelResult): number {
  if ((a.id === 'host') !== (b.id === 'host')) return a.id === 'host' ? 1 : -1;
  const va = a.id.split('.').map(Number);
  const vb = b.id.split('.').map(Number);
  for (let i = 0; i < Math.max(va.length, vb.length); i++) {
    const d = (va[i] ?? 0) - (vb[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return a.id.localeCompare(b.id);
}

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

function modeCell(r: KernelResult, mode: string): string {
  const runs = (r.modes ?? []).filter((m) => m.mode === mode);
  if (runs.length === 0) return '?';
  const passed = runs.filter((m) => m.status === 'passed');
  const failed = runs.filter((m) => m.status === 'failed').length;
  if (failed > 0) return `**${failed} failed**, ${passed.length} passed`;
  if (passed.length === 0) return 'n/a';
  // The socket I/O suite names the implementations it got, e.g. "(kprobe/kprobe)".
  const impl = /\(([a-z_]+)\/[a-z_]+\)/.exec(passed.find((m) => m.test.startsWith('socket I/O'))?.test ?? '')?.[1];
  return `${passed.length} passed${impl ? ` (I/O: ${impl})` : ''}`;
}
