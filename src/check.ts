/** `sockscope check`: which implementation of each hook works on this kernel, and why others do not. */
import os from 'node:os';
import { planAttach, type AttachPlan } from './collector/attach-plan';
import { HOOKS } from './collector/hooks';
import { loadNativeAddon } from './collector/native-addon';
import type { Config } from './config/schema';

export interface CheckReport {
  kernel: string;
  mode: string;
  hooks: Array<{
    hook: string;
    required: boolean;
    chosen: string | null;
    attached: boolean;
    failures: Array<{ implementation: string; stage: string; reason: string }>;
  }>;
  /** Whether the backend lookups of metrics.clusterNetworks can read conntrack where configured. */
  conntrack: { netns: string; available: boolean; reason: string; used: boolean };
}

/** Opens a conntrack socket as the daemon would (metrics.conntrackNetns), and says why not. */
function checkConntrack(config: Config): CheckReport['conntrack'] {
  const lookup = new (loadNativeAddon().ConntrackLookup)({ netns: config.metrics.conntrackNetns });
  const reason = lookup.unavailableReason();
  lookup.close();
  return { netns: config.metrics.conntrackNetns || 'own', available: reason === '', reason, used: config.metrics.clusterNetworks.length > 0 };
}

export function checkReport(config: Config): { report: CheckReport; plan: AttachPlan } {
  const plan = planAttach(loadNativeAddon(), HOOKS, { mode: config.probes.mode });
  return {
    plan,
    report: {
      kernel: os.release(),
      mode: config.probes.mode,
      hooks: describeHooks(plan),
      conntrack: checkConntrack(config),
    },
  };
}

/** Each hook of a plan: the implementation chosen, and why the others failed. */
export function describeHooks(plan: AttachPlan): CheckReport['hooks'] {
  return plan.hooks.map((h) => ({
    hook: h.hook,
    required: h.required,
    chosen: h.chosen ?? null,
    attached: h.chosen !== undefined,
    failures: h.failures,
  }));
}

export function renderCheckText(report: CheckReport): string {
  const lines = [`kernel ${report.kernel}, probes.mode=${report.mode}`];
  for (const h of report.hooks) {
    const verdict = h.chosen ? `${h.chosen}: attached` : h.required ? 'NONE (required)' : 'none (optional)';
    lines.push(`${h.hook.padEnd(16)} -> ${verdict}`);
    for (const f of h.failures) lines.push(`${' '.repeat(20)}${f.implementation} failed at ${f.stage}: ${f.reason}`);
  }
  const c = report.conntrack;
  const use = c.used ? '' : ' (used only with metrics.clusterNetworks)';
  lines.push(
    `${'conntrack'.padEnd(16)} -> ${c.available ? `available in ${c.netns} namespace` : `unavailable: ${c.reason}; sockscope.peer.backend.address stays empty`}${use}`,
  );
  return lines.join('\n') + '\n';
}
