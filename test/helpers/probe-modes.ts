/** Which forced probe families can run a hook on this kernel, for per-family test runs. */
import { planAttach, type ProbeMode } from '../../src/collector/attach-plan';
import { FAMILY_OF, HOOKS } from '../../src/collector/hooks';
import { loadNativeAddon } from '../../src/collector/native-addon';
import { bpfUnavailableReason } from './bpf-gate';

/**
 * Why a collector forced to `mode` cannot test this hook's `mode` implementation here
 * (then the test is skipped): the hook has none of that family, it does not attach, or
 * a required hook of the same forced plan does not (the collector would refuse to start).
 */
export function modeUnavailable(mode: ProbeMode, hook: string): string | false {
  if (mode === 'auto' || bpfUnavailableReason()) return false;
  const spec = HOOKS.find((h) => h.hook === hook)!;
  if (!spec.implementations.some((i) => FAMILY_OF[i.implementation] === mode)) return `${hook} has no ${mode} implementation`;
  const plan = planAttach(loadNativeAddon(), HOOKS, { mode });
  const planned = plan.hooks.find((h) => h.hook === hook)!;
  if (!planned.chosen) return `${hook} cannot attach as ${mode} here: ${planned.failures.map((f) => f.reason).join('; ')}`;
  const missing = plan.missingRequired();
  if (missing.length > 0) return `with probes.mode=${mode}, required ${missing.map((h) => h.hook).join(', ')} cannot attach here`;
  return false;
}
