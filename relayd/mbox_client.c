/* The parent's side of the mailbox process: see mbox_client.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "mbox_client.h"
#include "util.h"

/* Jobs whose preparation fails are skipped; at most this many per tick. */
#define MC_TICK_MAX 16

struct mc_job {
	struct mbox_job j;
	double next_try;	/* monotonic */
	long delay;		/* the last backoff, seconds (0: never locked) */
};

struct mbox_client {
	int fd;
	pid_t pid;
	const struct conf *c;
	bool once;
	struct mbox_client_ops ops;
	struct mc_job *v;
	size_t n, cap;
	bool inflight;
	struct mc_job cur;	/* the job in flight */
	uint32_t seq;
};

struct mbox_client *mbox_client_new(int fd, pid_t pid, const struct conf *c, bool once)
{
	struct mbox_client *mc = xcalloc(1, sizeof(*mc));

	mc->fd = fd;
	mc->pid = pid;
	mc->c = c;
	mc->once = once;
	return mc;
}

void mbox_client_set_ops(struct mbox_client *mc, const struct mbox_client_ops *ops)
{
	mc->ops = *ops;
}

void mbox_client_free(struct mbox_client *mc)
{
	if (mc == NULL)
		return;
	if (mc->fd != -1)
		close(mc->fd);	/* the process exits at end of file */
	free(mc->v);
	free(mc);
}

static void push(struct mbox_client *mc, const struct mc_job *j)
{
	if (mc->n == mc->cap) {
		mc->cap = mc->cap ? mc->cap * 2 : 16;
		mc->v = xreallocarray(mc->v, mc->cap, sizeof(*mc->v));
	}
	mc->v[mc->n++] = *j;
}

static bool same(const struct mbox_job *a, const char *id, int kind)
{
	return a->kind == kind && strcmp(a->id, id) == 0;
}

bool mbox_client_want(struct mbox_client *mc, const char *id, int kind, uid_t uid)
{
	struct mc_job j;
	size_t i;

	if (mc == NULL || mc->fd == -1)
		return false;
	if (mc->inflight && same(&mc->cur.j, id, kind))
		return true;
	for (i = 0; i < mc->n; i++)
		if (same(&mc->v[i].j, id, kind))
			return true;
	memset(&j, 0, sizeof j);
	strlcpy(j.j.id, id, sizeof j.j.id);
	j.j.kind = kind;
	j.j.uid = uid;
	/* Behind a held-back job of the same uid: its mailbox is locked. */
	for (i = 0; i < mc->n; i++)
		if (mc->v[i].j.uid == uid && mc->v[i].next_try > j.next_try)
			j.next_try = mc->v[i].next_try;
	push(mc, &j);
	return true;
}

int mbox_client_fd(const struct mbox_client *mc)
{
	return mc != NULL ? mc->fd : -1;
}

/* The process is gone: every job is answered so, none is kept. */
static void gone(struct mbox_client *mc, const char *why)
{
	size_t i;

	if (mc->fd == -1)
		return;
	log_warnx("the mailbox process %s: reports to local mailboxes (bounce_local = mbox) "
		  "stay queued until relayd restarts", why);
	close(mc->fd);
	mc->fd = -1;
	if (mc->inflight) {
		mc->inflight = false;
		mc->ops.done(mc->ops.arg, &mc->cur.j, MBOX_PROC_LOCKED, "the mailbox process is gone");
	}
	for (i = 0; i < mc->n; i++)
		mc->ops.done(mc->ops.arg, &mc->v[i].j, MBOX_PROC_LOCKED,
		    "the mailbox process is gone");
	mc->n = 0;
}

static int send_req(struct mbox_client *mc, struct mbox_proc_req *rq, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { rq, sizeof(*rq) };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&u, 0, sizeof u);
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof u.buf;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	do
		n = sendmsg(mc->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)sizeof(*rq) ? 0 : -1;
}

void mbox_client_tick(struct mbox_client *mc)
{
	double now = time_monotonic();
	unsigned tries;
	size_t i;

	for (tries = 0; tries < MC_TICK_MAX && mc != NULL && mc->fd != -1 && !mc->inflight;
	    tries++) {
		struct mbox_proc_req rq;
		struct mc_job j;
		int fd = -1;

		for (i = 0; i < mc->n && mc->v[i].next_try > now; i++)
			;
		if (i == mc->n)
			return;
		j = mc->v[i];
		memmove(mc->v + i, mc->v + i + 1, (mc->n - i - 1) * sizeof(*mc->v));
		mc->n--;
		memset(&rq, 0, sizeof rq);
		if (mc->ops.prepare(mc->ops.arg, &j.j, &rq, &fd) == -1)
			continue;
		rq.magic = MBOX_PROC_MAGIC;
		rq.seq = ++mc->seq;
		mc->cur = j;
		mc->inflight = true;
		if (send_req(mc, &rq, fd) == -1) {
			int e = errno;

			close(fd);
			gone(mc, e == EPIPE || e == ECONNRESET ? "is gone" : "cannot be reached");
			return;
		}
		close(fd);
	}
}

/* A job answered LOCKED and kept: back in the queue after a backoff, and
 * the other jobs of its uid with it. */
static void hold(struct mbox_client *mc, struct mc_job *j)
{
	long lo = mc->c->retry_min > 0 ? (long)mc->c->retry_min : 1;
	long hi = mc->c->retry_max > lo ? (long)mc->c->retry_max : lo;
	size_t i;

	j->delay = j->delay == 0 ? lo : j->delay * 2 > hi ? hi : j->delay * 2;
	j->next_try = time_monotonic() + (double)j->delay;
	for (i = 0; i < mc->n; i++)
		if (mc->v[i].j.uid == j->j.uid && mc->v[i].next_try < j->next_try)
			mc->v[i].next_try = j->next_try;
	push(mc, j);
}

void mbox_client_read(struct mbox_client *mc)
{
	struct mbox_proc_rep rp;
	struct mc_job j;
	ssize_t n;

	if (mc == NULL || mc->fd == -1)
		return;
	do
		n = recv(mc->fd, &rp, sizeof rp, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		gone(mc, "is gone");
		return;
	}
	if ((size_t)n != sizeof rp || rp.magic != MBOX_PROC_MAGIC || !mc->inflight ||
	    rp.seq != mc->seq || rp.result < MBOX_PROC_OK || rp.result > MBOX_PROC_FAILED) {
		/* Not our protocol: trust it no further. */
		gone(mc, "sent a malformed answer");
		if (mc->pid > 0)
			kill(mc->pid, SIGKILL);
		return;
	}
	rp.err[sizeof rp.err - 1] = '\0';
	j = mc->cur;
	mc->inflight = false;
	if (mc->ops.done(mc->ops.arg, &j.j, (enum mbox_proc_result)rp.result, rp.err) &&
	    rp.result == MBOX_PROC_LOCKED && !mc->once)
		hold(mc, &j);
}

double mbox_client_due(const struct mbox_client *mc)
{
	double t = 0;
	size_t i;

	if (mc == NULL || mc->fd == -1 || mc->inflight)
		return 0;
	for (i = 0; i < mc->n; i++)
		if (t == 0 || mc->v[i].next_try < t)
			t = mc->v[i].next_try;
	return t;
}

bool mbox_client_has(const struct mbox_client *mc, const char *id)
{
	size_t i;

	if (mc == NULL)
		return false;
	if (mbox_client_sending(mc, id))
		return true;
	for (i = 0; i < mc->n; i++)
		if (strcmp(mc->v[i].j.id, id) == 0)
			return true;
	return false;
}

bool mbox_client_sending(const struct mbox_client *mc, const char *id)
{
	return mc != NULL && mc->inflight && strcmp(mc->cur.j.id, id) == 0;
}

bool mbox_client_busy(const struct mbox_client *mc)
{
	return mc != NULL && (mc->inflight || (mc->once && mc->fd != -1 && mc->n > 0));
}

bool mbox_client_reaped(struct mbox_client *mc, pid_t pid, int status)
{
	if (mc == NULL || pid != mc->pid || pid <= 0)
		return false;
	if (WIFSIGNALED(status))
		log_warnx("the mailbox process (pid %ld) was killed by signal %d", (long)pid,
		    WTERMSIG(status));
	else if (mc->fd != -1)
		log_warnx("the mailbox process (pid %ld) exited with status %d", (long)pid,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	mc->pid = -1;
	gone(mc, "exited");
	return true;
}
