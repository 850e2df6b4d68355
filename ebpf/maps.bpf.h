/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps shared by every sockscope BPF program, and the helpers around them.
 * Each .bpf.c includes this header; the definitions are __weak so that
 * `bpftool gen object` merges them into one map when it links the objects.
 */
#ifndef SOCKSCOPE_MAPS_BPF_H
#define SOCKSCOPE_MAPS_BPF_H

#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include "sockscope.h"

/* Size is set by the loader from configuration before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ss_stats SEC(".maps") __weak;

/*
 * Records are submitted without waking the reader: the addon drains on a
 * timer, because a wake-up per event costs the traced workload several times
 * the event itself. Only when the ring is filling up do we wake the reader
 * early, so bursts do not overflow it between timer ticks.
 */
const volatile __u64 wakeup_data_size __weak = 4 * 1024 * 1024;

/*
 * Atomic although the counter is this CPU's: fexit, kprobe and (since 5.x)
 * tracepoint programs run with only migration disabled, so another task on
 * this CPU can preempt a plain read-modify-write and one of the two adds is lost.
 */
static __always_inline void ss_stat_add(__u32 stat, __u64 n)
{
	__u64 *val = bpf_map_lookup_elem(&ss_stats, &stat);

	if (val)
		__sync_fetch_and_add(val, n);
}

static __always_inline void ss_stat_inc(__u32 stat)
{
	ss_stat_add(stat, 1);
}

static __always_inline __u64 ss_submit_flags(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_data_size)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

#endif /* SOCKSCOPE_MAPS_BPF_H */
