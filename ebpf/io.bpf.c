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
 *
 * The bytes are summed here, not sent up per call: a hash keyed by socket and
 * process (struct ss_io_key) holds the counts and the flow key. It is shared by
 * all CPUs, so its memory and the drain's reads grow with the sockets active in
 * an interval, not with sockets x CPUs (a per-CPU hash held max_entries values
 * on every CPU: ~1 GiB on a 64-CPU node before 6.1). Counts are added with
 * atomic adds; an entry is inserted whole (flow key filled, the first call
 * counted) with BPF_NOEXIST, so two CPUs meeting a new socket at once cannot
 * tear its flow key: the bucket lock lets one insert, the other sees -EEXIST
 * and adds to it. Two such maps sit behind a one-slot array-of-maps. The addon
 * swaps the slot and reads and deletes the map it swapped out; the swap returns
 * only once every program that could still hold the old map has finished (the
 * kernel's synchronize_rcu() on map-in-map updates), so nothing is lost or
 * counted twice. A call the live map cannot take goes on the ring buffer
 * instead (spill_io).
 *
 * The tracepoint programs add to a cache in front of the maps (cache_io): a
 * direct-mapped array of slots per CPU, picked by a hash of process and ports.
 * Its lookup is inlined by the verifier, so a call whose socket holds its slot
 * costs one helper call (the process id) and no hash-map lookup; on hosts
 * whose every return is a mitigation (AMD's SRSO "safe RET") each helper call
 * is ~13 ns, which is what this saves. A slot wanted by another socket is
 * evicted into the live map. The cache has two halves; the addon flips
 * io_cache_half before each map swap, so the same grace period makes the idle
 * half quiescent, then reads and zeroes it through mmap. A program claims its
 * slot with an atomic exchange of `busy`, so one that cuts in on the same CPU
 * (an interrupt; or another task where tracepoint probes run preemptible, with
 * only migration disabled, as fexit does) goes to the map instead; while the
 * slot is claimed, its updates are plain.
 */
#include "maps.bpf.h"
#include "sock.bpf.h"
#include <bpf/bpf_tracing.h>

#define EEXIST 17

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The loader sizes both maps (ebpf.maxFlows) and, from Linux 6.1, makes them
 * allocate on use; the template here is only the slot's inner-map type (a hash
 * inner map need not match its size since 5.10), so it stays one entry:
 * libbpf creates it for a moment while it creates the slot.
 */
struct io_sock_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ss_io_key);
	__type(value, struct ss_io_value);
};

struct io_sock_map io_socks_a SEC(".maps");
struct io_sock_map io_socks_b SEC(".maps");

/* Slot 0: the map programs add to now. The loader fills it before attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct io_sock_map);
} io_socks_live SEC(".maps");

static __always_inline bool io_wanted(__u16 family, __u16 protocol, int ret, int flags,
				      __u8 direction)
{
	if (ret <= 0)
		return false;
	if (family != AF_INET && family != AF_INET6)
		return false;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return false;
	/* A peek leaves the data queued; the real read is counted later. */
	return !(direction == SS_DIR_RECEIVE && (flags & MSG_PEEK));
}

/*
 * The flow key and the RTT: once per socket and interval in the map (once per
 * socket, CPU and interval in the cache), so their reads stay off the per-call
 * cost (the RTT read alone was 25 ns of 160 per call on tp_btf): the RTT is the
 * one at the interval's first call.
 */
static __always_inline void fill_flow(struct ss_io_value *v, struct sock *sk, __u32 tgid,
				      __u16 family, __u16 protocol)
{
	struct ss_flow_key *flow = &v->flow;

	if (protocol == IPPROTO_TCP)
		v->counts.srtt_us = ss_srtt_us(sk);
	flow->tgid = tgid;
	flow->protocol = protocol;
	flow->cgroup_id = bpf_get_current_cgroup_id();
	flow->netns = ss_netns(sk);
	ss_current_comms(flow->comm, flow->thread_comm);
	ss_read_tuple(sk, family, flow->laddr, flow->raddr, &flow->lport, &flow->rport);
	flow->family = family; /* non-zero marks a cache slot as filled */
}

/* The map the programs add to now, or NULL before the loader filled the slot. */
static __always_inline void *live_socks(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&io_socks_live, &zero);
}

/* A zeroed spill record, or NULL with its `calls` counted as lost because the ring is full. */
static __always_inline struct ss_io_spill *reserve_spill(__u64 calls)
{
	struct ss_io_spill *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		ss_stat_add(SS_STAT_IO_LOST, calls);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e)); /* reserved ring memory is not zeroed */
	e->type = SS_EVENT_IO_SPILL;
	return e;
}

static __always_inline void add_counts(struct ss_io_value *v, const struct ss_io_counts *c)
{
	__sync_fetch_and_add(&v->counts.tx_bytes, c->tx_bytes);
	__sync_fetch_and_add(&v->counts.tx_calls, c->tx_calls);
	__sync_fetch_and_add(&v->counts.rx_bytes, c->rx_bytes);
	__sync_fetch_and_add(&v->counts.rx_calls, c->rx_calls);
}

/*
 * A socket the live map has no entry for yet: `val` (flow key filled, its
 * calls counted) goes in whole, or is added to the entry another CPU inserted
 * first. When the map cannot take it - it is full, or, allocating on use, the
 * kernel's allocator ran dry in a burst of new sockets (thousands of
 * connections opened at once do that) - it goes to the addon as a ring record
 * instead, and is lost only if the ring is full too.
 */
static __always_inline void insert_io(void *socks, const struct ss_io_key *key,
				      const struct ss_io_value *val)
{
	struct ss_io_spill *e;
	struct ss_io_value *v;
	long err;

	if (socks) {
		err = bpf_map_update_elem(socks, key, val, BPF_NOEXIST);
		if (err == 0)
			return;
		v = err == -EEXIST ? bpf_map_lookup_elem(socks, key) : NULL;
		if (v) {
			add_counts(v, &val->counts);
			return;
		}
	}
	e = reserve_spill(val->counts.tx_calls + val->counts.rx_calls);
	if (!e)
		return;
	e->value = *val;
	bpf_ringbuf_submit(e, ss_submit_flags());
}

/*
 * The socket as used by the current process. lport/rport only tell sockets
 * apart (see ss_io_key); each hook reads them the cheapest way it can.
 */
static __always_inline struct ss_io_key io_key(struct sock *sk, __u16 lport, __u16 rport)
{
	struct ss_io_key key = {
		.sk = (__u64)sk,
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.lport = lport,
		.rport = rport,
	};

	return key;
}

/* One call of the socket and process in key, added to the live map. */
static __always_inline int count_io(const struct ss_io_key *key, struct sock *sk, __u16 family,
				    __u16 protocol, int ret, __u8 direction)
{
	void *socks = live_socks();
	struct ss_io_value *v = socks ? bpf_map_lookup_elem(socks, key) : NULL;
	struct ss_io_value val;

	if (v) {
		/* Shared by every CPU, and programs run preemptible: only atomic adds. */
		if (direction == SS_DIR_TRANSMIT) {
			__sync_fetch_and_add(&v->counts.tx_bytes, ret);
			__sync_fetch_and_add(&v->counts.tx_calls, 1);
		} else {
			__sync_fetch_and_add(&v->counts.rx_bytes, ret);
			__sync_fetch_and_add(&v->counts.rx_calls, 1);
		}
		return 0;
	}
	/* The interval's first call of this socket: the flow key is read now. */
	__builtin_memset(&val, 0, sizeof(val));
	fill_flow(&val, sk, key->tgid, family, protocol);
	if (direction == SS_DIR_TRANSMIT) {
		val.counts.tx_bytes = ret;
		val.counts.tx_calls = 1;
	} else {
		val.counts.rx_bytes = ret;
		val.counts.rx_calls = 1;
	}
	insert_io(socks, key, &val);
	return 0;
}

/* One call, added to the live map directly: fexit, kprobes, and tracepoints without the cache. */
static __always_inline int map_io(struct sock *sk, __u16 family, __u16 protocol, __u16 lport,
				  __u16 rport, int ret, __u8 direction)
{
	struct ss_io_key key = io_key(sk, lport, rport);

	return count_io(&key, sk, family, protocol, ret, direction);
}

/* The cache: 2 halves x io_cache_cpus CPUs x (1 << io_cache_slots_log2) slots; sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ss_io_slot);
} io_cache SEC(".maps");

/*
 * One word per half and CPU, [half][cpu]: non-zero once a slot of that CPU's
 * section was filled in the interval, so the addon's read of the idle half
 * skips the sections of CPUs that made no call instead of every slot of every
 * CPU. Set where a slot is first filled, off the per-call path.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} io_cache_used SEC(".maps");

const volatile bool io_cache_enabled = false;
const volatile __u32 io_cache_cpus = 1;
const volatile __u32 io_cache_slots_log2 = 0;
/* The half the programs add to; flipped by the addon. */
__u32 io_cache_half SEC(".bss");

/* Moves an evicted slot's sums into the live map, or onto the ring if it cannot take them. */
static __always_inline void evict_slot(struct ss_io_slot *s)
{
	void *socks = live_socks();
	struct ss_io_value *v = socks ? bpf_map_lookup_elem(socks, &s->key) : NULL;

	ss_stat_inc(SS_STAT_IO_CACHE_EVICTED);
	if (v)
		add_counts(v, &s->value.counts);
	else
		insert_io(socks, &s->key, &s->value);
}

static __always_inline int cache_io(struct sock *sk, __u16 family, __u16 protocol, __u16 lport,
				    __u16 rport, int ret, __u8 direction)
{
	struct ss_io_key key = io_key(sk, lport, rport);
	struct ss_io_slot *s;
	__u64 rest, held, *used;
	__u32 section, idx;

	/* The key past the socket address as one word: tgid and both ports. */
	__builtin_memcpy(&rest, &key.tgid, sizeof(rest));
	/*
	 * No arithmetic on a BTF socket pointer is allowed: the slot is a hash of what
	 * else tells sockets apart. An empty slot's key is zero, which no socket has.
	 */
	section = (io_cache_half & 1) * io_cache_cpus + bpf_get_smp_processor_id();
	idx = (section << io_cache_slots_log2) |
	      ((__u32)((rest * 0x9E3779B97F4A7C15ull) >> 32) & ((1U << io_cache_slots_log2) - 1));
	s = bpf_map_lookup_elem(&io_cache, &idx);
	if (!s || __sync_lock_test_and_set(&s->busy, 1))
		return count_io(&key, sk, family, protocol, ret, direction);
	__builtin_memcpy(&held, &s->key.tgid, sizeof(held));
	if (s->key.sk != key.sk || held != rest) {
		if (s->value.flow.family != 0) {
			evict_slot(s);
		} else {
			used = bpf_map_lookup_elem(&io_cache_used, &section);
			if (used)
				*used = 1;
		}
		s->key = key;
		__builtin_memset(&s->value.counts, 0, sizeof(s->value.counts));
		fill_flow(&s->value, sk, key.tgid, family, protocol);
	}
	if (direction == SS_DIR_TRANSMIT) {
		s->value.counts.tx_bytes += ret;
		s->value.counts.tx_calls += 1;
	} else {
		s->value.counts.rx_bytes += ret;
		s->value.counts.rx_calls += 1;
	}
	/* Only this CPU contends for its slots (migration is disabled): a compiler barrier is enough. */
	barrier();
	s->busy = 0;
	return 0;
}

/* The tracepoints: through the cache when the loader sized one. */
static __always_inline int tp_count_io(struct sock *sk, __u16 family, __u16 protocol, __u16 lport,
				       __u16 rport, int ret, __u8 direction)
{
	if (io_cache_enabled)
		return cache_io(sk, family, protocol, lport, rport, ret, direction);
	return map_io(sk, family, protocol, lport, rport, ret, direction);
}

/*
 * BTF-typed socket (tp_btf, fexit): the verifier checks plain loads, no probe
 * reads. Only the tracepoint may use the cache: fexit runs preemptible.
 */
static __always_inline int btf_sock_io(struct sock *sk, int ret, int flags, __u8 direction,
				       bool tracepoint)
{
	__u16 family, protocol, lport, rport;

	if (ret <= 0 || !sk)
		return 0;
	family = sk->__sk_common.skc_family;
	protocol = sk->sk_protocol;
	if (!io_wanted(family, protocol, ret, flags, direction))
		return 0;
	lport = sk->__sk_common.skc_num;
	rport = sk->__sk_common.skc_dport;
	if (tracepoint)
		return tp_count_io(sk, family, protocol, lport, rport, ret, direction);
	return map_io(sk, family, protocol, lport, rport, ret, direction);
}

/*
 * Opaque socket pointer (classic tracepoint, kprobe): CO-RE probe reads. Both
 * ports in one read: skc_dport and skc_num are the two halves of skc_portpair,
 * and each probe read is a helper call.
 */
static __always_inline int core_sock_io(struct sock *sk, __u16 family, __u16 protocol, int ret,
					int flags, __u8 direction, bool tracepoint)
{
	struct {
		__u16 dport;
		__u16 num;
	} ports = {};

	if (!io_wanted(family, protocol, ret, flags, direction))
		return 0;
	bpf_core_read(&ports, sizeof(ports), &sk->__sk_common.skc_dport);
	if (tracepoint)
		return tp_count_io(sk, family, protocol, ports.num, ports.dport, ret, direction);
	return map_io(sk, family, protocol, ports.num, ports.dport, ret, direction);
}

/* For the kprobes: family and protocol come from the socket itself. */
static __always_inline int handle_sock_io(struct sock *sk, int ret, int flags, __u8 direction)
{
	if (ret <= 0 || !sk)
		return 0;
	return core_sock_io(sk, BPF_CORE_READ(sk, __sk_common.skc_family),
			    BPF_CORE_READ(sk, sk_protocol), ret, flags, direction, false);
}

/* ---- tracepoints (kernel >= 6.3) ---- */

SEC("tracepoint/sock/sock_send_length")
int tp_sock_send_length(struct trace_event_raw_sock_msg_length *ctx)
{
	return core_sock_io(ctx->sk, ctx->family, ctx->protocol, ctx->ret, ctx->flags,
			    SS_DIR_TRANSMIT, true);
}

SEC("tracepoint/sock/sock_recv_length")
int tp_sock_recv_length(struct trace_event_raw_sock_msg_length *ctx)
{
	return core_sock_io(ctx->sk, ctx->family, ctx->protocol, ctx->ret, ctx->flags,
			    SS_DIR_RECEIVE, true);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(btf_sock_send_length, struct sock *sk, int ret, int flags)
{
	return btf_sock_io(sk, ret, flags, SS_DIR_TRANSMIT, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(btf_sock_recv_length, struct sock *sk, int ret, int flags)
{
	return btf_sock_io(sk, ret, flags, SS_DIR_RECEIVE, true);
}

/* ---- fexit ---- */

SEC("fexit/inet_sendmsg")
int BPF_PROG(fexit_inet_sendmsg, struct socket *sock, struct msghdr *msg, size_t size, int ret)
{
	return btf_sock_io(sock->sk, ret, 0, SS_DIR_TRANSMIT, false);
}

SEC("fexit/inet6_sendmsg")
int BPF_PROG(fexit_inet6_sendmsg, struct socket *sock, struct msghdr *msg, size_t size, int ret)
{
	return btf_sock_io(sock->sk, ret, 0, SS_DIR_TRANSMIT, false);
}

SEC("fexit/inet_recvmsg")
int BPF_PROG(fexit_inet_recvmsg, struct socket *sock, struct msghdr *msg, size_t size, int flags,
	     int ret)
{
	return btf_sock_io(sock->sk, ret, flags, SS_DIR_RECEIVE, false);
}

SEC("fexit/inet6_recvmsg")
int BPF_PROG(fexit_inet6_recvmsg, struct socket *sock, struct msghdr *msg, size_t size, int flags,
	     int ret)
{
	return btf_sock_io(sock->sk, ret, flags, SS_DIR_RECEIVE, false);
}

/* ---- kprobe + kretprobe: the entry keeps what the return needs, per thread ---- */

struct io_call {
	struct sock *sk;
	int flags;
	int _pad;
};

/*
 * LRU: when a kretprobe is missed (more calls in flight than its instances),
 * the entry stays behind, and a plain hash kept such entries of exited threads
 * until it was full and every call was refused. The LRU evicts the oldest
 * first; entries live only while a call is in flight, so a live one goes only
 * when more than max_entries threads are inside a send or receive at once.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct io_call);
} io_calls SEC(".maps");

static __always_inline int io_call_entry(struct socket *sock, int flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_call call = { .sk = BPF_CORE_READ(sock, sk), .flags = flags };

	bpf_map_update_elem(&io_calls, &id, &call, BPF_ANY);
	return 0;
}

static __always_inline int io_call_return(int ret, __u8 direction)
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
	return io_call_entry(sock, 0);
}

SEC("kretprobe/inet_sendmsg")
int BPF_KRETPROBE(kretprobe_inet_sendmsg, int ret)
{
	return io_call_return(ret, SS_DIR_TRANSMIT);
}

SEC("kprobe/inet6_sendmsg")
int BPF_KPROBE(kprobe_inet6_sendmsg, struct socket *sock)
{
	return io_call_entry(sock, 0);
}

SEC("kretprobe/inet6_sendmsg")
int BPF_KRETPROBE(kretprobe_inet6_sendmsg, int ret)
{
	return io_call_return(ret, SS_DIR_TRANSMIT);
}

SEC("kprobe/inet_recvmsg")
int BPF_KPROBE(kprobe_inet_recvmsg, struct socket *sock, struct msghdr *msg, size_t size, int flags)
{
	return io_call_entry(sock, flags);
}

SEC("kretprobe/inet_recvmsg")
int BPF_KRETPROBE(kretprobe_inet_recvmsg, int ret)
{
	return io_call_return(ret, SS_DIR_RECEIVE);
}

SEC("kprobe/inet6_recvmsg")
int BPF_KPROBE(kprobe_inet6_recvmsg, struct socket *sock, struct msghdr *msg, size_t size, int flags)
{
	return io_call_entry(sock, flags);
}

SEC("kretprobe/inet6_recvmsg")
int BPF_KRETPROBE(kretprobe_inet6_recvmsg, int ret)
{
	return io_call_return(ret, SS_DIR_RECEIVE);
}
