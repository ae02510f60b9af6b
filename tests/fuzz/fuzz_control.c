/*
 * The control socket's protocol (relayd/control.c) on arbitrary client
 * bytes: any local user may connect to SPOOL/relayd.sock. The bytes are
 * written by a client connected to a real control socket in a private
 * directory, its end then shut for writing; relayd's side runs through
 * control_pollfds/poll/control_handle. Hooks answer fixed text. Checks:
 * relayd answers at most one request (one per connection) with lines that
 * start with OK or ERR (or the listing), and closes the connection within
 * a bounded number of rounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "fuzzlib.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct control *ctl;
static char dir[64];
static int requests;	/* hooks run for this input */

static void broken(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

static int h_flush(void *ctx, uid_t peer, char *err, size_t errlen)
{
	requests++;
	return 0;
}

static int h_list(void *ctx, bool json, bool all, uid_t peer, struct buf *out, char *err,
    size_t errlen)
{
	requests++;
	return buf_appends(out, json ? "{\"queue_id\":\"X\"}\n" : "Mail queue is empty\n");
}

static void h_admin(void *ctx, uid_t peer, enum qadmin_op op, const char *id, struct buf *out)
{
	requests++;
	buf_appendf(out, "MISSING %.16s\n", id);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct control_hooks h = { .flush = h_flush, .list = h_list, .admin = h_admin };
	char err[512];

	fuzz_mkdtemp(dir, sizeof dir, "control");
	if ((ctl = control_open(dir, &h, err, sizeof err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		broken("control_open");
	}
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd[64];
	char reply[8192];
	size_t got = 0, written = 0;
	int fd, round;
	bool eof = false;

	if (size > 4096)
		return 0;
	requests = 0;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/relayd.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		broken("connect");
	for (round = 0; round < 200 && !eof; round++) {
		size_t n = control_pollfds(ctl, pfd);
		ssize_t r;

		if (written < size) {
			r = write(fd, data + written, size - written);
			if (r > 0)
				written += (size_t)r;
			else if (r == -1 && errno == EPIPE)
				written = size;
			if (written == size)
				shutdown(fd, SHUT_WR);
		} else if (size == 0 && round == 0) {
			shutdown(fd, SHUT_WR);
		}
		(void)poll(pfd, n, 10);
		control_handle(ctl, pfd, n);
		while ((r = read(fd, reply + got, sizeof reply - 1 - got)) > 0)
			got += (size_t)r;
		if (r == 0)
			eof = true;
		if (got == sizeof reply - 1)
			broken("reply larger than any answer to one request");
	}
	close(fd);
	if (!eof)
		broken("relayd did not close the connection");
	if (requests > 1)
		broken("more than one request run on one connection");
	reply[got] = '\0';
	if (got > 0 && strncmp(reply, "OK", 2) != 0 && strncmp(reply, "ERR", 3) != 0 &&
	    strncmp(reply, "MISSING", 7) != 0 && strncmp(reply, "Mail queue", 10) != 0 &&
	    strncmp(reply, "{", 1) != 0)
		broken("a reply line that is neither OK, ERR nor the listing");
	/* Let relayd drop the closed client before the next input. */
	for (round = 0; round < 3; round++) {
		size_t n = control_pollfds(ctl, pfd);

		(void)poll(pfd, n, 0);
		control_handle(ctl, pfd, n);
	}
	return 0;
}
