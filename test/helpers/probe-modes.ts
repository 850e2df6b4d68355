/** Which forced probe families can run a hook on this kernel, for per-family test runs. */
import { planAttach, type ProbeMode } from '../../src/collector/attach-plan';
import { FAMILY_OF, HOOKS } from '../../src/collector/hooks';
import { loadNativeAddon } from '../../src/collector/native-addon';
import { bpfUnavailableReason } from './bpf-gate';

/** Why a forced mode gives this hook no implementation of that family here (then the test is skipped). */
export function modeUnavailable(mode: ProbeMode, hook: string): string | false {
  if (mode === 'auto' || bpfUnavailableReason()) return false;
  const spec = HOOKS.find((h) => h.hook === hook)!;
  if (!spec.implementations.some((i) => FAMILY_OF[i.implementation] === mode)) return `${hook} has no ${mode} implementation`;
  const planned = planAttach(loadNativeAddon(), [spec], { mode }).hooks[0]!;
  return planned.chosen ? false : `${hook} cannot attach as ${mode} here: ${planned.failures.map((f) => f.reason).join('; ')}`;
}
