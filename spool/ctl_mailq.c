/* The client side of relayd's control socket: see ctl_mailq.h. */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl_mailq.h"
#include "ctl_proto.h"
#include "spool_qlist.h"
#include "spool.h"
#include "util.h"

/* relayd answers at once; a minute covers a huge queue listing. */
#define LIST_MAX (256 * 1024 * 1024)
#define CTL_TIMEOUT_SEC 60

static int ctl_connect(const char *spool, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct timeval tv = { CTL_TIMEOUT_SEC, 0 };
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (spool_path(sa.sun_path, sizeof(sa.sun_path), spool, SPOOL_SOCKET) != 0) {
		snprintf(err, errlen, "%s/%s: path too long for a socket", spool, SPOOL_SOCKET);
		return -EX_OSERR;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -EX_OSERR;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED || e == ENOTSOCK) {
			snprintf(err, errlen, "relayd is not running (nothing listens on %s)",
			    sa.sun_path);
			return -EX_UNAVAILABLE;
		}
		snprintf(err, errlen, "cannot connect to %s: %s", sa.sun_path, strerror(e));
		return e == EACCES ? -EX_NOPERM : -EX_OSERR;
	}
	return fd;
}

/* Connect and send one command line, then half-close. The descriptor, or
 * minus a sysexits code with err set. */
static int ctl_send(const char *spool, const char *cmd, char *err, size_t errlen)
{
	int fd;

	/* relayd would answer "ERR line too long": a bug of ours, not the user's. */
	if (strlen(cmd) + 1 > CTL_LINE_MAX) {
		snprintf(err, errlen, "control request too long (over %d bytes)", CTL_LINE_MAX);
		return -EX_SOFTWARE;
	}
	if ((fd = ctl_connect(spool, err, errlen)) < 0)
		return fd;
	if (io_write_all(fd, cmd, strlen(cmd)) != 0 || io_write_all(fd, "\n", 1) != 0) {
		snprintf(err, errlen, "cannot talk to relayd: %s", strerror(errno));
		close(fd);
		return -EX_IOERR;
	}
	shutdown(fd, SHUT_WR);
	return fd;
}

/* One read of relayd's answer: bytes, 0 at the end, -1 with err set. */
static ssize_t ctl_read(int fd, void *p, size_t n, char *err, size_t errlen)
{
	for (;;) {
		ssize_t r = read(fd, p, n);

		if (r >= 0)
			return r;
		if (errno != EINTR) {
			snprintf(err, errlen, "cannot read relayd's answer: %s",
			    errno == EAGAIN ? "timed out" : strerror(errno));
			return -1;
		}
	}
}

int ctl_request(const char *spool, const char *cmd, int copy_fd, char *reply, size_t replylen,
    char *err, size_t errlen)
{
	char buf[65536], line[1024];
	size_t ll = 0;
	bool got_line = false, first = true;
	int fd = ctl_send(spool, cmd, err, errlen), rc = 0;

	if (fd < 0)
		return -fd;
	for (;;) {
		ssize_t n = ctl_read(fd, buf, sizeof(buf), err, errlen);

		if (n < 0) {
			rc = EX_IOERR;
			break;
		}
		if (n == 0)
			break;
		if (copy_fd >= 0 && first && (size_t)n >= sizeof(CTL_ERR) - 1 &&
		    CTL_IS(buf, CTL_ERR)) {
			/* relayd refused: say so instead of printing it as a listing. */
			const char *nl = memchr(buf, '\n', (size_t)n);
			int l = nl != NULL ? (int)(nl - buf) : (int)n;

			snprintf(err, errlen, "relayd: %.*s", l, buf);
			rc = EX_UNAVAILABLE;
			break;
		}
		first = false;
		if (copy_fd >= 0) {
			if (io_write_all(copy_fd, buf, (size_t)n) != 0) {
				snprintf(err, errlen, "write error: %s", strerror(errno));
				rc = EX_IOERR;
				break;
			}
			continue;
		}
		for (ssize_t i = 0; i < n && !got_line; i++) {
			if (buf[i] == '\n')
				got_line = true;
			else if (ll + 1 < sizeof(line))
				line[ll++] = buf[i];
		}
		if (got_line)
			break;
	}
	close(fd);
	if (copy_fd < 0 && reply != NULL && replylen > 0) {
		line[ll] = '\0';
		snprintf(reply, replylen, "%s", line);
		if (rc == 0 && ll == 0 && !got_line) {
			snprintf(err, errlen, "relayd closed the connection without an answer");
			rc = EX_IOERR;
		}
	}
	return rc;
}

int ctl_request_buf(const char *spool, const char *cmd, struct buf *out, char *err,
    size_t errlen)
{
	char chunk[8192];
	int fd = ctl_send(spool, cmd, err, errlen), rc = 0;

	if (fd < 0)
		return -fd;
	for (;;) {
		ssize_t n = ctl_read(fd, chunk, sizeof(chunk), err, errlen);

		if (n < 0) {
			rc = EX_IOERR;
			break;
		}
		if (n == 0)
			break;
		if (buf_append(out, chunk, (size_t)n) != 0) {
			snprintf(err, errlen, "relayd's answer is too long");
			rc = EX_IOERR;
			break;
		}
	}
	close(fd);
	return rc;
}

/* relayd is not running: read queue/ and failed/ ourselves. Only root and
 * the relay user can (both are mode 0700), and they see everything. */
static int list_direct(const char *spool, bool json, int out_fd, char *err, size_t errlen)
{
	struct qlist_opts o = { .json = json, .all = true };
	char path[4096];
	struct buf b;
	int q, f, rc = 0;

	if (spool_path(path, sizeof(path), spool, SPOOL_QUEUE) != 0) {
		snprintf(err, errlen, "%s: path too long", spool);
		return EX_OSFILE;
	}
	q = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q == -1) {
		if (errno == EACCES || errno == EPERM) {
			snprintf(err, errlen, "%s", MAILQ_NO_DAEMON);
			return EX_UNAVAILABLE;
		}
		snprintf(err, errlen, "relayd is not running and %s cannot be read: %s", path,
		    strerror(errno));
		return errno == ENOENT ? EX_OSFILE : EX_OSERR;
	}
	f = -1;
	if (spool_path(path, sizeof(path), spool, SPOOL_FAILED) == 0)
		f = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	buf_init(&b, LIST_MAX);
	if (qlist_format(q, f, &o, &b, err, errlen) == -1)
		rc = EX_OSERR;
	else if (io_write_all(out_fd, b.data, b.len) != 0) {
		snprintf(err, errlen, "write error: %s", strerror(errno));
		rc = EX_IOERR;
	}
	buf_free(&b);
	close(q);
	if (f != -1)
		close(f);
	return rc;
}

int mailq_list(const char *spool, bool json, int out_fd, char *err, size_t errlen)
{
	int rc = ctl_request(spool, json ? CTL_LIST " " CTL_ARG_JSON : CTL_LIST, out_fd, NULL, 0,
	    err, errlen);

	if (rc == EX_UNAVAILABLE && strncmp(err, "relayd is not running", 21) == 0)
		return list_direct(spool, json, out_fd, err, errlen);
	return rc;
}
