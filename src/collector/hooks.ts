/**
 * What sockscope hooks, and the interchangeable BPF programs that can feed each hook,
 * cheapest first. Program names are the C function names in ebpf/*.bpf.c.
 */

export type ImplementationFamily = 'fentry' | 'kprobe' | 'tracepoint';

export interface HookImplementation {
  family: ImplementationFamily;
  /** All of these must load and attach for the implementation to count. */
  programs: string[];
}

export interface HookSpec {
  hook: string;
  /** Without a required hook the daemon cannot do its job and refuses to start. */
  required: boolean;
  implementations: HookImplementation[];
}

export const HOOKS: readonly HookSpec[] = [
  {
    hook: 'socket_send',
    required: true,
    implementations: [{ family: 'tracepoint', programs: ['tp_sock_send_length'] }],
  },
  {
    hook: 'socket_recv',
    required: true,
    implementations: [{ family: 'tracepoint', programs: ['tp_sock_recv_length'] }],
  },
];
