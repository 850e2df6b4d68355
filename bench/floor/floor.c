// SPDX-License-Identifier: Apache-2.0
/*
 * Loads the floor program (floor.bpf.c) in one variant, prints "ready", waits for
 * SIGTERM/SIGINT (or its parent's death), then prints the bytes it counted as one
 * JSON line: {"variant":..,"txBytes":..,"rxBytes":..}.
 *
 *   floor tracepoint|tp_btf
 */
#define _GNU_SOURCE
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "floor.skel.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static unsigned long long sum_direction(struct floor_bpf *skel, __u32 direction)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long total = 0;
	__u64 *values = calloc((size_t)ncpu, sizeof(__u64));

	if (values && bpf_map__lookup_elem(skel->maps.bytes, &direction, sizeof(direction), values,
					   sizeof(__u64) * (size_t)ncpu, 0) == 0) {
		for (int i = 0; i < ncpu; i++)
			total += values[i];
	}
	free(values);
	return total;
}

int main(int argc, char **argv)
{
	const char *variant = argc > 1 ? argv[1] : "";
	const char *with_pid = argc > 2 ? argv[2] : "";
	int btf = strcmp(variant, "tp_btf") == 0;

	if ((!btf && strcmp(variant, "tracepoint") != 0) || (*with_pid && strcmp(with_pid, "pid") != 0)) {
		fprintf(stderr, "usage: floor tracepoint|tp_btf [pid]\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct floor_bpf *skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: open failed: %s\n", strerror(errno));
		return 1;
	}
	bpf_program__set_autoload(skel->progs.tp_send, !btf);
	bpf_program__set_autoload(skel->progs.tp_recv, !btf);
	bpf_program__set_autoload(skel->progs.btf_send, btf);
	bpf_program__set_autoload(skel->progs.btf_recv, btf);
	skel->rodata->with_pid = *with_pid != 0;
	int err = floor_bpf__load(skel);
	if (!err)
		err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "floor: load/attach (%s) failed: %s\n", variant, strerror(-err));
		floor_bpf__destroy(skel);
		return 1;
	}
	/* Signals stay blocked except inside sigsuspend: none can slip in before the wait. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	printf("ready\n");
	while (!stopping)
		sigsuspend(&old);
	printf("{\"variant\":\"%s\",\"txBytes\":%llu,\"rxBytes\":%llu}\n", variant, sum_direction(skel, 0),
	       sum_direction(skel, 1));
	floor_bpf__destroy(skel);
	return 0;
}
