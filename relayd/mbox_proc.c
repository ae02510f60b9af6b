/* The mailbox process: see mbox_proc.h. */
#include <errno.h>
#include <paths.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "confine.h"
#include "log.h"
#include "mbox.h"
#include "mbox_proc.h"
#include "priv_drop.h"
#include "util.h"

bool mbox_proc_user_ok(const char *name)
{
	const char *p;

	if (name == NULL || name[0] == '\0' || name[0] == '.' || name[0] == '-')
		return false;
	for (p = name; *p != '\0'; p++)
		if (*p == '/' || (unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return p - name < MBOX_PROC_USER_MAX;
}

/* One request: its fixed record and exactly one descriptor. -1 at end of
 * file (the parent is gone), 0 with *fd set, 1 malformed (dropped). */
static int read_req(int sock, struct mbox_proc_req *rq, int *fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct iovec iov = { rq, sizeof(*rq) };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;
	int bad = 0;

	*fd = -1;
	memset(rq, 0, sizeof(*rq));
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof u.buf;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t i, nfd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
			if (*fd == -1)
				*fd = f;
			else {
				close(f);
				bad = 1;
			}
		}
	}
	if ((size_t)n != sizeof(*rq) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
	    rq->magic != MBOX_PROC_MAGIC || *fd == -1 ||
	    memchr(rq->user, '\0', sizeof rq->user) == NULL)
		bad = 1;
	if (bad && *fd != -1) {
		close(*fd);
		*fd = -1;
	}
	return bad;
}

static void reply(int sock, uint32_t seq, enum mbox_proc_result res, const char *err)
{
	struct mbox_proc_rep rp;

	memset(&rp, 0, sizeof rp);
	rp.magic = MBOX_PROC_MAGIC;
	rp.seq = seq;
	rp.result = (int32_t)res;
	if (err != NULL)
		strlcpy(rp.err, err, sizeof rp.err);
	while (send(sock, &rp, sizeof rp, MSG_NOSIGNAL) == -1) {
		if (errno != EINTR)
			_exit(0);	/* the parent is gone */
	}
}

static noreturn void serve(int sock)
{
	struct mbox_proc_req rq;
	char path[4096], err[MBOX_PROC_ERR_MAX];

	for (;;) {
		bool locked = false;
		int fd, r = read_req(sock, &rq, &fd);

		if (r == -1)
			_exit(0);
		if (r == 1) {
			/* The parent speaks this protocol only: a broken record
			 * is a bug there; say so and keep serving. */
			log_warnx("mailbox process: malformed request dropped");
			reply(sock, rq.seq, MBOX_PROC_FAILED, "malformed request");
			continue;
		}
		if (!mbox_proc_user_ok(rq.user)) {
			reply(sock, rq.seq, MBOX_PROC_FAILED, "unusable user name");
			close(fd);
			continue;
		}
		if ((size_t)snprintf(path, sizeof path, "%s/%s", _PATH_MAILDIR, rq.user) >=
		    sizeof path) {
			reply(sock, rq.seq, MBOX_PROC_FAILED, "mailbox path too long");
			close(fd);
			continue;
		}
		err[0] = '\0';
		if (mbox_deliver_try(path, (uid_t)rq.uid, "", (time_t)rq.when, fd, 0, rq.size,
		    MBOX_PROC_WAIT_MS, &locked, err, sizeof err) == 0)
			reply(sock, rq.seq, MBOX_PROC_OK, NULL);
		else
			reply(sock, rq.seq, locked ? MBOX_PROC_LOCKED : MBOX_PROC_FAILED, err);
		close(fd);
	}
}

/*
 * Nothing open but stdio and our socket: not what relayd was started with
 * (systemd's listening sockets, anything a caller leaked). The syslog
 * connection is closed with the rest and made again.
 */
static void close_others(int sock)
{
	bool to_stderr = log_is_stderr();
	int fd;

	if (!to_stderr)
		closelog();
	if ((sock > 3 && close_range(3, (unsigned)sock - 1, 0) == -1) ||
	    close_range((unsigned)sock + 1, ~0U, 0) == -1) {
		for (fd = 3; fd < 1024; fd++)
			if (fd != sock)
				(void)close(fd);
	}
	log_init(MBOX_PROC_LOG_IDENT, to_stderr);
}

int mbox_proc_start(const struct conf *c, uid_t uid, gid_t gid, bool drop, pid_t *pidp)
{
	int sock;
	pid_t pid = child_fork(&sock);

	if (pid == -1)
		log_fatalx(EX_OSERR, "cannot start the mailbox process");
	if (pid > 0) {
		*pidp = pid;
		return sock;
	}
	/* The parent (and a supervisor signalling the group) do not stop us:
	 * the end of the parent's socket does. */
	close_others(sock);
	child_ignore_signals();
	signal(SIGCHLD, SIG_DFL);
	/* ps and /proc/PID/comm tell it from the resident relayd. */
	(void)prctl(PR_SET_NAME, MBOX_PROC_NAME, 0, 0, 0);
	if (drop)
		priv_drop(uid, gid, true);
	else
		priv_drop_caps();	/* a unit's CAP_SETGID is the parent's to use */
	priv_no_core_dumps();
	/* The From_ line's local time: zoneinfo read now, not under Landlock. */
	tzset();
	confine_mbox(c);
	serve(sock);
}
