// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TCP connection lifecycle and retransmits, attributed to the socket's owner.
 *
 * State changes and retransmits often run in softirq, where the current task
 * is whatever happened to be on the CPU. The owner is therefore learned where
 * it is certain: connect() moves a socket to SYN_SENT in the caller's context,
 * and listen() moves one to LISTEN in its owner's. A passive open (SYN_RECV ->
 * ESTABLISHED, in softirq) takes the owner of the listener on its port and
 * network namespace. Sockets opened before sockscope started are not in these
 * maps; user space attributes their events by 4-tuple from its /proc bootstrap.
 */
#include "maps.bpf.h"
#include "sock.bpf.h"
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10

/*
 * Sizes are set by the loader from configuration before load. Plain hashes, not
 * LRU: an LRU map makes room by evicting a live socket's owner without a word,
 * so its update never fails and sockscope_ebpf_map_full_total never fires. A
 * plain hash refuses the new socket instead, and the refusal is counted. The
 * cost: a socket whose CLOSE we never see (its tracepoint run skipped, counted
 * in sockscope_ebpf_events_missed_total) holds its entry until its address is
 * reused. The loader makes both owner maps allocate on use (they cost what is
 * live, not ebpf.maxSockets) from 6.1, and preallocates them before, as the
 * socket I/O maps (src/collector/kernel-release.ts).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock address */
	__type(value, struct ss_sock_info);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ss_listener_key);
	__type(value, struct ss_owner);
} listeners SEC(".maps");

/*
 * The listening port from inet_sport, in every state: on CLOSE, skc_num has been
 * zeroed already when the listener was not bound to a fixed port (see
 * ss_read_tuple), and a key read from it would never match the entry. An
 * accepted socket's inet_sport is its listener's port.
 */
static __always_inline struct ss_listener_key listener_key(const struct sock *sk)
{
	struct ss_listener_key key = {
		.netns = ss_netns(sk),
		.lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport)),
	};

	return key;
}

static __always_inline struct ss_conn_event *reserve_conn_event(__u8 type, const struct sock *sk,
								__u16 family)
{
	struct ss_conn_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		ss_stat_inc(SS_STAT_RINGBUF_LOST);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->family = family;
	e->ts_ns = bpf_ktime_get_ns();
	ss_read_tuple(sk, family, e->laddr, e->raddr, &e->lport, &e->rport);
	e->srtt_us = ss_srtt_us(sk);
	e->netns = ss_netns(sk);
	return e;
}

static __always_inline void copy_owner(struct ss_conn_event *e, const struct ss_sock_info *info)
{
	if (!info)
		return;
	e->owner = info->owner;
	e->flags |= info->flags | SS_CONN_OWNER_KNOWN;
}

static __always_inline int handle_state(const struct sock *sk, int oldstate, int newstate,
					__u16 family, __u16 protocol)
{
	__u64 skaddr = (__u64)sk;
	__u64 now = bpf_ktime_get_ns();
	struct ss_sock_info *info;
	struct ss_conn_event *e;
	struct ss_owner listener_owner = {};
	__u64 duration = 0;

	if (protocol != IPPROTO_TCP || (family != AF_INET && family != AF_INET6))
		return 0;

	if (newstate == TCP_SYN_SENT) {
		/* connect(): the current task is the owner. */
		struct ss_sock_info fresh = { .syn_sent_ns = now, .flags = SS_CONN_ACTIVE };

		ss_current_owner(&fresh.owner);
		if (bpf_map_update_elem(&sockets, &skaddr, &fresh, BPF_ANY))
			ss_stat_inc(SS_STAT_SOCKETS_FULL);
	} else if (newstate == TCP_LISTEN) {
		/* listen(): the current task is the owner of every connection it accepts. */
		struct ss_listener_key key = listener_key(sk);

		ss_current_owner(&listener_owner);
		/*
		 * listen() without bind() picks its port only after this change:
		 * port 0 would match no accepted socket and, never deleted, leak.
		 */
		if (key.lport != 0 && bpf_map_update_elem(&listeners, &key, &listener_owner, BPF_ANY))
			ss_stat_inc(SS_STAT_LISTENERS_FULL);
	} else if (newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_RECV) {
		struct ss_listener_key key = listener_key(sk);
		struct ss_owner *owner = bpf_map_lookup_elem(&listeners, &key);
		struct ss_sock_info fresh = { .established_ns = now, .flags = SS_CONN_PASSIVE };

		if (owner) {
			fresh.owner = *owner;
			if (bpf_map_update_elem(&sockets, &skaddr, &fresh, BPF_ANY))
				ss_stat_inc(SS_STAT_SOCKETS_FULL);
		}
	}

	info = bpf_map_lookup_elem(&sockets, &skaddr);
	if (info && newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_SENT) {
		duration = now - info->syn_sent_ns;
		info->established_ns = now;
	} else if (info && newstate == TCP_CLOSE && info->established_ns) {
		duration = now - info->established_ns;
	}

	e = reserve_conn_event(SS_EVENT_STATE, sk, family);
	if (e) {
		e->oldstate = oldstate;
		e->newstate = newstate;
		e->duration_ns = duration;
		if (newstate == TCP_CLOSE)
			e->error = BPF_CORE_READ(sk, sk_err);
		copy_owner(e, info);
		if (newstate == TCP_LISTEN) {
			e->owner = listener_owner;
			e->flags |= SS_CONN_OWNER_KNOWN;
		}
		bpf_ringbuf_submit(e, ss_submit_flags());
	}

	if (newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&sockets, &skaddr);
		if (oldstate == TCP_LISTEN) {
			struct ss_listener_key key = listener_key(sk);

			bpf_map_delete_elem(&listeners, &key);
		}
	}
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	return handle_state(sk, oldstate, newstate, BPF_CORE_READ(sk, __sk_common.skc_family),
			    BPF_CORE_READ(sk, sk_protocol));
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	return handle_state(ctx->skaddr, ctx->oldstate, ctx->newstate, ctx->family, ctx->protocol);
}

/* ---- retransmits ---- */

static __always_inline int handle_retransmit(const struct sock *sk)
{
	__u64 skaddr = (__u64)sk;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	struct ss_conn_event *e;

	if (family != AF_INET && family != AF_INET6)
		return 0;
	e = reserve_conn_event(SS_EVENT_RETRANSMIT, sk, family);
	if (!e)
		return 0;
	e->oldstate = e->newstate = BPF_CORE_READ(sk, __sk_common.skc_state);
	copy_owner(e, bpf_map_lookup_elem(&sockets, &skaddr));
	bpf_ringbuf_submit(e, ss_submit_flags());
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_tcp_retransmit_skb(void *ctx)
{
	/* The context struct is named differently before and after 6.17. */
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb))
		return handle_retransmit(
			((struct trace_event_raw_tcp_retransmit_skb *)ctx)->skaddr);
	return handle_retransmit(((struct trace_event_raw_tcp_event_sk_skb *)ctx)->skaddr);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(btf_tcp_retransmit_skb, const struct sock *sk)
{
	return handle_retransmit(sk);
}
