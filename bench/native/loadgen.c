// SPDX-License-Identifier: Apache-2.0
/*
 * Loopback socket workloads for the sockscope benchmark. Node is too slow per
 * syscall to show a BPF program's cost, so the traffic comes from here.
 *
 *   loadgen pingpong tcp|udp ITERATIONS [SIZE]
 *       One thread: send SIZE bytes on one end, receive them on the other,
 *       ITERATIONS times (after a warm-up of ITERATIONS/10). Prints one JSON line
 *       with the events (successful send/recv calls), bytes and this thread's
 *       CPU time (user, sys) and wall time for the measured part.
 *   loadgen flood udp|tcp SECONDS [SIZE]
 *       The same loop for a fixed time, as one of several senders.
 *   loadgen series COMMS ROUNDS
 *       COMMS distinct process names (prctl PR_SET_NAME "sbNNNNNN"), each doing one
 *       64-byte UDP send and receive per round on a socket pair of its own: 4 counter
 *       series per name.
 *   loadgen flows CONNECTIONS SECONDS
 *       CONNECTIONS loopback TCP connections (2 sockets, 2 flows each), each moving
 *       64 bytes each way once a second, for SECONDS. Writes "connected" on stderr
 *       once every connection is open, so a caller can time the steady part alone.
 *
 * Every mode prints one JSON line on stdout; errors go to stderr with exit 1.
 * The process name is set to "ssb-<mode>" so its series are easy to find.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65536

static char buf[MAX_SIZE];

struct counts {
	uint64_t events;   /* successful send + recv calls */
	uint64_t tx_bytes;
	uint64_t rx_bytes;
};

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

/* At least `need` fds: past the hard limit too when root (a guest's init leaves it at 4096). */
static void raise_fd_limit(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
			rl.rlim_max = need;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			getrlimit(RLIMIT_NOFILE, &rl);
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("getsockname");
	return ntohs(a.sin_port);
}

/* A connected pair of sockets on 127.0.0.1: fds[0] sends, fds[1] receives. */
static void udp_pair(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in a = loopback(0);

		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0)
			die("udp socket");
	}
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in peer = loopback(local_port(fds[1 - i]));

		if (connect(fds[i], (struct sockaddr *)&peer, sizeof(peer)) < 0)
			die("udp connect");
	}
}

/* port 0: any free port; else the first free one from `port` on (a server-like, non-ephemeral port). */
static int tcp_listener(uint16_t port)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("tcp socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	for (int i = 0; i < (port ? 200 : 1); i++) {
		struct sockaddr_in a = loopback(port ? (uint16_t)(port + i) : 0);

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			if (listen(fd, 4096) < 0)
				die("tcp listen");
			return fd;
		}
	}
	die("tcp bind");
	return -1;
}

static void tcp_connect_pair(int listener, int fds[2])
{
	struct sockaddr_in a = loopback(local_port(listener));
	int one = 1;

	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof(a)) < 0)
		die("tcp connect");
	fds[1] = accept(listener, NULL, NULL);
	if (fds[1] < 0)
		die("accept");
	/* Each 64-byte write goes out at once, as a request/response protocol's would. */
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void tcp_pair(int fds[2])
{
	int listener = tcp_listener(0);

	tcp_connect_pair(listener, fds);
	close(listener);
}

/* One send and the matching receive(s); every call that moved data is one traced event. */
static void exchange(int fds[2], size_t size, int stream, struct counts *c)
{
	ssize_t n = send(fds[0], buf, size, 0);

	if (n <= 0)
		die("send");
	c->events++;
	c->tx_bytes += (uint64_t)n;
	size_t want = (size_t)n;
	while (want > 0) {
		ssize_t r = recv(fds[1], buf, stream ? want : MAX_SIZE, 0);

		if (r <= 0)
			die("recv");
		c->events++;
		c->rx_bytes += (uint64_t)r;
		want -= stream ? (size_t)r : want;
	}
}

static void open_pair(const char *transport, int fds[2])
{
	if (strcmp(transport, "tcp") == 0)
		tcp_pair(fds);
	else if (strcmp(transport, "udp") == 0)
		udp_pair(fds);
	else {
		fprintf(stderr, "loadgen: transport must be tcp or udp\n");
		exit(2);
	}
}

static void print_counts(const char *mode, const char *transport, const struct counts *c)
{
	printf("{\"mode\":\"%s\",\"transport\":\"%s\",\"pid\":%d,\"events\":%llu,\"txBytes\":%llu,\"rxBytes\":%llu",
	       mode, transport, getpid(), (unsigned long long)c->events, (unsigned long long)c->tx_bytes,
	       (unsigned long long)c->rx_bytes);
}

static int pingpong(const char *transport, long iterations, size_t size)
{
	int fds[2];
	struct counts warm = { 0 }, c = { 0 };
	struct rusage r0, r1;

	open_pair(transport, fds);
	int stream = strcmp(transport, "tcp") == 0;
	for (long i = 0; i < iterations / 10; i++)
		exchange(fds, size, stream, &warm);
	getrusage(RUSAGE_THREAD, &r0);
	uint64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t wall0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < iterations; i++)
		exchange(fds, size, stream, &c);
	uint64_t wall1 = now_ns(CLOCK_MONOTONIC);
	uint64_t cpu1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	getrusage(RUSAGE_THREAD, &r1);
	print_counts("pingpong", transport, &c);
	printf(",\"iterations\":%ld,\"size\":%zu,\"warmupEvents\":%llu,\"warmupBytes\":%llu,\"cpuNs\":%llu,"
	       "\"wallNs\":%llu,\"userNs\":%llu,\"sysNs\":%llu,\"involuntarySwitches\":%ld,\"cpu\":%d}\n",
	       iterations, size, (unsigned long long)warm.events,
	       (unsigned long long)(warm.tx_bytes + warm.rx_bytes), (unsigned long long)(cpu1 - cpu0),
	       (unsigned long long)(wall1 - wall0),
	       (unsigned long long)(tv_ns(r1.ru_utime) - tv_ns(r0.ru_utime)),
	       (unsigned long long)(tv_ns(r1.ru_stime) - tv_ns(r0.ru_stime)), r1.ru_nivcsw - r0.ru_nivcsw,
	       sched_getcpu());
	return 0;
}

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int flood(const char *transport, int seconds, size_t size)
{
	int fds[2];
	struct counts c = { 0 };

	open_pair(transport, fds);
	int stream = strcmp(transport, "tcp") == 0;
	signal(SIGALRM, on_alarm);
	alarm((unsigned)seconds);
	uint64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t wall0 = now_ns(CLOCK_MONOTONIC);
	while (!stop_flag) {
		/* Check the flag once per 256 exchanges: the loop stays syscall-bound. */
		for (int i = 0; i < 256; i++)
			exchange(fds, size, stream, &c);
	}
	print_counts("flood", transport, &c);
	printf(",\"cpuNs\":%llu,\"wallNs\":%llu}\n",
	       (unsigned long long)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0),
	       (unsigned long long)(now_ns(CLOCK_MONOTONIC) - wall0));
	return 0;
}

static int series(long comms, long rounds)
{
	int fds[2];
	struct counts c = { 0 };
	char name[16];

	for (long r = 0; r < rounds; r++) {
		for (long i = 0; i < comms; i++) {
			snprintf(name, sizeof(name), "sb%06d", (int)(i % 1000000));
			prctl(PR_SET_NAME, name);
			/*
			 * A socket pair per name: sockscope reads a socket's process name once per
			 * interval, so one pair renamed in a loop would be one flow, not COMMS.
			 */
			udp_pair(fds);
			exchange(fds, 64, 0, &c);
			close(fds[0]);
			close(fds[1]);
		}
	}
	prctl(PR_SET_NAME, "ssb-series");
	print_counts("series", "udp", &c);
	printf(",\"comms\":%ld,\"rounds\":%ld}\n", comms, rounds);
	return 0;
}

static int flows(long connections, int seconds)
{
	/* Below the ephemeral range, like a real server's port: flows get a server.port. */
	int listener = tcp_listener(18080);
	int (*pairs)[2] = calloc((size_t)connections, sizeof(*pairs));
	struct counts c = { 0 };

	if (pairs == NULL)
		die("calloc");
	raise_fd_limit((rlim_t)connections * 2 + 64);
	for (long i = 0; i < connections; i++)
		tcp_connect_pair(listener, pairs[i]);
	fputs("connected\n", stderr);
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	for (int s = 0; s < seconds; s++) {
		/* Spread one round over the second so the load is steady, not a burst. */
		for (long i = 0; i < connections; i++) {
			int back[2] = { pairs[i][1], pairs[i][0] };

			exchange(pairs[i], 64, 1, &c);
			exchange(back, 64, 1, &c);
			if (i % 100 == 99) {
				uint64_t due = start + (uint64_t)s * 1000000000ull +
					       (uint64_t)(i + 1) * 1000000000ull / (uint64_t)connections;
				uint64_t now = now_ns(CLOCK_MONOTONIC);
				if (due > now) {
					struct timespec ts = { .tv_sec = (time_t)((due - now) / 1000000000ull),
							       .tv_nsec = (long)((due - now) % 1000000000ull) };
					nanosleep(&ts, NULL);
				}
			}
		}
	}
	print_counts("flows", "tcp", &c);
	printf(",\"connections\":%ld,\"flows\":%ld,\"seconds\":%d}\n", connections, connections * 2, seconds);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: loadgen pingpong|flood|series|flows ARGS (see the source)\n");
		return 2;
	}
	const char *mode = argv[1];
	char title[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(title, sizeof(title), "ssb-%s", mode);
	prctl(PR_SET_NAME, title);
	/* Die with the bench: a leftover load generator would skew whatever runs next. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (strcmp(mode, "pingpong") == 0 && argc >= 4)
		return pingpong(argv[2], atol(argv[3]), argc > 4 ? (size_t)atol(argv[4]) : 64);
	if (strcmp(mode, "flood") == 0 && argc >= 4)
		return flood(argv[2], atoi(argv[3]), argc > 4 ? (size_t)atol(argv[4]) : 64);
	if (strcmp(mode, "series") == 0 && argc >= 4)
		return series(atol(argv[2]), atol(argv[3]));
	if (strcmp(mode, "flows") == 0 && argc >= 4)
		return flows(atol(argv[2]), atoi(argv[3]));
	fprintf(stderr, "loadgen: bad arguments for %s\n", mode);
	return 2;
}
