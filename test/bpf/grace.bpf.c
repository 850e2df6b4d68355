// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test-only object for test/integration/swap-grace.test.ts: does the update of a
 * one-slot array-of-maps wait for every program that still holds the old inner
 * map, for each program type that adds to sockscope's socket I/O maps?
 *
 * Each program marks `entered` in the inner map it looked up, spins, then marks
 * `left`. A map whose counts differ is one a program is still running in. The
 * programs hook what ebpf/io.bpf.c hooks for sends, so they run in the same
 * kernel dispatch (tp_btf and tracepoint: sock_send_length; fexit and
 * kretprobe: inet_sendmsg); only calls of the test's trigger thread count.
 *
 * grace_flag is the same swap without the kernel's wait: the programs use slot
 * grace_flag of a two-slot outer map that user space never updates, so the
 * checker can show it sees programs that are still running.
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Must match struct grace_marks in grace-check.c. */
struct grace_marks {
	__u64 entered;
	__u64 left;
	__u64 last_left_ns; /* CLOCK_MONOTONIC when a program last left this map */
};

struct grace_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct grace_marks);
};

struct grace_inner grace_a SEC(".maps");
struct grace_inner grace_b SEC(".maps");

/* Slot grace_flag is the live map: slot 0, swapped by update, unless the flag variant flips. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct grace_inner);
} grace_slots SEC(".maps") = {
	.values = { &grace_a, &grace_b },
};

__u32 grace_flag SEC(".bss");
__u32 grace_tid SEC(".bss");     /* the trigger thread; 0 until it is ready */
__u64 grace_spin_ns SEC(".bss"); /* how long a program stays in its map */

/* bpf_loop needs 5.17; a bounded loop verifies on 5.10. The verifier walks every round and
 * refuses more than 8192 jumps in a row, hence the cap; grace_spin_ns usually ends it first. */
#define SPIN_ROUNDS_MAX 4000

static __always_inline int grace_probe(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 zero = 0, slot;
	struct grace_marks *marks;
	void *inner;
	__u64 until;

	if (tid == 0 || tid != grace_tid)
		return 0;
	slot = grace_flag & 1;
	inner = bpf_map_lookup_elem(&grace_slots, &slot);
	if (!inner)
		return 0;
	marks = bpf_map_lookup_elem(inner, &zero);
	if (!marks)
		return 0;
	__sync_fetch_and_add(&marks->entered, 1);
	until = bpf_ktime_get_ns() + grace_spin_ns;
	for (int i = 0; i < SPIN_ROUNDS_MAX; i++) {
		if (bpf_ktime_get_ns() >= until)
			break;
	}
	marks->last_left_ns = bpf_ktime_get_ns();
	__sync_fetch_and_add(&marks->left, 1);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(grace_tp_btf, struct sock *sk, int ret, int flags)
{
	return grace_probe();
}

SEC("tracepoint/sock/sock_send_length")
int grace_tracepoint(void *ctx)
{
	return grace_probe();
}

SEC("fexit/inet_sendmsg")
int BPF_PROG(grace_fentry, struct socket *sock, struct msghdr *msg, size_t size, int ret)
{
	return grace_probe();
}

/* sockscope's kprobe path adds to the maps from the kretprobe. */
SEC("kretprobe/inet_sendmsg")
int BPF_KRETPROBE(grace_kprobe, int ret)
{
	return grace_probe();
}
