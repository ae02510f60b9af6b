/* One listener connection's I/O: see listen_conn.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen_conn.h"
#include "net.h"
#include "tls.h"
#include "util.h"

#define LC_RBUF 16384
#define LC_WBUF 8192
#define LC_REPLY_MAX 512

struct lconn {
	int fd;
	struct tls_conn *tls;
	volatile sig_atomic_t *stop;
	bool stop_held;
	char rbuf[LC_RBUF];
	size_t off, len;
	char wbuf[LC_WBUF];
	size_t wlen;
	char err[256];
};

struct lconn *conn_new(int fd, volatile sig_atomic_t *stop)
{
	struct lconn *c = xcalloc(1, sizeof(*c));
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c->fd = fd;
	c->stop = stop;
	return c;
}

void conn_free(struct lconn *c)
{
	if (c == NULL)
		return;
	tls_close(c->tls, 1);
	close(c->fd);
	free(c);
}

void conn_hold_stop(struct lconn *c, bool hold)
{
	c->stop_held = hold;
}

const char *conn_error(const struct lconn *c)
{
	return c->err[0] != '\0' ? c->err : "connection error";
}

bool conn_is_tls(const struct lconn *c)
{
	return c->tls != NULL;
}

/* Wait for events on the socket until deadline. LC_OK when ready. */
static enum lc_status wait_fd(struct lconn *c, short events, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = events };

	for (;;) {
		int64_t left = deadline - net_deadline(0);
		int r;

		if (c->stop != NULL && *c->stop && !c->stop_held)
			return LC_STOP;
		if (left <= 0)
			return LC_TIMEOUT;
		r = poll(&p, 1, left > 3600000 ? 3600000 : (int)left);
		if (r > 0)
			return LC_OK;
		if (r == 0)
			continue;
		if (errno != EINTR) {
			snprintf(c->err, sizeof c->err, "poll: %s", strerror(errno));
			return LC_ERROR;
		}
	}
}

static enum lc_status write_raw(struct lconn *c, const char *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w;
		enum lc_status st;

		if (c->tls != NULL) {
			int r = tls_write(c->tls, p, n, deadline);

			if (r == -2)
				return LC_TIMEOUT;
			if (r != 0) {
				snprintf(c->err, sizeof c->err, "%s", tls_last_error(c->tls));
				return LC_ERROR;
			}
			return LC_OK;
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR) {
			snprintf(c->err, sizeof c->err, "%s", strerror(errno));
			return LC_ERROR;
		}
		/* A client that does not read its replies is bounded too;
		 * SIGTERM does not cut a reply short. */
		if ((st = wait_fd(c, POLLOUT, deadline)) != LC_OK && st != LC_STOP)
			return st;
	}
	return LC_OK;
}

enum lc_status conn_flush(struct lconn *c, int64_t deadline)
{
	enum lc_status st;

	if (c->wlen == 0)
		return LC_OK;
	st = write_raw(c, c->wbuf, c->wlen, deadline);
	c->wlen = 0;
	return st;
}

void conn_reply(struct lconn *c, const char *fmt, ...)
{
	char line[LC_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	/* A long reason is cut: the code and the first words lead. */
	if ((size_t)n > sizeof(line) - 3)
		n = (int)(sizeof(line) - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	if (c->wlen + (size_t)n > sizeof(c->wbuf))
		(void)conn_flush(c, net_deadline(30));
	memcpy(c->wbuf + c->wlen, line, (size_t)n);
	c->wlen += (size_t)n;
}

/* Read more input (compacting first). */
static enum lc_status fill(struct lconn *c, int64_t deadline)
{
	enum lc_status st;
	ssize_t n;

	if (c->off > 0) {
		memmove(c->rbuf, c->rbuf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->rbuf))
		return LC_LONG;
	/* Replies the client waits for go out before we wait for it. */
	if ((st = conn_flush(c, deadline)) != LC_OK)
		return st;
	for (;;) {
		if (c->tls == NULL || tls_pending(c->tls) == 0) {
			if ((st = wait_fd(c, POLLIN, deadline)) != LC_OK)
				return st;
		}
		if (c->tls != NULL) {
			n = tls_read(c->tls, c->rbuf + c->len, sizeof(c->rbuf) - c->len, deadline);
			if (n == -2)
				return LC_TIMEOUT;
			if (n == -1) {
				snprintf(c->err, sizeof c->err, "%s", tls_last_error(c->tls));
				return LC_ERROR;
			}
		} else {
			n = read(c->fd, c->rbuf + c->len, sizeof(c->rbuf) - c->len);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n == -1) {
				snprintf(c->err, sizeof c->err, "%s", strerror(errno));
				return LC_ERROR;
			}
		}
		if (n == 0)
			return LC_EOF;
		c->len += (size_t)n;
		return LC_OK;
	}
}

enum lc_status conn_need(struct lconn *c, size_t k, int64_t deadline)
{
	while (c->len - c->off < k) {
		enum lc_status st = fill(c, deadline);

		if (st != LC_OK)
			return st;
	}
	return LC_OK;
}

const char *conn_peek(const struct lconn *c, size_t *avail)
{
	*avail = c->len - c->off;
	return c->rbuf + c->off;
}

void conn_consume(struct lconn *c, size_t n)
{
	c->off += n;
}

size_t conn_discard(struct lconn *c)
{
	size_t n = c->len - c->off;

	c->off = c->len = 0;
	return n;
}

enum lc_status conn_read_line(struct lconn *c, char *line, size_t cap, size_t *len,
    int64_t deadline)
{
	size_t n = 0;
	bool toolong = false;

	for (;;) {
		const char *p = c->rbuf + c->off, *nl;
		size_t avail = c->len - c->off, take;

		nl = avail > 0 ? memchr(p, '\n', avail) : NULL;
		if (nl == NULL && avail < sizeof(c->rbuf) / 2) {
			enum lc_status st = fill(c, deadline);

			if (st != LC_OK)
				return st;
			continue;
		}
		take = nl != NULL ? (size_t)(nl - p) + 1 : avail;
		if (!toolong && n + take > cap)
			toolong = true;
		if (!toolong) {
			memcpy(line + n, p, take);
			n += take;
		}
		c->off += take;
		if (nl != NULL)
			break;
	}
	if (toolong)
		return LC_LONG;
	n--;			/* the LF */
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*len = n;
	return LC_OK;
}

int conn_start_tls(struct lconn *c, struct tls_server *srv, int64_t deadline, char *err,
    size_t errlen)
{
	if (conn_flush(c, deadline) != LC_OK) {
		snprintf(err, errlen, "%s", conn_error(c));
		return -1;
	}
	c->tls = tls_accept(srv, c->fd, deadline, err, errlen);
	return c->tls != NULL ? 0 : -1;
}
