// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Hot-path prototypes, measured by the bench next to sockscope itself. Every
 * variant counts exactly what ebpf/io.bpf.c counts, with the same flow key
 * (struct ss_flow_key: process, cgroup, comm, socket 4-tuple) and the same
 * filter; they differ only in where the numbers go and how fields are read:
 *
 *  ringbuf        sockscope's handle_io() as it is: one 88-byte ring-buffer
 *                 record per call, fields read with BPF_CORE_READ
 *                 (bpf_probe_read_kernel).
 *  percpu         the same key, summed in the kernel: a per-CPU hash map of
 *                 flow -> {bytes, calls, srtt} per direction. Two such maps
 *                 behind a one-slot array-of-maps; user space swaps them and
 *                 reads the idle one, so nothing is lost between reads.
 *  percpu_direct  (tp_btf only) percpu, but the struct sock fields the
 *                 verifier lets a BTF-typed pointer load directly are plain
 *                 loads; inet_sport and srtt_us still need BPF_CORE_READ.
 *  percpu_sock    summed per socket and process: a 16-byte key (socket
 *                 address, tgid, both ports: plain loads on tp_btf, two probe
 *                 reads on the classic tracepoint). The
 *                 flow key (comm, cgroup, addresses, inet_sport) and the RTT
 *                 are read once per socket, CPU and drain interval, when that
 *                 CPU's copy of the entry is still empty, and carried in the
 *                 value; user space folds sockets into flows. Per event: one
 *                 helper (pid_tgid) and two map lookups. A process name or
 *                 cgroup change takes effect at the next interval, and the RTT
 *                 is the first of the interval instead of the last.
 *  sock_cache     percpu_sock's key and value, but in a direct-mapped cache
 *                 per CPU: one mmapable array of [half][cpu][slot], the slot
 *                 picked by a multiplicative hash of socket and process. No
 *                 hash-map lookup and no map-in-map: the array lookup is
 *                 inlined by the verifier. A slot held by another socket is
 *                 evicted (here: its sums are added to global counters; the
 *                 daemon would put them on the ring). User space flips `half`
 *                 and waits for running programs with an array-of-maps update
 *                 (synchronize_rcu), then reads and zeroes the idle half
 *                 through mmap. Tracepoints run with preemption disabled, so a
 *                 program owns its CPU's slots while it runs.
 *
 * The loader (proto.c) picks one variant and one hook type with autoload.
 */
#include "maps.bpf.h"
#include "sock.bpf.h"
#include "proto.h"
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PROTO_MAP_PERCPU_HASH 5
#define PROTO_MAP_ARRAY_OF_MAPS 12
#define PROTO_MAX_FLOWS 65536

struct proto_flow_counts {
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u64 tx_calls;
	__u64 rx_calls;
	__u32 srtt_us;
	__u32 _pad;
};

struct proto_flow_map {
	__uint(type, PROTO_MAP_PERCPU_HASH);
	__uint(max_entries, PROTO_MAX_FLOWS);
	__type(key, struct ss_flow_key);
	__type(value, struct proto_flow_counts);
};

struct proto_flow_map flows_a SEC(".maps");
struct proto_flow_map flows_b SEC(".maps");

struct {
	__uint(type, PROTO_MAP_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct proto_flow_map);
} active_flows SEC(".maps") = {
	.values = { [0] = &flows_a },
};

struct proto_sock_key {
	__u64 sk;
	__u32 tgid;
	__u16 lport; /* skc_num: host order */
	__u16 rport; /* skc_dport: network order */
};

struct proto_sock_value {
	struct ss_flow_key flow; /* family == 0: not filled on this CPU yet */
	struct proto_flow_counts counts;
};

struct proto_sock_map {
	__uint(type, PROTO_MAP_PERCPU_HASH);
	__uint(max_entries, PROTO_MAX_FLOWS);
	__type(key, struct proto_sock_key);
	__type(value, struct proto_sock_value);
};

struct proto_sock_map socks_a SEC(".maps");
struct proto_sock_map socks_b SEC(".maps");

struct {
	__uint(type, PROTO_MAP_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct proto_sock_map);
} active_socks SEC(".maps") = {
	.values = { [0] = &socks_a },
};

/* Flows that found the map full (the loader reports them). */
__u64 flows_full SEC(".bss");

static __always_inline bool wanted(__u16 family, __u16 protocol, int ret, int flags, __u8 direction)
{
	if (ret <= 0)
		return false;
	if (family != AF_INET && family != AF_INET6)
		return false;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return false;
	return !(direction == SS_DIR_RECEIVE && (flags & MSG_PEEK));
}

/* ---- ringbuf: ebpf/io.bpf.c handle_io(), verbatim ---- */

static __always_inline int ring_io(struct sock *sk, __u16 family, __u16 protocol, int ret, int flags,
				   __u8 direction)
{
	struct ss_io_event *e;

	if (!wanted(family, protocol, ret, flags, direction))
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

/* ---- percpu: the same key, summed in a per-CPU hash ---- */

static __always_inline void fill_key_process(struct ss_flow_key *key, __u16 family, __u16 protocol)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->tgid = bpf_get_current_pid_tgid() >> 32;
	key->family = family;
	key->protocol = protocol;
	key->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(&key->comm, sizeof(key->comm));
}

static __always_inline int add_to_flow(struct ss_flow_key *key, int ret, __u8 direction, __u32 srtt_us)
{
	__u32 zero = 0;
	void *flows = bpf_map_lookup_elem(&active_flows, &zero);
	struct proto_flow_counts *c;

	if (!flows)
		return 0;
	c = bpf_map_lookup_elem(flows, key);
	if (!c) {
		struct proto_flow_counts init = {};

		/* -EEXIST: a nested program on this CPU added it first; fine. */
		if (bpf_map_update_elem(flows, key, &init, BPF_NOEXIST) == -7 /* E2BIG */) {
			__sync_fetch_and_add(&flows_full, 1);
			return 0;
		}
		c = bpf_map_lookup_elem(flows, key);
		if (!c)
			return 0;
	}
	if (direction == SS_DIR_TRANSMIT) {
		c->tx_bytes += ret;
		c->tx_calls += 1;
	} else {
		c->rx_bytes += ret;
		c->rx_calls += 1;
	}
	if (srtt_us)
		c->srtt_us = srtt_us;
	return 0;
}

static __always_inline int percpu_io(struct sock *sk, __u16 family, __u16 protocol, int ret, int flags,
				     __u8 direction)
{
	struct ss_flow_key key;

	if (!wanted(family, protocol, ret, flags, direction))
		return 0;
	fill_key_process(&key, family, protocol);
	ss_read_tuple(sk, family, key.laddr, key.raddr, &key.lport, &key.rport);
	return add_to_flow(&key, ret, direction, protocol == IPPROTO_TCP ? ss_srtt_us(sk) : 0);
}

/* inet_sport is past struct sock: the verifier would refuse a plain load. */
static __always_inline void fill_tuple_direct(struct sock *sk, __u16 family, struct ss_flow_key *key)
{
	key->lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	key->rport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (family == AF_INET) {
		*(__be32 *)key->laddr = sk->__sk_common.skc_rcv_saddr;
		*(__be32 *)key->raddr = sk->__sk_common.skc_daddr;
	} else {
		__builtin_memcpy(key->laddr, &sk->__sk_common.skc_v6_rcv_saddr, SS_ADDR_LEN);
		__builtin_memcpy(key->raddr, &sk->__sk_common.skc_v6_daddr, SS_ADDR_LEN);
	}
}

/* BTF-typed struct sock: sock_common fields are plain loads (the verifier checks them). */
static __always_inline int percpu_direct_io(struct sock *sk, int ret, int flags, __u8 direction)
{
	struct ss_flow_key key;
	__u16 family, protocol;

	if (!sk)
		return 0;
	family = sk->__sk_common.skc_family;
	protocol = sk->sk_protocol;
	if (!wanted(family, protocol, ret, flags, direction))
		return 0;
	fill_key_process(&key, family, protocol);
	fill_tuple_direct(sk, family, &key);
	return add_to_flow(&key, ret, direction, protocol == IPPROTO_TCP ? ss_srtt_us(sk) : 0);
}

/*
 * The per-socket path, shared by both hook types: `direct` says whether sk is a
 * BTF-typed pointer (tp_btf: plain loads) or an opaque one (classic tracepoint:
 * BPF_CORE_READ, i.e. bpf_probe_read_kernel).
 */
static __always_inline int sock_counts_io(struct sock *sk, __u16 family, __u16 protocol, __u16 lport,
					  __u16 rport, int ret, int flags, __u8 direction, bool direct)
{
	struct proto_sock_key key;
	struct proto_sock_value *v;
	__u32 zero = 0;
	void *socks;

	if (!wanted(family, protocol, ret, flags, direction))
		return 0;
	key.sk = (__u64)sk;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.lport = lport;
	key.rport = rport;
	socks = bpf_map_lookup_elem(&active_socks, &zero);
	if (!socks)
		return 0;
	v = bpf_map_lookup_elem(socks, &key);
	if (!v) {
		struct proto_sock_value init = {};

		if (bpf_map_update_elem(socks, &key, &init, BPF_NOEXIST) == -7 /* E2BIG */) {
			__sync_fetch_and_add(&flows_full, 1);
			return 0;
		}
		v = bpf_map_lookup_elem(socks, &key);
		if (!v)
			return 0;
	}
	if (v->flow.family == 0) {
		/* First event of this socket on this CPU in this interval. */
		fill_key_process(&v->flow, family, protocol);
		if (direct)
			fill_tuple_direct(sk, family, &v->flow);
		else
			ss_read_tuple(sk, family, v->flow.laddr, v->flow.raddr, &v->flow.lport, &v->flow.rport);
		if (protocol == IPPROTO_TCP)
			v->counts.srtt_us = ss_srtt_us(sk);
	}
	if (direction == SS_DIR_TRANSMIT) {
		v->counts.tx_bytes += ret;
		v->counts.tx_calls += 1;
	} else {
		v->counts.rx_bytes += ret;
		v->counts.rx_calls += 1;
	}
	return 0;
}

static __always_inline int percpu_sock_io(struct sock *sk, int ret, int flags, __u8 direction)
{
	if (!sk)
		return 0;
	return sock_counts_io(sk, sk->__sk_common.skc_family, sk->sk_protocol, sk->__sk_common.skc_num,
			      sk->__sk_common.skc_dport, ret, flags, direction, true);
}

/* Classic tracepoint: family and protocol are in the record; the ports cost two probe reads. */
static __always_inline int percpu_sock_tp_io(struct sock *sk, __u16 family, __u16 protocol, int ret,
					     int flags, __u8 direction)
{
	if (!wanted(family, protocol, ret, flags, direction))
		return 0;
	return sock_counts_io(sk, family, protocol, BPF_CORE_READ(sk, __sk_common.skc_num),
			      BPF_CORE_READ(sk, __sk_common.skc_dport), ret, flags, direction, false);
}

static __always_inline int ring_sock_io(struct sock *sk, int ret, int flags, __u8 direction)
{
	if (ret <= 0 || !sk)
		return 0;
	return ring_io(sk, BPF_CORE_READ(sk, __sk_common.skc_family), BPF_CORE_READ(sk, sk_protocol), ret,
		       flags, direction);
}

static __always_inline int percpu_core_io(struct sock *sk, int ret, int flags, __u8 direction)
{
	if (ret <= 0 || !sk)
		return 0;
	return percpu_io(sk, BPF_CORE_READ(sk, __sk_common.skc_family), BPF_CORE_READ(sk, sk_protocol), ret,
			 flags, direction);
}

/* ---- the programs: <variant>_<hook>_<direction> ---- */

#define TP_PROGS(variant, handler)                                                                 \
	SEC("tracepoint/sock/sock_send_length")                                                    \
	int variant##_tp_send(struct trace_event_raw_sock_msg_length *ctx)                         \
	{                                                                                          \
		return handler(ctx->sk, ctx->family, ctx->protocol, ctx->ret, ctx->flags,          \
			       SS_DIR_TRANSMIT);                                                   \
	}                                                                                          \
	SEC("tracepoint/sock/sock_recv_length")                                                    \
	int variant##_tp_recv(struct trace_event_raw_sock_msg_length *ctx)                         \
	{                                                                                          \
		return handler(ctx->sk, ctx->family, ctx->protocol, ctx->ret, ctx->flags,          \
			       SS_DIR_RECEIVE);                                                    \
	}

#define BTF_PROGS(variant, handler)                                                                \
	SEC("tp_btf/sock_send_length")                                                             \
	int BPF_PROG(variant##_btf_send, struct sock *sk, int ret, int flags)                      \
	{                                                                                          \
		return handler(sk, ret, flags, SS_DIR_TRANSMIT);                                   \
	}                                                                                          \
	SEC("tp_btf/sock_recv_length")                                                             \
	int BPF_PROG(variant##_btf_recv, struct sock *sk, int ret, int flags)                      \
	{                                                                                          \
		return handler(sk, ret, flags, SS_DIR_RECEIVE);                                    \
	}

/* ---- sock_cache ---- */

#define PROTO_MAP_ARRAY 2
#define PROTO_F_MMAPABLE (1U << 10)

/* Key and counts share the first cache line: a call touches only that line. */
struct proto_cache_slot {
	struct proto_sock_key key;
	struct proto_flow_counts counts;
	__u64 _pad;
	struct ss_flow_key flow;
};

struct {
	__uint(type, PROTO_MAP_ARRAY);
	__uint(map_flags, PROTO_F_MMAPABLE);
	__uint(max_entries, 1); /* the loader sets 2 * cpus << cache_slots_log2 */
	__type(key, __u32);
	__type(value, struct proto_cache_slot);
} sock_cache SEC(".maps");

const volatile __u32 cache_slots_log2 = 10;
const volatile __u32 cache_cpus = 1;
__u32 cache_half SEC(".bss");
__u64 evicted_tx_bytes SEC(".bss");
__u64 evicted_rx_bytes SEC(".bss");
__u64 evicted_calls SEC(".bss");
__u64 evictions SEC(".bss");

static __always_inline int cache_io(struct sock *sk, __u16 family, __u16 protocol, __u16 lport,
				    __u16 rport, int ret, int flags, __u8 direction, bool direct)
{
	struct proto_cache_slot *s;
	__u32 tgid, idx;
	__u64 h;

	if (!wanted(family, protocol, ret, flags, direction))
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	/* The verifier allows no arithmetic on a BTF socket pointer: hash what tells sockets apart. */
	h = (((__u64)tgid << 32) | ((__u32)lport << 16) | rport) * 0x9E3779B97F4A7C15ull;
	idx = (((cache_half & 1) * cache_cpus + bpf_get_smp_processor_id()) << cache_slots_log2) |
	      (__u32)(h >> (64 - cache_slots_log2));
	s = bpf_map_lookup_elem(&sock_cache, &idx);
	if (!s)
		return 0;
	if (s->key.sk != (__u64)sk || s->key.tgid != tgid || s->key.lport != lport ||
	    s->key.rport != rport) {
		__u64 calls = s->counts.tx_calls + s->counts.rx_calls;

		if (calls) {
			__sync_fetch_and_add(&evicted_tx_bytes, s->counts.tx_bytes);
			__sync_fetch_and_add(&evicted_rx_bytes, s->counts.rx_bytes);
			__sync_fetch_and_add(&evicted_calls, calls);
			__sync_fetch_and_add(&evictions, 1);
		}
		__builtin_memset(&s->counts, 0, sizeof(s->counts));
		s->key.sk = (__u64)sk;
		s->key.tgid = tgid;
		s->key.lport = lport;
		s->key.rport = rport;
		fill_key_process(&s->flow, family, protocol);
		if (direct)
			fill_tuple_direct(sk, family, &s->flow);
		else
			ss_read_tuple(sk, family, s->flow.laddr, s->flow.raddr, &s->flow.lport,
				      &s->flow.rport);
		if (protocol == IPPROTO_TCP)
			s->counts.srtt_us = ss_srtt_us(sk);
	}
	if (direction == SS_DIR_TRANSMIT) {
		s->counts.tx_bytes += ret;
		s->counts.tx_calls += 1;
	} else {
		s->counts.rx_bytes += ret;
		s->counts.rx_calls += 1;
	}
	return 0;
}

static __always_inline int sock_cache_btf_io(struct sock *sk, int ret, int flags, __u8 direction)
{
	if (!sk)
		return 0;
	return cache_io(sk, sk->__sk_common.skc_family, sk->sk_protocol, sk->__sk_common.skc_num,
			sk->__sk_common.skc_dport, ret, flags, direction, true);
}

static __always_inline int sock_cache_tp_io(struct sock *sk, __u16 family, __u16 protocol, int ret,
					    int flags, __u8 direction)
{
	if (!wanted(family, protocol, ret, flags, direction))
		return 0;
	return cache_io(sk, family, protocol, BPF_CORE_READ(sk, __sk_common.skc_num),
			BPF_CORE_READ(sk, __sk_common.skc_dport), ret, flags, direction, false);
}

TP_PROGS(ringbuf, ring_io)
BTF_PROGS(ringbuf, ring_sock_io)
TP_PROGS(percpu, percpu_io)
BTF_PROGS(percpu, percpu_core_io)
BTF_PROGS(percpu_direct, percpu_direct_io)
BTF_PROGS(percpu_sock, percpu_sock_io)
TP_PROGS(percpu_sock, percpu_sock_tp_io)
BTF_PROGS(sock_cache, sock_cache_btf_io)
TP_PROGS(sock_cache, sock_cache_tp_io)
