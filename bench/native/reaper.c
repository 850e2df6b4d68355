// SPDX-License-Identifier: Apache-2.0
/*
 * reaper COMMAND ARGS...: runs COMMAND with PR_SET_PDEATHSIG(SIGTERM), so it gets
 * SIGTERM when the bench that started it dies, even by SIGKILL (which no exit
 * handler sees). The setting survives execve for non-setuid programs.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: reaper COMMAND [ARGS...]\n");
		return 2;
	}
	pid_t parent = getppid();

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* The parent may have died before the prctl: then nobody would signal us. */
	if (getppid() != parent)
		return 1;
	execvp(argv[1], argv + 1);
	fprintf(stderr, "reaper: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
