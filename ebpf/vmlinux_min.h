/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The few kernel types sockscope reads, declared for CO-RE.
 *
 * Why not a full vmlinux.h: a header dumped from the build host's BTF ties the
 * build to that host's kernel (and needs BTF at build time, e.g. inside an image
 * build). With preserve_access_index, libbpf relocates every field access below
 * against the *running* kernel's BTF at load time, so only names and types must
 * match — not offsets, and not the anonymous unions the kernel wraps some of
 * these fields in (libbpf searches anonymous members when matching).
 */
#ifndef SOCKSCOPE_VMLINUX_MIN_H
#define SOCKSCOPE_VMLINUX_MIN_H
/* Tells bpf_tracing.h to use the kernel's pt_regs names (di, si, ...). */
#define __VMLINUX_H__

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef unsigned long size_t;
typedef _Bool bool;
#define true 1
#define false 0

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
};

enum {
	BPF_F_MMAPABLE = 1U << 10,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct in6_addr {
	union {
		__u8 u6_addr8[16];
		__be16 u6_addr16[8];
		__be32 u6_addr32[4];
	} in6_u;
};

struct ns_common {
	unsigned int inum;
};

struct net {
	struct ns_common ns;
};

typedef struct {
	struct net *net;
} possible_net_t;

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	possible_net_t skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

/* sk_protocol is a __u16 since 5.6 (a bitfield before): 5.10 is our floor. */
struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
	int sk_err;
};

/* inet_sport survives inet_put_port(), which zeroes skc_num before the CLOSE tracepoint. */
struct inet_sock {
	__be16 inet_sport;
};

struct tcp_sock {
	__u32 srtt_us; /* smoothed RTT << 3, in microseconds */
};

struct socket {
	struct sock *sk;
};

/* The process name is the thread-group leader's comm; the current task's is the thread's. */
struct task_struct {
	struct task_struct *group_leader;
	char comm[16];
};

struct msghdr;
struct sk_buff;

/* x86-64 kernel register layout, for kprobes (bpf_tracing.h reads di, si, ...). */
struct pt_regs {
	unsigned long r15;
	unsigned long r14;
	unsigned long r13;
	unsigned long r12;
	unsigned long bp;
	unsigned long bx;
	unsigned long r11;
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long ax;
	unsigned long cx;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax;
	unsigned long ip;
	unsigned long cs;
	unsigned long flags;
	unsigned long sp;
	unsigned long ss;
};

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

/* sock:sock_send_length / sock:sock_recv_length (kernel >= 6.3) */
struct trace_event_raw_sock_msg_length {
	struct trace_entry ent;
	void *sk;
	__u16 family;
	__u16 protocol;
	int ret;
	int flags;
};

/*
 * sock:inet_sock_set_state. `protocol` was a __u8 before 5.6 and a __u16 since:
 * CO-RE adjusts the load width to the running kernel's field.
 */
struct trace_event_raw_inet_sock_set_state {
	struct trace_entry ent;
	const void *skaddr;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
};

/* tcp:tcp_retransmit_skb since 6.17 has a class of its own ... */
struct trace_event_raw_tcp_retransmit_skb {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
};

/* ... before 6.17 it shared tcp_event_sk_skb with other events. */
struct trace_event_raw_tcp_event_sk_skb {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
};

#pragma clang attribute pop

#endif /* SOCKSCOPE_VMLINUX_MIN_H */
