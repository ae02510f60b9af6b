/* One fork with its socket pair, for every child that reports (child.h). */
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "log.h"

pid_t child_fork(int *sock)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	pid = fork();
	if (pid == -1) {
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[pid == 0 ? 0 : 1]);
	*sock = sv[pid == 0 ? 1 : 0];
	return pid;
}

void child_ignore_signals(void)
{
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}
