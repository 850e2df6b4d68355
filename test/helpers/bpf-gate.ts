import { existsSync, readFileSync } from 'node:fs';

/*
 * Tests that load BPF programs use this gate. Outside CI a machine that cannot
 * run them skips them with the reason; in CI (CI=true) they run anyway and
 * fail with the reason, so a CI that silently lost BPF can never pass.
 *
 *   test('counts bytes', bpfTestOptions(), async () => { requireBpf(); ... });
 *
 * Only preconditions are checked here; a probe that fails to load on a machine
 * that passes them fails the test through its own error.
 */

const CAP_SYS_ADMIN = 21n;
const CAP_BPF = 39n;
const CAP_PERFMON = 38n;
const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true';
}

/** Why BPF programs cannot be loaded here, or undefined if nothing stands in the way. */
export function bpfUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) {
    return `BPF tests need root (uid is ${process.getuid?.() ?? 'unknown'})`;
  }
  const effective = effectiveCapabilities();
  const has = (cap: bigint): boolean => ((effective >> cap) & 1n) === 1n;
  if (!has(CAP_SYS_ADMIN) && !(has(CAP_BPF) && has(CAP_PERFMON))) {
    return `BPF tests need CAP_SYS_ADMIN or CAP_BPF+CAP_PERFMON (CapEff ${effective.toString(16)})`;
  }
  if (!existsSync(KERNEL_BTF)) {
    return `BPF tests need kernel BTF (${KERNEL_BTF} is missing)`;
  }
  return undefined;
}

/** node:test options: skip with the reason outside CI, never skip in CI. */
export function bpfTestOptions(): { skip: string | false } {
  const reason = bpfUnavailableReason();
  return { skip: reason !== undefined && !inCi() ? reason : false };
}

/** Call first in a BPF test (or a `before` hook): throws with the reason when BPF is unusable. */
export function requireBpf(): void {
  const reason = bpfUnavailableReason();
  if (reason !== undefined) {
    throw new Error(`${reason}${inCi() ? ' — CI=true, so this is a failure, not a skip' : ''}`);
  }
}

function effectiveCapabilities(): bigint {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return match?.[1] === undefined ? 0n : BigInt(`0x${match[1]}`);
}

/**
 * For tests that need root but load no BPF (network namespaces, other users' /proc):
 * skipped outside CI when not root, never in CI; requireRoot throws with the reason.
 */
export function rootTestOptions(): { skip: string | false } {
  return { skip: process.getuid?.() !== 0 && !inCi() ? `needs root (uid is ${process.getuid?.() ?? 'unknown'})` : false };
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error(`needs root (uid is ${process.getuid?.() ?? 'unknown'})${inCi() ? ' — CI=true, so this is a failure, not a skip' : ''}`);
}
