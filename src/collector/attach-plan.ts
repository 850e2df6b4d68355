/**
 * Chooses, per hook, the cheapest implementation that really loads and attaches on
 * this kernel. Each candidate is tried with a real load + attach in a throwaway
 * session (no kernel-version guessing), then the winners are loaded together.
 */
import { hashMapsNeedPreallocation } from './kernel-release';
import { FAMILY_OF, type HookSpec, type Implementation, type ProbeFamily } from './hooks';
import type { NativeAddon, NativeBpfSession } from './native-addon';

export interface ImplementationFailure {
  implementation: Implementation;
  /** Where it failed: the verifier/loader, or attaching to the kernel hook. */
  stage: 'load' | 'attach';
  reason: string;
}

export interface PlannedHook {
  hook: string;
  required: boolean;
  /** The chosen implementation, or undefined when none works here. */
  chosen?: Implementation;
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

export type ProbeMode = 'auto' | ProbeFamily;

export interface PlanOptions {
  /**
   * 'auto' tries every implementation, cheapest first. A family restricts each hook
   * that has an implementation of that family to those; hooks without one (e.g. TCP
   * state changes have no fentry variant) keep their usual order.
   */
  mode: ProbeMode;
}

/** Tiny maps are enough for a test attach (nothing reads them), set up as the real session's. */
const probeSession = () => ({
  ringBufferSize: 4096,
  wakeupDataSize: 4096,
  maxFlows: 1,
  ioCacheSlots: 1,
  preallocateMaps: hashMapsNeedPreallocation(),
  maxSockets: 64,
  maxListeners: 64,
});

export function candidatesFor(spec: HookSpec, mode: ProbeMode) {
  if (mode === 'auto') return spec.implementations;
  const forced = spec.implementations.filter((i) => FAMILY_OF[i.implementation] === mode);
  return forced.length > 0 ? forced : spec.implementations;
}

export function planAttach(addon: NativeAddon, hooks: readonly HookSpec[], options: PlanOptions): AttachPlan {
  const planned: PlannedHook[] = hooks.map((spec) => {
    const result: PlannedHook = { hook: spec.hook, required: spec.required, programs: [], failures: [] };
    for (const impl of candidatesFor(spec, options.mode)) {
      const failure = tryImplementation(addon, impl.programs);
      if (failure === undefined) {
        result.chosen = impl.implementation;
        result.programs = impl.programs;
        break;
      }
      result.failures.push({ implementation: impl.implementation, ...failure });
    }
    return result;
  });
  return {
    hooks: planned,
    programs: () => planned.flatMap((h) => h.programs),
    missingRequired: () => planned.filter((h) => h.required && !h.chosen),
  };
}

/** Undefined when every program loaded and attached, else where and why it did not. */
function tryImplementation(
  addon: NativeAddon,
  programs: string[],
): Omit<ImplementationFailure, 'implementation'> | undefined {
  let session: NativeBpfSession | undefined;
  let stage: 'load' | 'attach' = 'load';
  try {
    session = new addon.BpfSession(probeSession());
    const wanted = new Set(programs);
    for (const p of session.programs()) session.setAutoload(p.name, wanted.has(p.name));
    session.load();
    stage = 'attach';
    for (const p of programs) session.attach(p);
    return undefined;
  } catch (err) {
    return { stage, reason: firstLine((err as Error).message) };
  } finally {
    session?.close();
  }
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl === -1 ? text : text.slice(0, nl);
}
