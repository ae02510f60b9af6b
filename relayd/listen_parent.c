/*
 * The parent's handle on the listener process (listen.h): start it (fork,
 * then exec of the listener program), read its counters, restart it after
 * a crash or a reload, stop it. The listener itself is listen.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdnoreturn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "helper_path.h"
#include "listen.h"
#include "listen_sock.h"
#include "log.h"
#include "util.h"

/* After a crash, wait this long before starting the listener again. */
#define LISTEN_RESTART_PAUSE 5.0


struct listener {
	struct listen_socks *socks;
	listen_close_fn close_fds;
	void *arg;
	pid_t pid;		/* 0: not running */
	int evfd;		/* our end of the event pair */
	double restart_at;	/* monotonic; 0 = at once */
	bool stopping;
	bool reloading;		/* the next exit is listen_reload's */
};

/*
 * In the child: the listener program (LISTEN_PROGRAM listen PARENT NAME...)
 * with the event socket as descriptor 3 and the listening sockets from 4
 * on. Exec'd rather than run here, so that the TLS library it loads is
 * never mapped into relayd itself.
 */
static noreturn void exec_listener(struct listener *l, const struct conf *c, int evfd,
    pid_t parent)
{
	char path[4096], err[1024], ppid[24], *argv[8 + LISTEN_MAX_SOCKS];
	int fds[1 + LISTEN_MAX_SOCKS];
	size_t a = 0, i;

	if (helper_path(LISTEN_PROGRAM, path, sizeof path, err, sizeof err) == -1) {
		log_warnx("listen: %s", err);
		_exit(71);
	}
	snprintf(ppid, sizeof ppid, "%ld", (long)parent);
	argv[a++] = (char *)LISTEN_PROGRAM;
	if (log_is_stderr())
		argv[a++] = (char *)"-f";
	argv[a++] = (char *)"-C";
	argv[a++] = c->path;
	argv[a++] = (char *)"listen";
	argv[a++] = ppid;
	fds[0] = evfd;
	for (i = 0; i < l->socks->n; i++) {
		argv[a++] = l->socks->name[i];
		fds[1 + i] = l->socks->fd[i];
	}
	argv[a] = NULL;
	if (child_pass_fds(fds, 1 + l->socks->n) == -1) {
		log_warn("listen: cannot pass the sockets");
		_exit(71);
	}
	execv(path, argv);
	log_warn("listen: cannot run %s", path);
	_exit(71);
}

static bool spawn(struct listener *l, const struct conf *c)
{
	pid_t parent = getpid(), pid;
	int sock;

	pid = child_fork(&sock);
	if (pid == -1)
		return false;
	if (pid == 0) {
		if (l->evfd != -1)
			close(l->evfd);
		l->close_fds(l->arg);
		exec_listener(l, c, sock, parent);
	}
	if (l->evfd != -1)
		close(l->evfd);
	l->evfd = sock;
	l->pid = pid;
	return true;
}

struct listener *listen_start(const struct conf *c, struct listen_socks *socks,
    listen_close_fn close_fds, void *arg)
{
	struct listener *l;

	if (socks == NULL)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->socks = socks;
	l->close_fds = close_fds;
	l->arg = arg;
	l->evfd = -1;
	if (!spawn(l, c))
		l->restart_at = time_monotonic() + LISTEN_RESTART_PAUSE;
	return l;
}

int listen_fd(const struct listener *l)
{
	return l != NULL ? l->evfd : -1;
}

void listen_read(struct listener *l, struct listen_counts *counts)
{
	char ev[8];
	ssize_t n;

	if (l == NULL || l->evfd == -1)
		return;
	while ((n = recv(l->evfd, ev, sizeof ev, MSG_DONTWAIT)) > 0) {
		if (ev[0] == 'C')
			counts->connections++;
		else if (ev[0] == 'A')
			counts->accepted++;
		else if (ev[0] == 'R')
			counts->refused++;
	}
}

bool listen_reaped(struct listener *l, pid_t pid, int status)
{
	if (l == NULL || l->pid == 0 || pid != l->pid)
		return false;
	l->pid = 0;
	if (l->stopping)
		return true;
	if (l->reloading && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		l->reloading = false;
		l->restart_at = 0;	/* listen_tick starts the new one at once */
		return true;
	}
	l->reloading = false;
	log_warnx("listen: the listener process ended (%s %d); starting it again in %.0fs",
	    WIFSIGNALED(status) ? "signal" : "exit",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), LISTEN_RESTART_PAUSE);
	l->restart_at = time_monotonic() + LISTEN_RESTART_PAUSE;
	return true;
}

void listen_tick(struct listener *l, const struct conf *c)
{
	if (l == NULL || l->pid != 0 || l->stopping || time_monotonic() < l->restart_at)
		return;
	l->restart_at = 0;
	if (!spawn(l, c))
		l->restart_at = time_monotonic() + LISTEN_RESTART_PAUSE;
}

void listen_reload(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->pid == 0) {
		l->restart_at = 0;
		return;
	}
	l->reloading = true;
	kill(l->pid, SIGHUP);
}

void listen_stop(struct listener *l)
{
	if (l == NULL || l->stopping)
		return;
	l->stopping = true;
	if (l->pid != 0)
		kill(l->pid, SIGTERM);
}

void listen_forget(struct listener *l)
{
	size_t i;

	if (l == NULL)
		return;
	if (l->evfd != -1)
		close(l->evfd);
	for (i = 0; i < l->socks->n; i++)
		close(l->socks->fd[i]);
}

void listen_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->evfd != -1)
		close(l->evfd);
	free(l);
}

int listen_parent_check(const struct conf *c, char *err, size_t errlen)
{
	char path[4096], why[1024], *argv[6];
	size_t len = 0;
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (c->listen_tls_cert == NULL && c->listen_auth_file == NULL)
		return 0;
	if (helper_path(LISTEN_PROGRAM, path, sizeof path, why, sizeof why) == -1) {
		snprintf(err, errlen, "%s: listen: %s", c->path, why);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(err, errlen, "listen: cannot run %s: %s", path, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], 2);
		argv[0] = (char *)LISTEN_PROGRAM;
		argv[1] = (char *)"-C";
		argv[2] = c->path;
		argv[3] = (char *)"check-listen";
		argv[4] = NULL;
		execv(path, argv);
		_exit(71);
	}
	close(p[1]);
	err[0] = '\0';
	while (len + 1 < errlen && (n = read(p[0], err + len, errlen - 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += (size_t)n;
	}
	err[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	err[strcspn(err, "\n")] = '\0';
	if (err[0] == '\0')
		snprintf(err, errlen, "listen: %s check-listen failed", path);
	return -1;
}
