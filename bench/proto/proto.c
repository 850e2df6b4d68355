// SPDX-License-Identifier: Apache-2.0
/*
 * Loads one hot-path prototype (proto.bpf.c) on one hook type and drains it the
 * way the daemon would, until SIGTERM/SIGINT (or its parent's death):
 *
 *   proto ringbuf|percpu|percpu_direct|percpu_sock|sock_cache tracepoint|tp_btf
 *
 * ringbuf: a thread waits up to 50 ms on the ring (woken early at a quarter
 * full, like the addon's KernelDrainer) and consumes every record, summing bytes.
 * percpu*: once a second, swap the active flow (or socket) map (the
 * array-of-maps update waits for running BPF programs, so the idle map is
 * quiescent) and read and delete the idle one in batches.
 * sock_cache: once a second, flip the cache half the programs write, wait for
 * running programs the same way (an array-of-maps update), then read and zero
 * the idle half through mmap.
 *
 * Prints "ready", then at the end one JSON line: bytes counted per direction,
 * records or flows read, this process's CPU time, and losses.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "sockscope.h"
#include "proto.h"
#include "proto.skel.h"

struct flow_counts {
	__u64 tx_bytes, rx_bytes, tx_calls, rx_calls;
	__u32 srtt_us, _pad;
};

struct sock_value {
	struct ss_flow_key flow;
	struct flow_counts counts;
};

struct totals {
	unsigned long long tx_bytes, rx_bytes, records, flows_read, drains;
};

static volatile sig_atomic_t stopping;
static struct proto_bpf *skel;
static struct totals totals;
static int percpu_mode;
static int map_in_use; /* 0 = the _a map is active, 1 = the _b map */
/* The aggregation maps of this variant: flows_* (flow key) or socks_* (socket key). */
static struct bpf_map *map_a, *map_b, *map_active;
static size_t value_size;
static int cache_mode;
static unsigned char *cache; /* the mmapped sock_cache array */
static size_t cache_half_slots;

enum { CACHE_SLOTS_LOG2 = 10 };
struct cache_slot {
	unsigned char key[16];
	struct flow_counts counts;
	__u64 _pad;
	struct ss_flow_key flow;
};

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	const struct ss_io_event *e = data;

	if (size < sizeof(*e) || e->type != SS_EVENT_IO)
		return 0;
	totals.records++;
	if (e->direction == SS_DIR_TRANSMIT)
		totals.tx_bytes += e->bytes;
	else
		totals.rx_bytes += e->bytes;
	return 0;
}

static const struct flow_counts *counts_of(const void *value)
{
	return value_size == sizeof(struct flow_counts) ? value
						       : &((const struct sock_value *)value)->counts;
}

/* Reads and deletes every entry of one (idle) map, summing its per-CPU values. */
static void drain_map(struct bpf_map *map)
{
	enum { CHUNK = 4096 };
	int ncpu = libbpf_num_possible_cpus();
	static unsigned char *keys, *values;
	__u32 batch = 0, count;
	void *in = NULL;
	int err;

	if (!values) {
		keys = calloc(CHUNK, sizeof(struct ss_flow_key));
		values = calloc((size_t)CHUNK * (size_t)ncpu, value_size);
	}
	do {
		count = CHUNK;
		err = bpf_map_lookup_and_delete_batch(bpf_map__fd(map), in, &batch, keys, values, &count, NULL);
		if (err && errno != ENOENT) {
			fprintf(stderr, "proto: batch read: %s\n", strerror(errno));
			return;
		}
		for (__u32 i = 0; i < count; i++) {
			for (int cpu = 0; cpu < ncpu; cpu++) {
				const struct flow_counts *v =
					counts_of(values + ((size_t)i * (size_t)ncpu + (size_t)cpu) * value_size);

				totals.tx_bytes += v->tx_bytes;
				totals.rx_bytes += v->rx_bytes;
				totals.records += v->tx_calls + v->rx_calls;
			}
		}
		totals.flows_read += count;
		in = &batch;
	} while (!err);
	totals.drains++;
}

/* Reads and zeroes one half of the socket cache. */
static void drain_cache_half(unsigned half)
{
	struct cache_slot *slots = (struct cache_slot *)cache + (size_t)half * cache_half_slots;

	for (size_t i = 0; i < cache_half_slots; i++) {
		const struct flow_counts *c = &slots[i].counts;

		if (!(c->tx_calls | c->rx_calls))
			continue;
		totals.tx_bytes += c->tx_bytes;
		totals.rx_bytes += c->rx_bytes;
		totals.records += c->tx_calls + c->rx_calls;
		totals.flows_read++;
	}
	memset(slots, 0, cache_half_slots * sizeof(*slots));
	totals.drains++;
}

/* Programs that may still write the old half: an array-of-maps update waits for them. */
static void flip_cache(void)
{
	__u32 zero = 0;
	unsigned old = skel->bss->cache_half & 1;
	int fd = bpf_map__fd(skel->maps.socks_a);

	__atomic_store_n(&skel->bss->cache_half, !old, __ATOMIC_RELEASE);
	if (bpf_map__update_elem(skel->maps.active_socks, &zero, sizeof(zero), &fd, sizeof(fd), BPF_ANY))
		fprintf(stderr, "proto: synchronize: %s\n", strerror(errno));
	drain_cache_half(old);
}

/* Points the programs at the other map; returns the one that is now idle. */
static struct bpf_map *swap_maps(void)
{
	__u32 zero = 0;
	struct bpf_map *next = map_in_use ? map_a : map_b;
	struct bpf_map *idle = map_in_use ? map_b : map_a;
	int fd = bpf_map__fd(next);

	if (bpf_map__update_elem(map_active, &zero, sizeof(zero), &fd, sizeof(fd), BPF_ANY)) {
		fprintf(stderr, "proto: swap: %s\n", strerror(errno));
		return NULL;
	}
	map_in_use = !map_in_use;
	return idle;
}

static void *drain_thread(void *arg)
{
	struct ring_buffer *ring = arg;
	int ticks = 0;

	while (!stopping) {
		if (percpu_mode) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			if (++ticks % 20 == 0 && cache_mode) {
				flip_cache();
			} else if (ticks % 20 == 0) {
				struct bpf_map *idle = swap_maps();

				if (idle)
					drain_map(idle);
			}
		} else {
			ring_buffer__poll(ring, 50);
			ring_buffer__consume(ring);
			totals.drains++;
		}
	}
	return NULL;
}

static unsigned long long rusage_ns(const struct rusage *ru)
{
	return (unsigned long long)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000ull +
	       (unsigned long long)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000ull;
}

static unsigned long long lost_records(void)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 stat = SS_STAT_RINGBUF_LOST;
	__u64 *values = calloc((size_t)ncpu, sizeof(__u64));
	unsigned long long total = 0;

	if (values && bpf_map__lookup_elem(skel->maps.ss_stats, &stat, sizeof(stat), values,
					   sizeof(__u64) * (size_t)ncpu, 0) == 0)
		for (int i = 0; i < ncpu; i++)
			total += values[i];
	free(values);
	return total;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: proto ringbuf|percpu|percpu_direct|percpu_sock|sock_cache tracepoint|tp_btf\n");
		return 2;
	}
	const char *variant = argv[1], *hook = argv[2];
	char send_name[64], recv_name[64];
	const char *suffix = strcmp(hook, "tp_btf") == 0 ? "btf" : "tp";

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	cache_mode = strcmp(variant, "sock_cache") == 0;
	percpu_mode = strncmp(variant, "percpu", 6) == 0 || cache_mode;
	snprintf(send_name, sizeof(send_name), "%s_%s_send", variant, suffix);
	snprintf(recv_name, sizeof(recv_name), "%s_%s_recv", variant, suffix);

	skel = proto_bpf__open();
	if (!skel) {
		fprintf(stderr, "proto: open: %s\n", strerror(errno));
		return 1;
	}
	int found = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		int on = strcmp(name, send_name) == 0 || strcmp(name, recv_name) == 0;

		bpf_program__set_autoload(prog, on);
		found += on;
	}
	if (found != 2) {
		fprintf(stderr, "proto: no programs %s/%s\n", send_name, recv_name);
		return 2;
	}
	if (strcmp(variant, "percpu_sock") == 0) {
		map_a = skel->maps.socks_a;
		map_b = skel->maps.socks_b;
		map_active = skel->maps.active_socks;
		value_size = sizeof(struct sock_value);
	} else {
		map_a = skel->maps.flows_a;
		map_b = skel->maps.flows_b;
		map_active = skel->maps.active_flows;
		value_size = sizeof(struct flow_counts);
	}
	if (percpu_mode)
		bpf_map__set_max_entries(skel->maps.events, 4096); /* unused: keep it small */
	if (cache_mode) {
		int ncpu = libbpf_num_possible_cpus();

		cache_half_slots = (size_t)ncpu << CACHE_SLOTS_LOG2;
		skel->rodata->cache_slots_log2 = CACHE_SLOTS_LOG2;
		skel->rodata->cache_cpus = (__u32)ncpu;
		bpf_map__set_max_entries(skel->maps.sock_cache, (__u32)(2 * cache_half_slots));
	}
	int err = proto_bpf__load(skel);
	if (!err)
		err = proto_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "proto: load/attach %s %s: %s\n", variant, hook, strerror(-err));
		return 1;
	}
	if (cache_mode) {
		cache = mmap(NULL, 2 * cache_half_slots * sizeof(struct cache_slot), PROT_READ | PROT_WRITE,
			     MAP_SHARED, bpf_map__fd(skel->maps.sock_cache), 0);
		if (cache == MAP_FAILED) {
			fprintf(stderr, "proto: mmap sock_cache: %s\n", strerror(errno));
			return 1;
		}
	}
	struct ring_buffer *ring = NULL;
	if (!percpu_mode) {
		ring = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, NULL, NULL);
		if (!ring) {
			fprintf(stderr, "proto: ring_buffer__new: %s\n", strerror(errno));
			return 1;
		}
	}
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pthread_t thread;
	struct rusage ru0;
	getrusage(RUSAGE_SELF, &ru0);
	pthread_create(&thread, NULL, drain_thread, ring);
	printf("ready\n");
	while (!stopping)
		sigsuspend(&old);
	pthread_join(thread, NULL);
	proto_bpf__detach(skel);
	if (cache_mode) {
		drain_cache_half(0);
		drain_cache_half(1);
		totals.tx_bytes += skel->bss->evicted_tx_bytes;
		totals.rx_bytes += skel->bss->evicted_rx_bytes;
		totals.records += skel->bss->evicted_calls;
		fprintf(stderr, "proto: %llu evictions\n", (unsigned long long)skel->bss->evictions);
	} else if (percpu_mode) {
		drain_map(map_a);
		drain_map(map_b);
	} else {
		ring_buffer__consume(ring);
		ring_buffer__free(ring);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"variant\":\"%s\",\"hook\":\"%s\",\"txBytes\":%llu,\"rxBytes\":%llu,\"records\":%llu,"
	       "\"flowsRead\":%llu,\"drains\":%llu,\"lost\":%llu,\"flowsFull\":%llu,\"cpuNs\":%llu}\n",
	       variant, hook, totals.tx_bytes, totals.rx_bytes, totals.records, totals.flows_read, totals.drains,
	       lost_records(), (unsigned long long)skel->bss->flows_full,
	       rusage_ns(&ru) - rusage_ns(&ru0));
	proto_bpf__destroy(skel);
	return 0;
}
