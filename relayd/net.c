/*
 * Network layer: see net.h. The socket is non-blocking from the start and
 * every wait is a poll() against an absolute deadline, so a silent or
 * trickling smarthost can never hold a delivery slot past its timeout.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "net.h"
#include "tls.h"
#include "util.h"

#define NET_RBUF 16384

struct net {
	int fd;
	struct tls_conn *tls;
	struct sockaddr_storage peer;
	char addr[INET6_ADDRSTRLEN];
	char err[256];
	size_t rpos, rlen;
	char rbuf[NET_RBUF];
};

/* Connect fd to one address within the deadline. 0 or -1 (errno set). */
static int connect_one(int fd, const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
	int soerr = 0, rc;
	socklen_t sl = sizeof(soerr);

	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -1;
	rc = deadline_poll(fd, POLLOUT, deadline, NULL);
	if (rc == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (rc < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	const void *a = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;

	if (inet_ntop(sa->sa_family, a, out, (socklen_t)outlen) == NULL)
		strlcpy(out, "?", outlen);
}

struct net *net_connect(const char *host, unsigned port, time_t timeout, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char portstr[8], tried[512] = "";
	struct net *n;
	int rc, one = 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY || rc == EAI_NODATA) {
		/* AI_ADDRCONFIG hides ::1 and 127.0.0.1 on hosts without a
		 * configured address of that family: ask again without it. */
		hints.ai_flags = 0;
		rc = getaddrinfo(host, portstr, &hints, &res);
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		char a[INET6_ADDRSTRLEN];
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);

		addr_text(ai->ai_addr, a, sizeof(a));
		if (fd == -1 || connect_one(fd, ai->ai_addr, ai->ai_addrlen, deadline_in(timeout)) == -1) {
			size_t tl = strlen(tried);

			snprintf(tried + tl, sizeof(tried) - tl, "%s%s[%s]:%u: %s",
			    tl ? "; " : "", host, a, port, strerror(errno));
			if (fd != -1)
				close(fd);
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		n->fd = fd;
		memcpy(&n->peer, ai->ai_addr, ai->ai_addrlen);
		strlcpy(n->addr, a, sizeof(n->addr));
		break;
	}
	freeaddrinfo(res);
	if (n->fd == -1) {
		snprintf(err, errlen, "connect to %s", tried[0] ? tried : "(no address)");
		free(n);
		return NULL;
	}
	return n;
}

const char *net_peer_addr(const struct net *n)
{
	return n->addr;
}

bool net_peer_loopback(const struct net *n)
{
	if (n->peer.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)&n->peer;

		return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
	}
	if (n->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)&n->peer;

		if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&s->sin6_addr) && s->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

int net_start_tls(struct net *n, const struct conf *c, const char *host, int64_t deadline,
    char *err, size_t errlen)
{
	/* Anything the server sent before the handshake would be plaintext
	 * injected ahead of TLS (CVE-2011-0411 style): refuse it. */
	if (n->rpos < n->rlen) {
		snprintf(err, errlen, "TLS refused: server sent data before the handshake");
		return -1;
	}
	n->tls = tls_connect(n->fd, c, host, deadline, err, errlen);
	return n->tls != NULL ? 0 : -1;
}

bool net_is_tls(const struct net *n)
{
	return n->tls != NULL;
}

void net_tls_describe(const struct net *n, char *out, size_t outlen)
{
	if (n->tls == NULL)
		strlcpy(out, "", outlen);
	else
		tls_describe(n->tls, out, outlen);
}

bool net_buffered(const struct net *n)
{
	return n->rpos < n->rlen;
}

static void set_err(struct net *n, const char *what)
{
	strlcpy(n->err, what, sizeof(n->err));
}

/* Wait until the socket is ready for events: NET_OK, NET_TIMEOUT or
 * NET_ERROR (n->err says why). */
static enum net_status wait_ready(struct net *n, short events, int64_t deadline)
{
	int w = deadline_poll(n->fd, events, deadline, NULL);

	if (w == 0)
		return NET_TIMEOUT;
	if (w < 0) {
		set_err(n, strerror(errno));
		return NET_ERROR;
	}
	return NET_OK;
}

/* Refill the read buffer. */
static enum net_status fill(struct net *n, int64_t deadline)
{
	enum net_status st;
	ssize_t r;

	n->rpos = n->rlen = 0;
	if (n->tls != NULL) {
		r = tls_read(n->tls, n->rbuf, sizeof(n->rbuf), deadline);
		if (r == -2)
			return NET_TIMEOUT;
		if (r == -1) {
			set_err(n, tls_last_error(n->tls));
			return NET_ERROR;
		}
	} else {
		for (;;) {
			r = recv(n->fd, n->rbuf, sizeof(n->rbuf), 0);
			if (r >= 0)
				break;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				set_err(n, strerror(errno));
				return NET_ERROR;
			}
			if ((st = wait_ready(n, POLLIN, deadline)) != NET_OK)
				return st;
		}
	}
	if (r == 0) {
		set_err(n, "connection closed by peer");
		return NET_EOF;
	}
	n->rlen = (size_t)r;
	return NET_OK;
}

enum net_status net_read_line(struct net *n, char *line, size_t cap, size_t *len,
    bool *truncated, int64_t deadline)
{
	size_t l = 0;

	*truncated = false;
	for (;;) {
		enum net_status st;

		while (n->rpos < n->rlen) {
			char ch = n->rbuf[n->rpos++];

			if (ch == '\n') {
				if (l > 0 && line[l - 1] == '\r' && !*truncated)
					l--;
				line[l] = '\0';
				*len = l;
				return NET_OK;
			}
			if (l + 1 < cap)
				line[l++] = ch;
			else
				*truncated = true;
		}
		st = fill(n, deadline);
		if (st != NET_OK)
			return st;
	}
}

enum net_status net_write(struct net *n, const void *p, size_t len, int64_t deadline)
{
	const char *s = p;

	if (n->tls != NULL) {
		int rc = tls_write(n->tls, p, len, deadline);

		if (rc == -2)
			return NET_TIMEOUT;
		if (rc < 0) {
			set_err(n, tls_last_error(n->tls));
			return NET_ERROR;
		}
		return NET_OK;
	}
	while (len > 0) {
		/* MSG_NOSIGNAL: a peer that hung up is an error, not SIGPIPE. */
		ssize_t w = send(n->fd, s, len, MSG_NOSIGNAL);

		if (w > 0) {
			s += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			set_err(n, strerror(errno));
			return errno == EPIPE ? NET_EOF : NET_ERROR;
		}
		enum net_status st = wait_ready(n, POLLOUT, deadline);

		if (st != NET_OK)
			return st;
	}
	return NET_OK;
}

const char *net_error(const struct net *n)
{
	return n->err[0] ? n->err : "unknown error";
}

void net_close(struct net *n, bool polite)
{
	if (n == NULL)
		return;
	if (n->tls != NULL)
		tls_close(n->tls, polite);
	if (n->fd != -1)
		close(n->fd);
	free(n);
}
