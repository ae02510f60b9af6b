/*
 * The listener's sockets, made in main.c while relayd may still be root:
 * those systemd passed (the sd_listen_fds protocol, spoken directly), else
 * one per `listen` line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen_sock.h"
#include "log.h"
#include "util.h"

#define LISTEN_BACKLOG 128
/* sd_listen_fds(3): passed descriptors start at 3. */
#define SD_LISTEN_FDS_START 3

static void sock_name(const struct sockaddr *sa, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		snprintf(out, outlen, "[%s]:%u", a, (unsigned)ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
		snprintf(out, outlen, "%s:%u", a, (unsigned)ntohs(s4->sin_port));
	} else {
		snprintf(out, outlen, "(family %d)", sa->sa_family);
	}
}

/* The sd_listen_fds protocol, spoken directly: 1 taken, 0 none, -1 error. */
static int from_systemd(struct listen_socks *s, char *err, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS"), *why = NULL;
	long long p, n, i;

	if (pid == NULL || fds == NULL)
		return 0;
	p = strtonum(pid, 1, INT32_MAX, &why);
	if (why != NULL || (pid_t)p != getpid())
		return 0;	/* meant for another process */
	n = strtonum(fds, 1, LISTEN_MAX_SOCKS, &why);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (why != NULL) {
		snprintf(err, errlen, "LISTEN_FDS=%.20s from systemd: expected 1 to %d sockets",
		    fds, LISTEN_MAX_SOCKS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + (int)i, yes = 0, type = 0;
		socklen_t len = sizeof yes;
		struct sockaddr_storage ss;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &yes, &len) == -1 || !yes ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &(socklen_t){ sizeof type }) == -1 ||
		    type != SOCK_STREAM) {
			snprintf(err, errlen, "descriptor %d from systemd is not a listening "
			    "stream socket (ListenStream= in the .socket unit)", fd);
			return -1;
		}
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		len = sizeof ss;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			ss.ss_family = AF_UNSPEC;
		sock_name((struct sockaddr *)&ss, s->name[s->n], sizeof s->name[s->n]);
		s->fd[s->n++] = fd;
	}
	return 1;
}

static int bind_one(const struct listen_addr *a, struct listen_socks *s, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, e, tries;

	memset(&ss, 0, sizeof ss);
	if (strchr(a->host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)a->port);
		inet_pton(AF_INET6, a->host, &s6->sin6_addr);
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)a->port);
		inet_pton(AF_INET, a->host, &s4->sin_addr);
		len = sizeof *s4;
	}
	sock_name((struct sockaddr *)&ss, s->name[s->n], sizeof s->name[s->n]);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* [::]:25 and 0.0.0.0:25 may both be listed. */
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	/* A relayd killed a moment ago: its listener lets go of the port as
	 * soon as it notices (PR_SET_PDEATHSIG). */
	for (tries = 0; bind(fd, (struct sockaddr *)&ss, len) == -1; tries++) {
		if (errno != EADDRINUSE || tries == 50)
			goto fail;
		usleep(100000);
	}
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	s->fd[s->n++] = fd;
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "listen = %s: cannot listen: %s%s", s->name[s->n], strerror(e),
	    e == EACCES && a->port < 1024 ? " (a port below 1024 needs relayd started as root, "
	    "or systemd socket activation)" : "");
	return -1;
}

int listen_open(const struct conf *c, struct listen_socks **out, char *err, size_t errlen)
{
	struct listen_socks *s = xcalloc(1, sizeof(*s));
	size_t i;
	int r;

	*out = NULL;
	if ((r = from_systemd(s, err, errlen)) == -1) {
		free(s);
		return -1;
	}
	if (r == 1) {
		if (c->nlistens > 0)
			log_info("listen: using the %zu socket(s) systemd passed; the listen lines "
			    "of %s are not bound", s->n, c->path);
	} else {
		for (i = 0; i < c->nlistens; i++) {
			if (bind_one(&c->listens[i], s, err, errlen) == -1) {
				while (s->n > 0)
					close(s->fd[--s->n]);
				free(s);
				return -1;
			}
		}
	}
	if (s->n == 0) {
		free(s);
		return 0;
	}
	*out = s;
	return 0;
}
