/*
 * The operator's queue tools (qadmin.h): the file operations, shared by the
 * daemon (control socket) and by relayd --OP with the daemon stopped, and
 * the client that picks between the two.
 *
 * Crash safety of each operation (SPEC §5.6: never lose a message):
 *   delete   ID.env first, then ID.msg: a crash leaves an orphan ID.msg,
 *            which start-up removes (queue/) or the next delete does.
 *   hold, release, retry
 *            one qmsg_commit (atomic replace of ID.env).
 *   requeue  write queue/ID.env, move ID.msg failed/ → queue/, unlink
 *            failed/ID.env, each step fsynced. A crash after the first step
 *            leaves queue/ID.env without its message while failed/ still has
 *            both: start-up "finishes the move into failed/", so the message
 *            stays failed (the operator requeues again). After the second,
 *            queue/ holds the message and failed/ a stale ID.env, which
 *            mailq and ALL ignore while queue/ has the id.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ctl_mailq.h"
#include "priv_drop.h"
#include "qadmin.h"
#include "queue_index.h"
#include "queue.h"
#include "spool.h"
#include "spool_lock.h"

/* How long the client keeps asking while a worker holds a message. */
#define BUSY_WAIT_SECONDS 60

static const struct {
	const char *cmd, *flag, *done;
} ops[] = {
	[QA_DELETE] = { "DELETE", "--delete", "removed" },
	[QA_HOLD] = { "HOLD", "--hold", "held" },
	[QA_RELEASE] = { "RELEASE", "--release", "released" },
	[QA_RETRY] = { "RETRY", "--retry", "will be retried now" },
	[QA_REQUEUE] = { "REQUEUE", "--requeue", "requeued" },
};

int qadmin_op_parse(const char *s, enum qadmin_op *op)
{
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(ops); i++) {
		if (strcmp(s, ops[i].cmd) == 0) {
			*op = (enum qadmin_op)i;
			return 0;
		}
	}
	return -1;
}

const char *qadmin_op_cmd(enum qadmin_op op)
{
	return ops[op].cmd;
}

const char *qadmin_op_done(enum qadmin_op op)
{
	return ops[op].done;
}

static bool has(int dir, const char *id, const char *suffix)
{
	char name[32];
	struct stat st;

	snprintf(name, sizeof name, "%s%s", id, suffix);
	return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Unlink ID.env then ID.msg in dir. */
static enum qadmin_result remove_files(int dir, const char *id, char *err, size_t errlen)
{
	char name[32];

	snprintf(name, sizeof name, "%s.env", id);
	if (unlinkat(dir, name, 0) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", name, strerror(errno));
		return QA_REFUSED;
	}
	fsync(dir);
	snprintf(name, sizeof name, "%s.msg", id);
	if (unlinkat(dir, name, 0) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", name, strerror(errno));
		return QA_REFUSED;
	}
	fsync(dir);
	return QA_DONE;
}

/* hold, release, retry: edit queue/ID.env. */
static enum qadmin_result edit(const struct spool_dirs *d, enum qadmin_op op, const char *id,
    struct qadmin_after *after, char *err, size_t errlen)
{
	char why[512];
	struct qmsg m;

	if (qmsg_load(d->queue, id, &m, why, sizeof why) == -1) {
		snprintf(err, errlen, "cannot read its state file: %s", why);
		return QA_REFUSED;
	}
	if (op == QA_RETRY && m.held) {
		snprintf(err, errlen, "is on hold (release it first)");
		qmsg_free(&m);
		return QA_REFUSED;
	}
	if (op == QA_HOLD)
		m.held = true;
	else if (op == QA_RELEASE)
		m.held = false;
	else
		m.next = 0;
	if (qmsg_commit(d->queue, &m, why, sizeof why) == -1) {
		snprintf(err, errlen, "%s", why);
		qmsg_free(&m);
		return QA_REFUSED;
	}
	after->queued = !m.held;
	after->arrival = m.arrival;
	after->next = m.next;
	qmsg_free(&m);
	return QA_DONE;
}

/* failed/ID → queue/ID with its failed recipients pending again. */
static enum qadmin_result requeue(const struct spool_dirs *d, const char *id,
    struct qadmin_after *after, char *err, size_t errlen)
{
	char name[32], why[512];
	struct qmsg m;
	size_t i;

	if (qmsg_load(d->failed, id, &m, why, sizeof why) == -1) {
		snprintf(err, errlen, "cannot read its state file: %s", why);
		return QA_REFUSED;
	}
	if (!has(d->failed, id, ".msg")) {
		snprintf(err, errlen, "failed/%s.msg is missing", id);
		qmsg_free(&m);
		return QA_REFUSED;
	}
	for (i = 0; i < m.env.nrcpts; i++) {
		if (m.rcpts[i].state == RCPT_FAILED)
			qmsg_set_reply(&m, i, RCPT_PENDING, 0, NULL, NULL, NULL);
	}
	m.tries = 0;
	m.next = 0;
	m.last_attempt = 0;
	m.held = false;
	m.warned = false;
	snprintf(name, sizeof name, "%s.msg", id);
	if (qmsg_commit(d->queue, &m, why, sizeof why) == -1) {
		snprintf(err, errlen, "%s", why);
		qmsg_free(&m);
		return QA_REFUSED;
	}
	if (renameat(d->failed, name, d->queue, name) == -1) {
		snprintf(err, errlen, "move %s into queue/: %s", name, strerror(errno));
		/* Take back the state file: the message stays in failed/. */
		snprintf(name, sizeof name, "%s.env", id);
		unlinkat(d->queue, name, 0);
		fsync(d->queue);
		qmsg_free(&m);
		return QA_REFUSED;
	}
	fsync(d->queue);
	fsync(d->failed);
	snprintf(name, sizeof name, "%s.env", id);
	if (unlinkat(d->failed, name, 0) == -1 && errno != ENOENT)
		log_warn("%s: cannot remove failed/%s", id, name);
	fsync(d->failed);
	after->queued = true;
	after->arrival = m.arrival;
	after->next = 0;
	qmsg_free(&m);
	return QA_DONE;
}

enum qadmin_result qadmin_apply(const struct spool_dirs *d, enum qadmin_op op, const char *id,
    struct qadmin_after *after, char *err, size_t errlen)
{
	bool inq, inf;
	enum qadmin_result r;

	memset(after, 0, sizeof(*after));
	err[0] = '\0';
	if (!queue_id_valid(id))
		return QA_MISSING;
	inq = has(d->queue, id, ".env");
	inf = !inq && has(d->failed, id, ".env");
	if (!inq && !inf) {
		/* A stray message file (a crash mid-delete) counts as found. */
		if (op != QA_DELETE || (!has(d->queue, id, ".msg") && !has(d->failed, id, ".msg")))
			return QA_MISSING;
	}
	switch (op) {
	case QA_DELETE:
		r = remove_files(d->queue, id, err, errlen);
		if (r == QA_DONE)
			r = remove_files(d->failed, id, err, errlen);
		break;
	case QA_REQUEUE:
		if (inq) {
			snprintf(err, errlen, "is in the queue, not in failed/");
			return QA_REFUSED;
		}
		r = requeue(d, id, after, err, errlen);
		break;
	default:
		if (inf) {
			snprintf(err, errlen, "is in failed/ (use --requeue or --delete)");
			return QA_REFUSED;
		}
		r = edit(d, op, id, after, err, errlen);
		break;
	}
	if (r == QA_DONE)
		log_info("%s: %s", id, ops[op].done);
	return r;
}

static void add_dir(int dir, char (**ids)[17], size_t *n, size_t *cap)
{
	struct dirent *de;
	size_t i;
	DIR *dp;
	int fd;

	fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		char id[17];

		if (strlen(de->d_name) != 16 + 4 || strcmp(de->d_name + 16, ".env") != 0)
			continue;
		memcpy(id, de->d_name, 16);
		id[16] = '\0';
		if (!queue_id_valid(id))
			continue;
		for (i = 0; i < *n && strcmp((*ids)[i], id) != 0; i++)
			;
		if (i < *n)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*ids = xreallocarray(*ids, *cap, sizeof(**ids));
		}
		memcpy((*ids)[(*n)++], id, 17);
	}
	closedir(dp);
}

size_t qadmin_all(const struct spool_dirs *d, enum qadmin_op op, char (**ids)[17])
{
	size_t n = 0, cap = 0, i, k;

	*ids = NULL;
	if (op != QA_REQUEUE)
		add_dir(d->queue, ids, &n, &cap);
	if (op == QA_DELETE || op == QA_REQUEUE) {
		add_dir(d->failed, ids, &n, &cap);
		if (op == QA_REQUEUE) {
			/* Skip a stale failed/ID.env whose message is back in queue/. */
			for (i = k = 0; i < n; i++) {
				if (!has(d->queue, (*ids)[i], ".env"))
					memcpy((*ids)[k++], (*ids)[i], 17);
			}
			n = k;
		}
	}
	return n;
}

/* ---- the client: relayd --OP ---- */

/* May this user change the queue? root, the relay user, or (relayd run by
 * an ordinary user on a laptop) the owner of the spool. */
static bool may_admin(const struct conf *c)
{
	uid_t uid = geteuid();
	struct passwd *pw;
	struct stat st;

	if (uid == 0)
		return true;
	pw = getpwnam(c->user);
	if (pw != NULL && pw->pw_uid == uid)
		return true;
	return stat(c->spool, &st) == 0 && st.st_uid == uid;
}

struct tally {
	size_t missing, refused;
	char missing_ids[512];
};

static void note_missing(struct tally *t, const char *id)
{
	t->missing++;
	if (t->missing_ids[0] != '\0')
		strlcat(t->missing_ids, " ", sizeof t->missing_ids);
	strlcat(t->missing_ids, id, sizeof t->missing_ids);
}

/* One reply line of the daemon. Returns true if the id was BUSY. */
static bool reply_line(enum qadmin_op op, const char *line, struct tally *t)
{
	const char *id = strchr(line, ' ');

	if (id == NULL) {
		fprintf(stderr, "relayd: unexpected answer from relayd: %s\n", line);
		t->refused++;
		return false;
	}
	id++;
	if (strncmp(line, "OK ", 3) == 0) {
		printf("%s: %s\n", id, ops[op].done);
	} else if (strncmp(line, "MISSING ", 8) == 0) {
		note_missing(t, id);
	} else if (strncmp(line, "BUSY ", 5) == 0) {
		return true;
	} else if (strncmp(line, "FAIL ", 5) == 0) {
		fprintf(stderr, "relayd: %.16s:%s\n", id, id + strnlen(id, 16));
		t->refused++;
	} else {
		fprintf(stderr, "relayd: unexpected answer from relayd: %s\n", line);
		t->refused++;
	}
	return false;
}

/* Send "OP id" (id may be ALL). Busy ids are appended to busy (up to
 * *nbusy_cap). 0, or a sysexits code with err (EX_UNAVAILABLE: relayd is
 * not running). */
static int ask_once(const struct conf *c, enum qadmin_op op, const char *id, struct tally *t,
    char (*busy)[17], size_t *nbusy, size_t busycap, char *err, size_t errlen)
{
	char cmd[64], *line, *nl;
	struct buf b;
	int rc;

	snprintf(cmd, sizeof cmd, "%s %s", ops[op].cmd, id);
	buf_init(&b, 16 * 1024 * 1024);
	rc = ctl_request_buf(c->spool, cmd, &b, err, errlen);
	if (rc == 0 && b.len >= 4 && strncmp(b.data, "ERR ", 4) == 0) {
		nl = strchr(b.data, '\n');
		if (nl != NULL)
			*nl = '\0';
		snprintf(err, errlen, "relayd refused: %s", b.data + 4);
		rc = strstr(b.data, "permission denied") != NULL ? EX_NOPERM : EX_SOFTWARE;
	}
	for (line = b.data; rc == 0 && line != NULL && *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (reply_line(op, line, t) && *nbusy < busycap)
			strlcpy(busy[(*nbusy)++], line + 5, 17);
	}
	buf_free(&b);
	return rc;
}

/* Ask the daemon about one id (or ALL); ask again for those a worker
 * holds until its attempt is over. */
static int ask_daemon(const struct conf *c, enum qadmin_op op, const char *id, struct tally *t,
    char *err, size_t errlen)
{
	double give_up = time_monotonic() + BUSY_WAIT_SECONDS;
	char busy[64][17], again[64][17];
	size_t nbusy = 0, nagain, i;
	int rc;

	rc = ask_once(c, op, id, t, busy, &nbusy, NR_ARRAY_LEN(busy), err, errlen);
	while (rc == 0 && nbusy > 0) {
		if (time_monotonic() > give_up) {
			for (i = 0; i < nbusy; i++)
				fprintf(stderr, "relayd: %s: still being delivered; try again later\n",
				    busy[i]);
			t->refused += nbusy;
			break;
		}
		/* A worker's attempt ends within the SMTP timeouts. */
		usleep(300 * 1000);
		memcpy(again, busy, sizeof busy);
		nagain = nbusy;
		nbusy = 0;
		for (i = 0; i < nagain && rc == 0; i++)
			rc = ask_once(c, op, again[i], t, busy, &nbusy, NR_ARRAY_LEN(busy), err,
			    errlen);
	}
	return rc;
}

static void direct_one(const struct spool_dirs *d, enum qadmin_op op, const char *id,
    struct tally *t)
{
	struct qadmin_after after;
	char err[600];

	switch (qadmin_apply(d, op, id, &after, err, sizeof err)) {
	case QA_DONE:
		printf("%s: %s\n", id, ops[op].done);
		break;
	case QA_MISSING:
		note_missing(t, id);
		break;
	case QA_REFUSED:
		fprintf(stderr, "relayd: %s: %s\n", id, err);
		t->refused++;
		break;
	}
}

static int direct(const struct conf *c, enum qadmin_op op, char **ids, size_t nids,
    struct tally *t)
{
	struct spool_dirs d;
	char err[600];
	size_t i, k;
	int lockfd, r;

	/* Root acts on the files as the relay user, who owns them: nothing
	 * that user could have put in the spool (a symlink in place of
	 * queue/ or incoming/new) is followed with root's rights (issue 14). */
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(c->user);

		if (pw == NULL || pw->pw_uid == 0) {
			fprintf(stderr, "relayd: %s: the relay user \"%s\" %s\n", ops[op].flag,
			    c->user, pw == NULL ? "does not exist" : "is root");
			return EX_CONFIG;
		}
		fflush(stdout);
		priv_drop(pw->pw_uid, pw->pw_gid, false);
	}
	/* No daemon answered, but one may be starting, or a dead one's
	 * workers still finishing: never edit under them. */
	if ((lockfd = spool_lock_open(c->spool, err, sizeof err)) == -1) {
		fprintf(stderr, "relayd: %s: %s\n", ops[op].flag, err);
		return errno == EACCES ? EX_NOPERM : EX_OSFILE;
	}
	if ((r = spool_lock_try(&lockfd, c->spool)) != 0) {
		if (r == 1)
			fprintf(stderr, "relayd: %s: relayd is busy on this spool; try again\n",
			    ops[op].flag);
		else
			fprintf(stderr, "relayd: %s: flock %s/%s: %s\n", ops[op].flag, c->spool,
			    SPOOL_LOCK, strerror(errno));
		close(lockfd);
		return r == 1 ? EX_TEMPFAIL : EX_OSERR;
	}
	if (pickup_dirs_open(c->spool, &d, err, sizeof err) == -1) {
		r = errno;
		fprintf(stderr, "relayd: %s: %s\n", ops[op].flag, err);
		close(lockfd);
		return r == EACCES ? EX_NOPERM : EX_OSFILE;
	}
	/* relayd's start-up index would not know of these changes. */
	queue_index_drop(d.queue);
	for (i = 0; i < nids; i++) {
		if (strcmp(ids[i], "ALL") == 0) {
			char (*all)[17];
			size_t n = qadmin_all(&d, op, &all);

			for (k = 0; k < n; k++)
				direct_one(&d, op, all[k], t);
			free(all);
		} else {
			direct_one(&d, op, ids[i], t);
		}
	}
	pickup_dirs_close(&d);
	close(lockfd);
	return 0;
}

int qadmin_run(const struct conf *c, enum qadmin_op op, char **ids, size_t nids)
{
	struct tally t = { 0 };
	char err[1024];
	size_t i;
	int rc = 0;

	if (nids == 0) {
		fprintf(stderr, "relayd: %s needs at least one queue id (or ALL)\n", ops[op].flag);
		return EX_USAGE;
	}
	for (i = 0; i < nids; i++) {
		if (strcmp(ids[i], "ALL") != 0 && !queue_id_valid(ids[i])) {
			fprintf(stderr, "relayd: %s: \"%s\" is not a queue id (16 hex digits, or ALL)\n",
			    ops[op].flag, ids[i]);
			return EX_USAGE;
		}
	}
	if (!may_admin(c)) {
		fprintf(stderr, "relayd: %s: permission denied: only root and the relay user (%s) "
		    "may change the queue\n", ops[op].flag, c->user);
		return EX_NOPERM;
	}
	for (i = 0; i < nids && rc == 0; i++) {
		rc = ask_daemon(c, op, ids[i], &t, err, sizeof err);
		if (rc == EX_UNAVAILABLE && strncmp(err, "relayd is not running", 21) == 0) {
			/* Nobody else edits the queue: work on the files. */
			rc = direct(c, op, ids + i, nids - i, &t);
			break;
		}
		if (rc != 0)
			fprintf(stderr, "relayd: %s: %s\n", ops[op].flag, err);
	}
	if (fflush(stdout) != 0 && rc == 0)
		rc = EX_IOERR;
	if (rc != 0)
		return rc;
	if (t.missing > 0) {
		fprintf(stderr, "relayd: %s: not in the queue: %s\n", ops[op].flag, t.missing_ids);
		return EX_NOINPUT;
	}
	return t.refused > 0 ? EX_DATAERR : 0;
}
