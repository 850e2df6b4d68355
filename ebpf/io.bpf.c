// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bytes moved by TCP and UDP sockets, per send/recv call, in three
 * interchangeable implementations chosen at run time (src/collector/hooks.ts):
 *
 *  - fexit on inet_sendmsg/inet6_sendmsg/inet_recvmsg/inet6_recvmsg (cheapest);
 *  - tp_btf and classic tracepoints sock:sock_send_length/sock_recv_length
 *    (kernel >= 6.3);
 *  - kprobe + kretprobe on the same four functions (widest).
 *
 * All hook the same point: the protocol-independent socket layer that
 * sock_sendmsg()/sock_recvmsg() call, after which the tracepoints fire. So
 * every implementation counts the same calls. Their stable signatures are why
 * we hook them rather than tcp_recvmsg, whose arguments changed in 5.19. Bytes
 * are the return value: received bytes are what was read, not the buffer size.
 */
#include "maps.bpf.h"
#include "sock.bpf.h"
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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
	e->key.tgid = bpf_get_current_pid_tgid() >> 32;
	e->key.family = family;
	e->key.protocol = protocol;
	e->key.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(&e->key.comm, sizeof(e->key.comm));
	ss_read_tuple(sk, family, e->key.laddr, e->key.raddr, &e->key.lport, &e->key.rport);
	if (protocol == IPPROTO_TCP)
		e->srtt_us = ss_srtt_us(sk);
	bpf_ringbuf_submit(e, ss_submit_flags());
	return 0;
}

/* For the function hooks: family and protocol come from the socket itself. */
static __always_inline int handle_sock_io(struct sock *sk, int ret, int flags, __u8 direction)
{
	if (ret <= 0 || !sk)
		return 0;
	return handle_io(sk, BPF_CORE_READ(sk, __sk_common.skc_family),
			 BPF_CORE_READ(sk, sk_protocol), ret, flags, direction);
}

/* ---- tracepoints (kernel >= 6.3) ---- */

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

SEC("tp_btf/sock_send_length")
int BPF_PROG(btf_sock_send_length, struct sock *sk, int ret, int flags)
{
	return handle_sock_io(sk, ret, flags, SS_DIR_TRANSMIT);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(btf_sock_recv_length, struct sock *sk, int ret, int flags)
{
	return handle_sock_io(sk, ret, flags, SS_DIR_RECEIVE);
}

/* ---- fexit ---- */

SEC("fexit/inet_sendmsg")
int BPF_PROG(fexit_inet_sendmsg, struct socket *sock, struct msghdr *msg, size_t size, int ret)
{
	return handle_sock_io(BPF_CORE_READ(sock, sk), ret, 0, SS_DIR_TRANSMIT);
}

SEC("fexit/inet6_sendmsg")
int BPF_PROG(fexit_inet6_sendmsg, struct socket *sock, struct msghdr *msg, size_t size, int ret)
{
	return handle_sock_io(BPF_CORE_READ(sock, sk), ret, 0, SS_DIR_TRANSMIT);
}

SEC("fexit/inet_recvmsg")
int BPF_PROG(fexit_inet_recvmsg, struct socket *sock, struct msghdr *msg, size_t size, int flags,
	     int ret)
{
	return handle_sock_io(BPF_CORE_READ(sock, sk), ret, flags, SS_DIR_RECEIVE);
}

SEC("fexit/inet6_recvmsg")
int BPF_PROG(fexit_inet6_recvmsg, struct socket *sock, struct msghdr *msg, size_t size, int flags,
	     int ret)
{
	return handle_sock_io(BPF_CORE_READ(sock, sk), ret, flags, SS_DIR_RECEIVE);
}

/* ---- kprobe + kretprobe: the entry keeps what the return needs, per thread ---- */

struct io_call {
	struct sock *sk;
	int flags;
	int _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct io_call);
} io_calls SEC(".maps");

static __always_inline int io_entry(struct socket *sock, int flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_call call = { .sk = BPF_CORE_READ(sock, sk), .flags = flags };

	if (bpf_map_update_elem(&io_calls, &id, &call, BPF_ANY))
		ss_stat_inc(SS_STAT_PENDING_FULL);
	return 0;
}

static __always_inline int io_return(int ret, __u8 direction)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_call *call = bpf_map_lookup_elem(&io_calls, &id);

	if (!call)
		return 0;
	handle_sock_io(call->sk, ret, call->flags, direction);
	bpf_map_delete_elem(&io_calls, &id);
	return 0;
}

SEC("kprobe/inet_sendmsg")
int BPF_KPROBE(kprobe_inet_sendmsg, struct socket *sock)
{
	return io_entry(sock, 0);
}

SEC("kretprobe/inet_sendmsg")
int BPF_KRETPROBE(kretprobe_inet_sendmsg, int ret)
{
	return io_return(ret, SS_DIR_TRANSMIT);
}

SEC("kprobe/inet6_sendmsg")
int BPF_KPROBE(kprobe_inet6_sendmsg, struct socket *sock)
{
	return io_entry(sock, 0);
}

SEC("kretprobe/inet6_sendmsg")
int BPF_KRETPROBE(kretprobe_inet6_sendmsg, int ret)
{
	return io_return(ret, SS_DIR_TRANSMIT);
}

SEC("kprobe/inet_recvmsg")
int BPF_KPROBE(kprobe_inet_recvmsg, struct socket *sock, struct msghdr *msg, size_t size, int flags)
{
	return io_entry(sock, flags);
}

SEC("kretprobe/inet_recvmsg")
int BPF_KRETPROBE(kretprobe_inet_recvmsg, int ret)
{
	return io_return(ret, SS_DIR_RECEIVE);
}

SEC("kprobe/inet6_recvmsg")
int BPF_KPROBE(kprobe_inet6_recvmsg, struct socket *sock, struct msghdr *msg, size_t size, int flags)
{
	return io_entry(sock, flags);
}

SEC("kretprobe/inet6_recvmsg")
int BPF_KRETPROBE(kretprobe_inet6_recvmsg, int ret)
{
	return io_return(ret, SS_DIR_RECEIVE);
}
