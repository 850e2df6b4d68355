/**
 * Gates for tests run once per forced probe family. Outside CI a mode that cannot attach
 * here is skipped. With CI=true the table in test/kernel-matrix/expected-plan.ts decides:
 * a mode it marks unavailable is skipped with its reason, any other mode must attach what
 * the table says, or the test fails naming kernel, mode, hook, expected and got.
 */
import os from 'node:os';
import { planAttach, type AttachPlan, type ProbeMode } from '../../src/collector/attach-plan';
import { HOOKS } from '../../src/collector/hooks';
import { loadNativeAddon } from '../../src/collector/native-addon';
import { expectedImplementation, matrixKernelOf, unavailableReason, type MatrixKernel } from '../kernel-matrix/expected-plan';
import { bpfTestOptions, bpfUnavailableReason, inCi, requireBpf } from './bpf-gate';

const REQUIRED = HOOKS.filter((h) => h.required).map((h) => h.hook);
const plans = new Map<ProbeMode, AttachPlan>();

/** The real attach plan of `mode` on this kernel (test loads and attaches), once per mode. */
export function attachPlanOf(mode: ProbeMode): AttachPlan {
  let plan = plans.get(mode);
  if (plan === undefined) {
    plan = planAttach(loadNativeAddon(), HOOKS, { mode });
    plans.set(mode, plan);
  }
  return plan;
}

/** This kernel in the table, or a failure saying to add it. */
export function matrixKernel(release: string = os.release()): MatrixKernel {
  const kernel = matrixKernelOf(release);
  if (kernel === undefined) {
    throw new Error(`kernel ${release} is not in test/kernel-matrix/expected-plan.ts: add it, with what each probes.mode attaches there, so CI knows what must attach`);
  }
  return kernel;
}

/** node:test options for a test of `hook` with a collector forced to `mode`. */
export function probeModeOptions(mode: ProbeMode, hook: string): { skip: string | false } {
  if (bpfUnavailableReason()) return bpfTestOptions();
  if (!inCi()) return { skip: attachedHere(mode, hook) };
  const kernel = matrixKernelOf(os.release());
  // An unknown kernel runs, and fails in assertModeAttaches saying to add it.
  const reason = kernel && unavailableReason(kernel, mode, hook, REQUIRED);
  return { skip: reason ? `${reason} (test/kernel-matrix/expected-plan.ts)` : false };
}

/**
 * First thing in such a test: with CI=true, throws unless `hooks` and every required hook
 * got the implementation the table expects on this kernel.
 */
export function assertModeAttaches(mode: ProbeMode, hooks: readonly string[]): void {
  requireBpf();
  if (!inCi()) return;
  const release = os.release();
  const kernel = matrixKernel(release);
  const plan = attachPlanOf(mode);
  const wrong: string[] = [];
  for (const hook of new Set([...hooks, ...REQUIRED])) {
    const expected = expectedImplementation(kernel, mode, hook);
    const planned = plan.hooks.find((h) => h.hook === hook)!;
    const got = planned.chosen ?? 'unavailable';
    if (got !== expected) {
      const why = planned.failures.map((f) => `${f.implementation} ${f.stage}: ${f.reason}`).join('; ');
      wrong.push(`kernel ${kernel} (${release}), probes.mode=${mode}, hook ${hook}: expected ${expected}, got ${got}${why ? ` (${why})` : ''}`);
    }
  }
  if (wrong.length > 0) throw new Error(`the attach plan is not what test/kernel-matrix/expected-plan.ts says:\n${wrong.join('\n')}`);
}

/** Outside CI: false when `mode` can run `hook` here, else why not. */
function attachedHere(mode: ProbeMode, hook: string): string | false {
  if (mode === 'auto') return false;
  const plan = attachPlanOf(mode);
  const planned = plan.hooks.find((h) => h.hook === hook)!;
  if (!planned.chosen) return `${hook} cannot attach as ${mode} here: ${planned.failures.map((f) => f.reason).join('; ')}`;
  const missing = plan.missingRequired();
  if (missing.length > 0) return `with probes.mode=${mode}, required ${missing.map((h) => h.hook).join(', ')} cannot attach here`;
  return false;
}
