// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bytes moved by TCP and UDP sockets, per send/recv call.
 *
 * Tracepoint implementation: sock:sock_send_length / sock:sock_recv_length
 * (kernel >= 6.3) fire after the protocol's sendmsg/recvmsg with its return
 * value, so received bytes are what was really read, not what was asked for.
 */
#include "maps.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define MSG_PEEK 2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void fill_flow_key(struct ss_flow_key *key, struct sock *sk,
					  __u16 family, __u8 protocol)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	key->tgid = pid_tgid >> 32;
	key->family = family;
	key->protocol = protocol;
	key->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(&key->comm, sizeof(key->comm));
	key->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	key->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* BPF_CORE_READ_INTO copies sizeof(*dst): give it the field's own type. */
	if (family == AF_INET) {
		BPF_CORE_READ_INTO((__be32 *)key->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__be32 *)key->raddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)key->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)key->raddr, sk, __sk_common.skc_v6_daddr);
	}
}

static __always_inline int handle_io(struct sock *sk, __u16 family, __u16 protocol,
				     int ret, int flags, __u8 direction)
{
	struct ss_io_event *e;

	if (ret <= 0)
		return 0;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return 0;
	/* A peek leaves the data queued; the real read is counted later. */
	if (direction == SS_DIR_RECEIVE && (flags & MSG_PEEK))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		ss_stat_inc(SS_STAT_RINGBUF_LOST);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = SS_EVENT_IO;
	e->direction = direction;
	e->bytes = ret;
	e->pid = (__u32)bpf_get_current_pid_tgid();
	fill_flow_key(&e->key, sk, family, protocol);
	bpf_ringbuf_submit(e, ss_submit_flags());
	return 0;
}

SEC("tracepoint/sock/sock_send_length")
int tp_sock_send_length(struct trace_event_raw_sock_msg_length *ctx)
{
	return handle_io(ctx->sk, ctx->family, ctx->protocol, ctx->ret, ctx->flags,
			 SS_DIR_TRANSMIT);
}

SEC("tracepoint/sock/sock_recv_length")
int tp_sock_recv_length(struct trace_event_raw_sock_msg_length *ctx)
{
	return handle_io(ctx->sk, ctx->family, ctx->protocol, ctx->ret, ctx->flags,
			 SS_DIR_RECEIVE);
}
