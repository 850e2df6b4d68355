/**
 * Chooses, per hook, the cheapest implementation that really loads and attaches on
 * this kernel. Each candidate is tried with a real load + attach in a throwaway
 * session (no kernel-version guessing), then the winners are loaded together.
 */
import type { HookSpec, ImplementationFamily } from './hooks';
import type { NativeAddon, NativeBpfSession } from './native-addon';

export interface ImplementationFailure {
  family: ImplementationFamily;
  reason: string;
}

export interface PlannedHook {
  hook: string;
  required: boolean;
  /** The chosen implementation, or undefined when none works here. */
  chosen?: ImplementationFamily;
  programs: string[];
  failures: ImplementationFailure[];
}

export interface AttachPlan {
  hooks: PlannedHook[];
  /** Programs to load in the real session. */
  programs(): string[];
  /** Required hooks with no working implementation. */
  missingRequired(): PlannedHook[];
}

export interface PlanOptions {
  /** Restrict candidates to one family ('auto' tries all). */
  mode: 'auto' | ImplementationFamily;
}

/** A tiny ring is enough for a test attach: nothing reads it. */
const PROBE_RING_BYTES = 4096;

export function planAttach(addon: NativeAddon, hooks: readonly HookSpec[], options: PlanOptions): AttachPlan {
  const planned: PlannedHook[] = hooks.map((spec) => {
    const result: PlannedHook = { hook: spec.hook, required: spec.required, programs: [], failures: [] };
    for (const impl of spec.implementations) {
      if (options.mode !== 'auto' && impl.family !== options.mode) continue;
      const reason = tryImplementation(addon, impl.programs);
      if (reason === undefined) {
        result.chosen = impl.family;
        result.programs = impl.programs;
        break;
      }
      result.failures.push({ family: impl.family, reason });
    }
    if (!result.chosen && result.failures.length === 0) {
      result.failures.push({ family: options.mode as ImplementationFamily, reason: `no ${options.mode} implementation of this hook` });
    }
    return result;
  });
  return {
    hooks: planned,
    programs: () => planned.flatMap((h) => h.programs),
    missingRequired: () => planned.filter((h) => h.required && !h.chosen),
  };
}

/** Returns undefined when every program loaded and attached, else the first reason it did not. */
function tryImplementation(addon: NativeAddon, programs: string[]): string | undefined {
  let session: NativeBpfSession | undefined;
  try {
    session = new addon.BpfSession({ ringBufferSize: PROBE_RING_BYTES, wakeupDataSize: PROBE_RING_BYTES, maxFlows: 1 });
    const wanted = new Set(programs);
    for (const p of session.programs()) session.setAutoload(p.name, wanted.has(p.name));
    session.load();
    for (const p of programs) session.attach(p);
    return undefined;
  } catch (err) {
    return firstLine((err as Error).message);
  } finally {
    session?.close();
  }
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl === -1 ? text : text.slice(0, nl);
}
