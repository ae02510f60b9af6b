/* The DATA phase of the listener: see listen_data.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen_data.h"
#include "net.h"
#include "util.h"

#define LD_OUTBUF 65536

struct sink {
	int fd;
	char buf[LD_OUTBUF];
	size_t len;
	uint64_t total, cap;
	enum ld_result res;
	int werr;
};

static void sink_flush(struct sink *s)
{
	if (s->len > 0 && s->res == LD_OK && io_write_all(s->fd, s->buf, s->len) == -1) {
		s->werr = errno;
		s->res = LD_WRITE_FAILED;
	}
	s->len = 0;
}

/* Keep n bytes (unless already failed: then only count them away). */
static void sink_put(struct sink *s, const char *p, size_t n)
{
	if (s->res != LD_OK)
		return;
	if (s->cap > 0 && s->total + n > s->cap) {
		s->res = LD_TOO_BIG;
		return;
	}
	s->total += n;
	if (s->len + n > sizeof(s->buf))
		sink_flush(s);
	if (n >= sizeof(s->buf)) {
		if (s->res == LD_OK && io_write_all(s->fd, p, n) == -1) {
			s->werr = errno;
			s->res = LD_WRITE_FAILED;
		}
		return;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static int64_t wait_until(time_t block_secs, int64_t session_end)
{
	int64_t d = net_deadline(block_secs);

	return d < session_end ? d : session_end;
}

enum ld_result data_copy(struct lconn *c, int fd, uint64_t cap, time_t block_secs,
    int64_t session_end, enum lc_status *st, int *werr)
{
	struct sink *s = xcalloc(1, sizeof(*s));
	/* Where we are: at the start of a line, and was the line before it
	 * ended by CRLF (or is this the first line)? prev_cr: the last byte
	 * taken was CR. */
	bool bol = true, after_crlf = true, prev_cr = false;
	enum ld_result res;

	s->fd = fd;
	s->cap = cap;
	*st = LC_OK;
	for (;;) {
		const char *p, *nl;
		size_t avail, take;

		if ((*st = conn_need(c, 1, wait_until(block_secs, session_end))) != LC_OK)
			break;
		p = conn_peek(c, &avail);
		if (bol && p[0] == '.') {
			/* Decide on the whole dot line: wait for up to 3 bytes,
			 * no more (the client waits for our reply after ".\r\n"). */
			if ((*st = conn_need(c, 2, wait_until(block_secs, session_end))) != LC_OK)
				break;
			p = conn_peek(c, &avail);
			if (p[1] == '\r') {
				if ((*st = conn_need(c, 3, wait_until(block_secs, session_end))) !=
				    LC_OK)
					break;
				p = conn_peek(c, &avail);
			}
			if (p[1] == '\r' && p[2] == '\n' && after_crlf) {
				conn_consume(c, 3);	/* CRLF . CRLF: the end */
				break;
			}
			if (p[1] != '\n' && !(p[1] == '\r' && p[2] == '\n'))
				conn_consume(c, 1);	/* unstuff ".." and ".x" */
			/* else a lone "." that is not the end: keep it as text */
			bol = false;
			prev_cr = false;
			continue;
		}
		nl = memchr(p, '\n', avail);
		take = nl != NULL ? (size_t)(nl - p) + 1 : avail;
		if (nl != NULL) {
			after_crlf = take >= 2 ? p[take - 2] == '\r' : prev_cr;
			bol = true;
		} else {
			bol = false;
		}
		prev_cr = p[take - 1] == '\r';
		sink_put(s, p, take);
		conn_consume(c, take);
	}
	sink_flush(s);
	res = *st != LC_OK ? LD_CONN : s->res;
	*werr = s->werr;
	free(s);
	return res;
}

int data_tempfile(const char *dir)
{
	char path[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);

	if (fd != -1)
		return fd;
	if ((size_t)snprintf(path, sizeof(path), "%s/.listen.XXXXXX", dir) >= sizeof(path))
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd != -1)
		(void)unlink(path);
	return fd;
}
