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

enum ss_event_type {
	SS_EVENT_IO = 1,
};

enum ss_direction {
	SS_DIR_TRANSMIT = 0,
	SS_DIR_RECEIVE = 1,
};

/* Indices into the per-CPU `ss_stats` array map. */
enum ss_stat {
	SS_STAT_RINGBUF_LOST = 0, /* bpf_ringbuf_reserve() failed: ring full */
	SS_STAT_MAX,
};

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
	__u32 _pad1;
	char comm[SS_COMM_LEN];
};

/* Ring-buffer record for one successful send or receive. */
struct ss_io_event {
	__u8 type;      /* SS_EVENT_IO */
	__u8 direction; /* enum ss_direction */
	__u16 _pad0;
	__u32 bytes;    /* return value of the send/recv: bytes really moved */
	__u32 pid;      /* thread id */
	__u32 _pad1;
	struct ss_flow_key key;
};

#endif /* SOCKSCOPE_H */
