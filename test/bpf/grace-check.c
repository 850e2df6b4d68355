// SPDX-License-Identifier: Apache-2.0
/*
 * grace-check IMPLEMENTATION SWAP SWAPS SPIN_US OBJECT
 *
 * (Built by `make -C ebpf test` into ebpf/.output/.)
 *
 * Loads one program of grace.bpf.o (IMPLEMENTATION: tp_btf, tracepoint, fentry,
 * kprobe), keeps it firing from a thread on another CPU, and swaps its live map
 * SWAPS times. SWAP is how:
 *   update  bpf_map_update_elem on the one slot, as addon/src/flow_map_drainer.cc
 *           does; the kernel is meant to return only after a grace period;
 *   flag    a plain store to a global the programs read: no wait at all;
 *   flip    that store, then an update of the slot (to the map it holds): the
 *           io_cache_half flip before the swap, which relies on the same wait.
 * Right after each swap returns it reads the swapped-out map: a program still in
 * it shows as entered != left ("torn"). "overlapped" counts swaps that had a
 * program in the old map when they began (torn, or one left it after that), so
 * a run where the programs never raced a swap shows as such.
 *
 * Prints one JSON line; exit 0 whatever it measured (the test judges), 1 when
 * the program cannot be loaded or attached (the JSON says where), 2 on usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Must match struct grace_marks in grace.bpf.c. */
struct grace_marks {
	uint64_t entered;
	uint64_t left;
	uint64_t last_left_ns;
};

/* The .bss of grace.bpf.c, in declaration order. */
struct grace_bss {
	uint32_t flag;
	uint32_t tid;
	uint64_t spin_ns;
};

static atomic_int stop;
static atomic_int trigger_tid;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of bpf_ktime_get_ns() */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort: one CPU still interleaves */
}

static int fail(const char *impl, const char *stage, int err)
{
	printf("{\"implementation\":\"%s\",\"attached\":false,\"stage\":\"%s\",\"error\":\"%s\"}\n",
	       impl, stage, strerror(err < 0 ? -err : err));
	return 1;
}

/* Sends datagrams to a loopback socket nobody reads: every send runs inet_sendmsg. */
static void *trigger(void *arg)
{
	int cpus = *(int *)arg, rx, tx;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	char byte = 0;

	pin_to_cpu(cpus > 1 ? 1 : 0);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(rx, (struct sockaddr *)&addr, &len) != 0 ||
	    connect(tx, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("grace-check: trigger socket");
		exit(1);
	}
	atomic_store(&trigger_tid, (int)syscall(SYS_gettid));
	while (!atomic_load(&stop))
		send(tx, &byte, 1, MSG_DONTWAIT);
	close(tx);
	close(rx);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *prog_names[][2] = {
		{ "tp_btf", "grace_tp_btf" },
		{ "tracepoint", "grace_tracepoint" },
		{ "fentry", "grace_fentry" },
		{ "kprobe", "grace_kprobe" },
	};
	const char *impl, *swap, *wanted = NULL, *stage = "";
	struct bpf_object *obj;
	struct bpf_program *prog, *chosen = NULL;
	struct bpf_link *link;
	struct grace_bss *bss;
	struct grace_marks marks[2];
	pthread_t thread;
	size_t bss_size;
	long swaps, spin_us, torn = 0, overlapped = 0;
	int cpus, bss_fd, slots_fd, inner_fd[2], live = 0, err;
	uint32_t zero = 0;
	uint64_t wait_ns_max = 0, deadline;

	if (argc != 6) {
		fprintf(stderr, "usage: grace-check tp_btf|tracepoint|fentry|kprobe update|flag|flip SWAPS SPIN_US OBJECT\n");
		return 2;
	}
	impl = argv[1];
	swap = argv[2];
	swaps = strtol(argv[3], NULL, 10);
	spin_us = strtol(argv[4], NULL, 10);
	for (size_t i = 0; i < sizeof(prog_names) / sizeof(prog_names[0]); i++)
		if (strcmp(impl, prog_names[i][0]) == 0)
			wanted = prog_names[i][1];
	if (!wanted || (strcmp(swap, "update") != 0 && strcmp(swap, "flag") != 0 && strcmp(swap, "flip") != 0) || swaps <= 0 ||
	    spin_us <= 0) {
		fprintf(stderr, "grace-check: bad arguments (implementation %s, swap %s, swaps %s, spin %s)\n",
			argv[1], argv[2], argv[3], argv[4]);
		return 2;
	}

	obj = bpf_object__open_file(argv[5], NULL);
	if (!obj)
		return fail(impl, "open", errno);
	bpf_object__for_each_program(prog, obj) {
		bool is_wanted = strcmp(bpf_program__name(prog), wanted) == 0;

		bpf_program__set_autoload(prog, is_wanted);
		if (is_wanted)
			chosen = prog;
	}
	err = bpf_object__load(obj);
	if (err)
		return fail(impl, "load", err);
	/* libbpf 1.1 maps .bss into memory for skeletons only: map the kernel's array directly. */
	bss_fd = bpf_object__find_map_fd_by_name(obj, ".bss");
	bss_size = (size_t)sysconf(_SC_PAGESIZE);
	bss = bss_fd < 0 ? MAP_FAILED : mmap(NULL, bss_size, PROT_READ | PROT_WRITE, MAP_SHARED, bss_fd, 0);
	slots_fd = bpf_object__find_map_fd_by_name(obj, "grace_slots");
	inner_fd[0] = bpf_object__find_map_fd_by_name(obj, "grace_a");
	inner_fd[1] = bpf_object__find_map_fd_by_name(obj, "grace_b");
	if (bss == MAP_FAILED || slots_fd < 0 || inner_fd[0] < 0 || inner_fd[1] < 0)
		return fail(impl, "maps", EINVAL);
	bss->spin_ns = (uint64_t)spin_us * 1000;
	link = bpf_program__attach(chosen);
	if (!link)
		return fail(impl, "attach", errno);

	cpus = libbpf_num_possible_cpus();
	pin_to_cpu(0);
	if (pthread_create(&thread, NULL, trigger, &cpus) != 0)
		return fail(impl, "thread", errno);
	while (atomic_load(&trigger_tid) == 0)
		sched_yield();
	bss->tid = (uint32_t)atomic_load(&trigger_tid);

	/* Wait until the programs run at all, so a silent hook is an error, not a pass. */
	stage = "firing";
	deadline = now_ns() + 60ull * 1000000000ull;
	for (;;) {
		if (bpf_map_lookup_elem(inner_fd[0], &zero, &marks[0]) != 0)
			return fail(impl, "read", errno);
		if (marks[0].left > 0)
			break;
		if (now_ns() > deadline)
			return fail(impl, stage, ETIMEDOUT);
		usleep(1000);
	}

	for (long i = 0; i < swaps; i++) {
		int next = 1 - live;
		uint64_t before, took;

		/* Swap while a program is in the live map, so that every swap races one. On a busy
		 * host the trigger may not run for a while: after 1 s swap anyway (not overlapped). */
		deadline = now_ns() + 1000000000ull;
		do {
			if (bpf_map_lookup_elem(inner_fd[live], &zero, &marks[live]) != 0)
				return fail(impl, "read", errno);
		} while (marks[live].entered == marks[live].left && now_ns() < deadline);
		before = now_ns();

		if (strcmp(swap, "update") == 0) {
			if (bpf_map_update_elem(slots_fd, &zero, &inner_fd[next], BPF_ANY) != 0)
				return fail(impl, "swap", errno);
		} else {
			__atomic_store_n(&bss->flag, (uint32_t)next, __ATOMIC_SEQ_CST);
			if (strcmp(swap, "flip") == 0 &&
			    bpf_map_update_elem(slots_fd, &zero, &inner_fd[0], BPF_ANY) != 0)
				return fail(impl, "swap", errno);
		}
		took = now_ns() - before;
		if (bpf_map_lookup_elem(inner_fd[live], &zero, &marks[live]) != 0)
			return fail(impl, "read", errno);
		if (marks[live].entered != marks[live].left)
			torn++;
		if (marks[live].entered != marks[live].left || marks[live].last_left_ns > before)
			overlapped++;
		if (took > wait_ns_max)
			wait_ns_max = took;
		live = next;
	}

	atomic_store(&stop, 1);
	pthread_join(thread, NULL);
	bpf_link__destroy(link);
	bpf_map_lookup_elem(inner_fd[0], &zero, &marks[0]);
	bpf_map_lookup_elem(inner_fd[1], &zero, &marks[1]);
	printf("{\"implementation\":\"%s\",\"attached\":true,\"swap\":\"%s\",\"swaps\":%ld,"
	       "\"torn\":%ld,\"overlapped\":%ld,\"calls\":%llu,\"swapNsMax\":%llu,\"cpus\":%d}\n",
	       impl, swap, swaps, torn, overlapped,
	       (unsigned long long)(marks[0].left + marks[1].left), (unsigned long long)wait_ns_max, cpus);
	bpf_object__close(obj);
	return 0;
}
