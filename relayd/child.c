/* One fork with its socket pair, for every child that reports (child.h). */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "util.h"

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

int child_pass_fds(const int *fds, size_t n)
{
	int tmp[16];
	size_t i;

	if (n > NR_ARRAY_LEN(tmp))
		return -1;
	/* Out of the way first (numbers above any target), then in place. */
	for (i = 0; i < n; i++) {
		if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, (int)(3 + n))) == -1)
			return -1;
	}
	for (i = 0; i < n; i++) {
		/* dup2 leaves the new descriptor open across exec. */
		if (dup2(tmp[i], (int)(3 + i)) == -1)
			return -1;
		close(tmp[i]);
	}
	return 0;
}
