/**
 * What sockscope hooks, and the interchangeable BPF programs that can feed each hook,
 * cheapest first. Program names are the C function names in ebpf/*.bpf.c.
 */

/**
 * How a program is attached. `probes.mode` can force fentry, kprobe or (classic)
 * tracepoint; tp_btf (BTF-typed raw tracepoints) is chosen only by `auto`.
 */
export type Implementation = 'fentry' | 'tp_btf' | 'tracepoint' | 'kprobe';
export type ProbeFamily = 'fentry' | 'kprobe' | 'tracepoint';

export const FAMILY_OF: Readonly<Record<Implementation, ProbeFamily | 'tp_btf'>> = {
  fentry: 'fentry',
  tp_btf: 'tp_btf',
  tracepoint: 'tracepoint',
  kprobe: 'kprobe',
};

export interface HookImplementation {
  implementation: Implementation;
  /** All of these must load and attach for the implementation to count. */
  programs: string[];
}

export interface HookSpec {
  hook: string;
  /** Without a required hook the daemon cannot do its job and refuses to start. */
  required: boolean;
  description: string;
  implementations: HookImplementation[];
}

const kprobePair = (fn: string) => [`kprobe_${fn}`, `kretprobe_${fn}`];

export const HOOKS: readonly HookSpec[] = [
  {
    hook: 'socket_send',
    required: true,
    description: 'bytes sent by TCP/UDP sockets',
    implementations: [
      { implementation: 'fentry', programs: ['fexit_inet_sendmsg', 'fexit_inet6_sendmsg'] },
      { implementation: 'tp_btf', programs: ['btf_sock_send_length'] },
      { implementation: 'tracepoint', programs: ['tp_sock_send_length'] },
      { implementation: 'kprobe', programs: [...kprobePair('inet_sendmsg'), ...kprobePair('inet6_sendmsg')] },
    ],
  },
  {
    hook: 'socket_recv',
    required: true,
    description: 'bytes received by TCP/UDP sockets',
    implementations: [
      { implementation: 'fentry', programs: ['fexit_inet_recvmsg', 'fexit_inet6_recvmsg'] },
      { implementation: 'tp_btf', programs: ['btf_sock_recv_length'] },
      { implementation: 'tracepoint', programs: ['tp_sock_recv_length'] },
      { implementation: 'kprobe', programs: [...kprobePair('inet_recvmsg'), ...kprobePair('inet6_recvmsg')] },
    ],
  },
  {
    hook: 'tcp_state',
    required: true,
    description: 'TCP state changes: connections opened, closed, failed; connect latency; lifetime',
    implementations: [
      { implementation: 'tp_btf', programs: ['btf_inet_sock_set_state'] },
      { implementation: 'tracepoint', programs: ['tp_inet_sock_set_state'] },
    ],
  },
  {
    hook: 'tcp_retransmit',
    required: false,
    description: 'TCP retransmitted segments',
    // tp_btf first: the classic tracepoint's runner skips an event whenever any
    // kprobe/tracepoint BPF program is already running on that CPU (softirq), and
    // measured here that lost about one retransmit in 20 under load; tp_btf only
    // skips nested runs of itself. Skips are exported as sockscope_ebpf_events_missed_total.
    implementations: [
      { implementation: 'tp_btf', programs: ['btf_tcp_retransmit_skb'] },
      // No kprobe variant: tcp:tcp_retransmit_skb exists since Linux 4.15, below every supported kernel.
      { implementation: 'tracepoint', programs: ['tp_tcp_retransmit_skb'] },
    ],
  },
];
