/**
 * What one kernel's run of the matrix produced: results/<kernel>.json, the input of docs/kernels.md.
 * The attach plan is the JSON of `sockscope check --output json`, read tolerantly: a run whose
 * plan is missing or malformed still has a result.
 */

/** How the run ended: the command exited 0, exited non-zero, never ran, or ran out of time. */
export type Outcome = 'passed' | 'failed' | 'boot-failed' | 'timed-out';

export interface HookFailure {
  /** The implementation (fentry, tp_btf, tracepoint, kprobe) or, in older plans, the family. */
  implementation: string;
  stage?: string;
  reason: string;
}

export interface PlannedHook {
  hook: string;
  required: boolean;
  /** The implementation chosen, or null when none loaded and attached. */
  chosen: string | null;
  attached: boolean;
  failures: HookFailure[];
}

export interface CheckPlan {
  kernel?: string;
  mode?: string;
  hooks: PlannedHook[];
}

export interface TestCounts {
  tests: number;
  pass: number;
  fail: number;
  cancelled: number;
  skipped: number;
  todo: number;
}

export interface FailedTest {
  name: string;
  /** The error message (an assertion's diff included, a stack trace not), when the report has one. */
  error?: string;
  /** file:line:column of the test. */
  location?: string;
}

export interface TestSummary extends TestCounts {
  failed: FailedTest[];
}

export interface KernelResult {
  /** The matrix id: "5.10", "6.1", "6.12" or "host". */
  id: string;
  /** `uname -r` inside the guest (or of the host). */
  release: string | null;
  /** The Debian package and version booted; null for the host. */
  package: string | null;
  packageVersion: string | null;
  /** "qemu-tcg" for a booted Debian kernel, "host" for the running kernel. */
  runner: 'qemu-tcg' | 'host';
  outcome: Outcome;
  exitStatus: number;
  /** Why the run failed, in one line; empty when it passed. */
  reason: string;
  btf: boolean | null;
  /** Modules the initramfs loaded to reach the host root (VM kernels only). */
  bootModules: string[];
  /** Host wall time of the whole run, and its parts: boot (+ shutdown) and the command. */
  wallSeconds: number | null;
  bootSeconds: number | null;
  suiteSeconds: number | null;
  command: string;
  plan: CheckPlan | null;
  tests: TestSummary | null;
  /** Tests run once per forced probe family ("probes.mode=kprobe: ..."), from the TAP reports. */
  modes?: ModeResult[];
  finishedAt: string;
}

export interface ModeResult {
  mode: string;
  test: string;
  status: 'passed' | 'failed' | 'skipped';
}

/** "ok 4 - probes.mode=kprobe: ..." / "ok 2 - socket I/O probes, probes.mode=auto (fentry/fentry)" lines. */
export function parseModeResults(tap: string): ModeResult[] {
  const out: ModeResult[] = [];
  for (const m of tap.matchAll(/^\s*(not )?ok \d+ - (.*probes\.mode=(\w+).*?)(?: # SKIP.*)?$/gm)) {
    const skipped = m[0].includes(' # SKIP');
    out.push({ mode: m[3]!, test: m[2]!.trim(), status: m[1] ? 'failed' : skipped ? 'skipped' : 'passed' });
  }
  return out;
}
