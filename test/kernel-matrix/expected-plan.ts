/**
 * What each probe mode must attach on each kernel of the matrix. With CI=true a test of a
 * mode this table says attaches fails when it does not, and a test of a mode it marks
 * unavailable is skipped only after the real plan agrees (test/integration/expected-plan.test.ts),
 * so the table cannot rot silently. Change it deliberately, with the run that shows why.
 */
import type { ProbeMode } from '../../src/collector/attach-plan';
import type { Implementation, ProbeFamily } from '../../src/collector/hooks';

/** The matrix kernels (test/kernel-matrix/README.md); "host" is the machine that runs the matrix. */
export type MatrixKernel = '5.10' | '6.1' | '6.12' | 'host';
export const MATRIX_KERNELS: readonly MatrixKernel[] = ['5.10', '6.1', '6.12', 'host'];
export const PROBE_MODES: readonly ProbeMode[] = ['auto', 'fentry', 'kprobe', 'tracepoint'];

/** The implementation a hook must get, or 'unavailable': none of the mode's candidates attaches. */
export type Expected = Implementation | 'unavailable';
export type ModePlan = Readonly<Record<string, Expected>>;

export interface KernelPlans {
  /** Why a family cannot attach there: the reason a skipped test gives. */
  unavailable: Readonly<Partial<Record<ProbeFamily, string>>>;
  modes: Readonly<Record<ProbeMode, ModePlan>>;
}

/** The host of the matrix runs kernels from this release on (6.18 when the table was written). */
export const HOST_FROM = { major: 6, minor: 18 } as const;

const SOCK_LENGTH_TRACEPOINTS = 'the sock:sock_send_length/sock_recv_length tracepoints arrived in Linux 6.3';

// A forced family applies to hooks that have an implementation of it; the others keep the
// auto order (src/collector/attach-plan.ts candidatesFor), hence tp_btf for tcp_state in
// fentry and kprobe mode.
const DEBIAN_BEFORE_6_3: KernelPlans = {
  unavailable: { tracepoint: SOCK_LENGTH_TRACEPOINTS },
  modes: {
    auto: { socket_send: 'fentry', socket_recv: 'fentry', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
    fentry: { socket_send: 'fentry', socket_recv: 'fentry', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
    kprobe: { socket_send: 'kprobe', socket_recv: 'kprobe', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
    tracepoint: { socket_send: 'unavailable', socket_recv: 'unavailable', tcp_state: 'tracepoint', tcp_retransmit: 'tracepoint' },
  },
};

export const EXPECTED_PLANS: Readonly<Record<MatrixKernel, KernelPlans>> = {
  '5.10': DEBIAN_BEFORE_6_3,
  '6.1': DEBIAN_BEFORE_6_3,
  '6.12': {
    unavailable: {},
    modes: {
      auto: { socket_send: 'fentry', socket_recv: 'fentry', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
      fentry: { socket_send: 'fentry', socket_recv: 'fentry', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
      kprobe: { socket_send: 'kprobe', socket_recv: 'kprobe', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
      tracepoint: { socket_send: 'tracepoint', socket_recv: 'tracepoint', tcp_state: 'tracepoint', tcp_retransmit: 'tracepoint' },
    },
  },
  host: {
    unavailable: {
      fentry: 'the host kernel refuses fentry/fexit programs (EPERM at load)',
      kprobe: 'the host kernel has kprobes compiled out',
    },
    modes: {
      auto: { socket_send: 'tp_btf', socket_recv: 'tp_btf', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
      fentry: { socket_send: 'unavailable', socket_recv: 'unavailable', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
      kprobe: { socket_send: 'unavailable', socket_recv: 'unavailable', tcp_state: 'tp_btf', tcp_retransmit: 'tp_btf' },
      tracepoint: { socket_send: 'tracepoint', socket_recv: 'tracepoint', tcp_state: 'tracepoint', tcp_retransmit: 'tracepoint' },
    },
  },
};

/**
 * The matrix kernel a `uname -r` release is: 5.10, 6.1 and 6.12 by major.minor (the Debian
 * series the matrix boots), "host" from HOST_FROM on; undefined for any other kernel.
 */
export function matrixKernelOf(release: string): MatrixKernel | undefined {
  const match = /^(\d+)\.(\d+)/.exec(release);
  if (!match) return undefined;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const series = `${major}.${minor}`;
  if (series === '5.10' || series === '6.1' || series === '6.12') return series;
  if (major > HOST_FROM.major || (major === HOST_FROM.major && minor >= HOST_FROM.minor)) return 'host';
  return undefined;
}

export function expectedImplementation(kernel: MatrixKernel, mode: ProbeMode, hook: string): Expected {
  const expected = EXPECTED_PLANS[kernel].modes[mode][hook];
  if (expected === undefined) throw new Error(`test/kernel-matrix/expected-plan.ts has no ${hook} for probes.mode=${mode} on ${kernel}: add it`);
  return expected;
}

/**
 * Why the table says a collector forced to `mode` cannot run `hook` on `kernel`: the hook
 * does not attach, or a required hook does not (the collector would refuse to start).
 * Undefined when the table says it attaches.
 */
export function unavailableReason(
  kernel: MatrixKernel,
  mode: ProbeMode,
  hook: string,
  required: readonly string[],
): string | undefined {
  const why = (h: string) => {
    const family = mode === 'auto' ? undefined : EXPECTED_PLANS[kernel].unavailable[mode];
    return `${h} cannot attach as ${mode} on ${kernel}${family ? `: ${family}` : ''}`;
  };
  if (expectedImplementation(kernel, mode, hook) === 'unavailable') return why(hook);
  const missing = required.find((h) => expectedImplementation(kernel, mode, h) === 'unavailable');
  return missing === undefined ? undefined : `with probes.mode=${mode}, required ${why(missing)}`;
}
