/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Structs that cross the kernel/user boundary. Included by the BPF programs
 * (after vmlinux_min.h) and by the addon (after <linux/types.h>). Layouts are
 * fixed-width and explicitly padded so both compilers agree.
 */
#ifndef SOCKSCOPE_H
#define SOCKSCOPE_H

#define SS_COMM_LEN 16
#define SS_ADDR_LEN 16 /* IPv6-sized; IPv4 uses the first 4 bytes */

/* 1 is bench/proto's per-call record (bench/proto/proto.h); the daemon's ring never carries it. */
enum ss_event_type {
	SS_EVENT_STATE = 2,      /* a TCP state change */
	SS_EVENT_RETRANSMIT = 3, /* a TCP segment was retransmitted */
	SS_EVENT_IO_SPILL = 4,   /* calls the socket I/O map could not take */
};

enum ss_direction {
	SS_DIR_TRANSMIT = 0,
	SS_DIR_RECEIVE = 1,
};

/* Indices into the per-CPU `ss_stats` array map. */
enum ss_stat {
	SS_STAT_RINGBUF_LOST = 0,   /* bpf_ringbuf_reserve() failed: ring full */
	SS_STAT_SOCKETS_FULL = 1,   /* socket-owner map update failed */
	SS_STAT_LISTENERS_FULL = 2, /* listener-owner map update failed */
	SS_STAT_IO_LOST = 3,        /* socket I/O map and ring both refused a call: its bytes are lost */
	SS_STAT_IO_CACHE_EVICTED = 4, /* a socket took a cache slot from another; the holder moved to the map */
	SS_STAT_MAX,
};

/* ss_conn_event.flags */
#define SS_CONN_OWNER_KNOWN 0x1 /* owner was learned in process context */
#define SS_CONN_ACTIVE 0x2      /* this host connected (connect()) */
#define SS_CONN_PASSIVE 0x4     /* this host accepted (listen()) */

/*
 * One socket as used by one process. This is the aggregation key of the
 * addon's flow table; ports are in host byte order, addresses in network
 * byte order.
 */
struct ss_flow_key {
	__u32 tgid;
	__u16 family;   /* AF_INET / AF_INET6 */
	__u8 protocol;  /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 _pad0;
	__u64 cgroup_id;
	__u8 laddr[SS_ADDR_LEN];
	__u8 raddr[SS_ADDR_LEN];
	__u16 lport;
	__u16 rport;
	__u32 netns;    /* inode of the socket's network namespace */
	char comm[SS_COMM_LEN];        /* process name: the thread-group leader's comm */
	char thread_comm[SS_COMM_LEN]; /* the thread of the interval's first call (in a cache slot: on its CPU) */
};

/*
 * Socket I/O is summed in the kernel, in a hash shared by all CPUs keyed by
 * socket and process. The ports are in the key so that a socket address reused by a new
 * socket within one interval is a new entry. Only identity, not meaning:
 * lport is skc_num (host order), rport skc_dport (network order).
 */
struct ss_io_key {
	__u64 sk;   /* struct sock address */
	__u32 tgid;
	__u16 lport;
	__u16 rport;
};

struct ss_io_counts {
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u64 tx_calls;
	__u64 rx_calls;
	__u32 srtt_us; /* TCP smoothed RTT at the interval's first call (cache: on this CPU), 0 for UDP */
	__u32 _pad;
};

/*
 * A socket's I/O in one interval: a socket I/O map entry, or one CPU's share
 * in a cache slot. `flow` and srtt_us are filled at the first call (the map
 * entry is inserted whole; a cache slot has flow.family == 0 until then), so
 * comm, cgroup, addresses and RTT are read once per socket and interval (per
 * CPU in the cache).
 */
struct ss_io_value {
	struct ss_flow_key flow;
	struct ss_io_counts counts;
};

/*
 * One slot of the socket I/O cache the tracepoint programs add to (io.bpf.c):
 * a direct-mapped cache per CPU, in one mmapable array of
 * [half][cpu][slot] that the addon reads and zeroes half by half.
 */
struct ss_io_slot {
	struct ss_io_key key;
	__u64 busy; /* claimed by a program (atomic exchange): one that cuts in uses the map */
	struct ss_io_value value; /* value.flow.family == 0: empty */
};

/*
 * Ring-buffer record for calls the live I/O map could not take (full, or its
 * allocator ran dry in a burst of new sockets): one call, or the sums of a
 * cache slot evicted into a map that could not take them. The addon adds it
 * to its flow table like a map entry.
 */
struct ss_io_spill {
	__u8 type; /* SS_EVENT_IO_SPILL */
	__u8 _pad[7];
	struct ss_io_value value;
};

/*
 * The process that owns a socket, learned in process context (connect(),
 * listen()) because state changes and retransmits often run in softirq,
 * where the current task is unrelated.
 */
struct ss_owner {
	__u32 tgid;
	__u32 pid;
	__u64 cgroup_id;
	char comm[SS_COMM_LEN];        /* process name: the thread-group leader's comm */
	char thread_comm[SS_COMM_LEN]; /* the thread that made the call */
};

/* Ring-buffer record for a TCP state change or a retransmit. */
struct ss_conn_event {
	__u8 type;     /* SS_EVENT_STATE / SS_EVENT_RETRANSMIT */
	__u8 oldstate; /* TCP_* (retransmit: the socket's state) */
	__u8 newstate;
	__u8 flags;    /* SS_CONN_* */
	__u16 family;
	__u16 lport;
	__u16 rport;
	__u16 _pad0;
	__s32 error;   /* sk_err when a connection ended, e.g. ECONNREFUSED */
	__u64 ts_ns;   /* bpf_ktime_get_ns() */
	/*
	 * SYN_SENT->ESTABLISHED: connect latency; ->CLOSE: time since
	 * ESTABLISHED (0 if it never was). Other changes: 0.
	 */
	__u64 duration_ns;
	__u32 srtt_us;
	__u32 netns;   /* inode of the socket's network namespace */
	__u8 laddr[SS_ADDR_LEN];
	__u8 raddr[SS_ADDR_LEN];
	struct ss_owner owner;
};

/* What the kernel side remembers about a TCP socket, keyed by its address. */
struct ss_sock_info {
	struct ss_owner owner;
	__u64 syn_sent_ns;
	__u64 established_ns;
	__u8 flags; /* SS_CONN_* */
	__u8 _pad[7];
};

/* A listening socket's owner, so passive opens (in softirq) get the right one. */
struct ss_listener_key {
	__u32 netns;
	__u16 lport;
	__u16 _pad;
};

#endif /* SOCKSCOPE_H */
