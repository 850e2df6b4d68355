/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading a struct sock the same way from every kind of program (CO-RE, probe reads). */
#ifndef SOCKSCOPE_SOCK_BPF_H
#define SOCKSCOPE_SOCK_BPF_H

#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define MSG_PEEK 2

/* BPF_CORE_READ_INTO copies sizeof(*dst): each address goes in as its own type. */
static __always_inline void ss_read_tuple(const struct sock *sk, __u16 family, __u8 *laddr,
					  __u8 *raddr, __u16 *lport, __u16 *rport)
{
	/*
	 * Not skc_num: on CLOSE, inet_put_port() has zeroed it before the state
	 * change is traced; inet_sport keeps the port (as the tracepoint's own
	 * sport field does).
	 */
	*lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	*rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		BPF_CORE_READ_INTO((__be32 *)laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__be32 *)raddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)raddr, sk, __sk_common.skc_v6_daddr);
	}
}

static __always_inline __u32 ss_srtt_us(const struct sock *sk)
{
	return BPF_CORE_READ((const struct tcp_sock *)sk, srtt_us) >> 3;
}

static __always_inline __u32 ss_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/*
 * The current process's name and thread's name. bpf_get_current_comm() is the
 * thread's: a pool thread named "worker-3" in process "server" says "worker-3".
 * The process name is the thread-group leader's comm. Probe reads through
 * bpf_get_current_task(), not the BTF task pointer, so that every program type
 * on every supported kernel (5.10 lacks bpf_get_current_task_btf) reads it alike.
 * Only meaningful in process context.
 */
static __always_inline void ss_current_comms(char *comm, char *thread_comm)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	bpf_get_current_comm(thread_comm, SS_COMM_LEN); /* zero-padded */
	/* The string read does not pad: zero first, as the bytes are part of flow keys. */
	__builtin_memset(comm, 0, SS_COMM_LEN);
	/* The macro reads sizeof(*dst) bytes at most: a pointer to the whole array. */
	if (BPF_CORE_READ_STR_INTO((char(*)[SS_COMM_LEN])comm, task, group_leader, comm) <= 0)
		__builtin_memcpy(comm, thread_comm, SS_COMM_LEN);
}

/* Only meaningful in process context: the caller of connect(), listen(), send(), recv(). */
static __always_inline void ss_current_owner(struct ss_owner *owner)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	owner->tgid = pid_tgid >> 32;
	owner->pid = (__u32)pid_tgid;
	owner->cgroup_id = bpf_get_current_cgroup_id();
	ss_current_comms(owner->comm, owner->thread_comm);
}

#endif /* SOCKSCOPE_SOCK_BPF_H */
