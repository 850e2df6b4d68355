// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor: the least a BPF program can do per socket send/recv and still count
 * the same calls as sockscope. Same hooks, same filter (AF_INET/AF_INET6,
 * TCP/UDP, ret > 0, no MSG_PEEK on receive), then one per-CPU array update: bytes
 * per direction. Nothing about the process or the socket is read.
 *
 * With `pid` (floor.c's second argument) it also calls bpf_get_current_pid_tgid(),
 * the one helper anything that attributes a call to a process must make: that
 * variant measures what the process id alone costs on this host.
 *
 * Two variants of the same program, chosen by the loader (floor.c):
 *  - classic tracepoint sock:sock_{send,recv}_length (family/protocol are
 *    fields of the tracepoint record);
 *  - tp_btf on the same tracepoints (family/protocol are read from the
 *    BTF-typed struct sock with plain loads, no probe-read helper).
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define MSG_PEEK 2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* 0 = transmit, 1 = receive */
	__type(key, __u32);
	__type(value, __u64);
} bytes SEC(".maps");

const volatile bool with_pid = false;

static __always_inline int count(__u16 family, __u16 protocol, int ret, int flags, __u32 direction)
{
	__u64 *sum;

	if (ret <= 0)
		return 0;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return 0;
	if (direction == 1 && (flags & MSG_PEEK))
		return 0;
	/* tgid 0 is the idle task, which makes no socket calls: the test only keeps the call. */
	if (with_pid && (bpf_get_current_pid_tgid() >> 32) == 0)
		return 0;
	sum = bpf_map_lookup_elem(&bytes, &direction);
	if (sum)
		*sum += ret;
	return 0;
}

SEC("tracepoint/sock/sock_send_length")
int tp_send(struct trace_event_raw_sock_msg_length *ctx)
{
	return count(ctx->family, ctx->protocol, ctx->ret, ctx->flags, 0);
}

SEC("tracepoint/sock/sock_recv_length")
int tp_recv(struct trace_event_raw_sock_msg_length *ctx)
{
	return count(ctx->family, ctx->protocol, ctx->ret, ctx->flags, 1);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(btf_send, struct sock *sk, int ret, int flags)
{
	return count(sk->__sk_common.skc_family, sk->sk_protocol, ret, flags, 0);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(btf_recv, struct sock *sk, int ret, int flags)
{
	return count(sk->__sk_common.skc_family, sk->sk_protocol, ret, flags, 1);
}
