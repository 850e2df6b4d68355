/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The prototypes' own record: the ring-buffer variant (one record per call)
 * that the daemon no longer uses, kept here so it does not shape the
 * production header. Included after sockscope.h by proto.bpf.c and proto.c.
 */
#ifndef SOCKSCOPE_PROTO_H
#define SOCKSCOPE_PROTO_H

/* A record type the daemon's ring never carries (see enum ss_event_type). */
#define SS_EVENT_IO 1

/* Ring-buffer record for one send or receive. */
struct ss_io_event {
	__u8 type;      /* SS_EVENT_IO */
	__u8 direction; /* enum ss_direction */
	__u16 _pad0;
	__u32 bytes;    /* return value of the send/recv: bytes really moved */
	__u32 pid;      /* thread id */
	__u32 srtt_us;  /* TCP smoothed RTT at this call, 0 for UDP */
	struct ss_flow_key key;
};

#endif /* SOCKSCOPE_PROTO_H */
