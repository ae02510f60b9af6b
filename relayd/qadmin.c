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
 *            failed/ID.env, each step fsynced, then "OK". A crash after the
 *            first step leaves queue/ID.env without its message while
 *            failed/ still has both: start-up finishes the requeue
 *            (queue_recover.c). After the second, queue/ holds the message
 *            and failed/ a stale ID.env, which mailq and ALL ignore while
 *            queue/ has the id, and which start-up removes.
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
#include "ctl_proto.h"
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
	[QA_DELETE] = { CTL_DELETE, "--delete", "removed" },
	[QA_HOLD] = { CTL_HOLD, "--hold", "held" },
	[QA_RELEASE] = { CTL_RELEASE, "--release", "released" },
	[QA_RETRY] = { CTL_RETRY, "--retry", "will be retried now" },
	[QA_REQUEUE] = { CTL_REQUEUE, "--requeue", "requeued" },
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

/* Unlink ID.env then ID.msg in dir. */
static enum qadmin_result remove_files(int dir, const char *id, char *err, size_t errlen)
{
	char name[QUEUE_NAME_SIZE];

	queue_name(name, id, QUEUE_ENV);
	if (unlinkat(dir, name, 0) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", name, strerror(errno));
		return QA_REFUSED;
	}
	fsync(dir);
	queue_name(name, id, QUEUE_MSG);
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
	char name[QUEUE_NAME_SIZE], why[512];
	struct qmsg m;
	size_t i;

	if (qmsg_load(d->failed, id, &m, why, sizeof why) == -1) {
		snprintf(err, errlen, "cannot read its state file: %s", why);
		return QA_REFUSED;
	}
	if (!queue_has(d->failed, id, QUEUE_MSG)) {
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
	/* A fresh queue_lifetime from now, as Postfix's postsuper -r gives a
	 * requeued message a new arrival time: with the old one, a message
	 * older than queue_lifetime would expire, and bounce, at once. */
	m.arrival = time_wall();
	queue_name(name, id, QUEUE_MSG);
	/*
	 * The order makes a crash at any point either leave the message in
	 * failed/ or finish the requeue (queue_recover.c), never lose it:
	 * 1. queue/ID.env committed (fsync), failed/ID.env and ID.msg still there;
	 * 2. failed/ID.msg renamed into queue/, both directories fsynced;
	 * 3. failed/ID.env unlinked, fsynced; only then "OK".
	 * After 1 or 2, start-up sees queue/ID.env with ID.env still in
	 * failed/ too and finishes the requeue (queue_finish removes a stale
	 * failed/ID.env before it moves a message there, so only a requeue
	 * leaves both).
	 */
	if (qmsg_commit(d->queue, &m, why, sizeof why) == -1) {
		snprintf(err, errlen, "%s", why);
		qmsg_free(&m);
		return QA_REFUSED;
	}
	if (renameat(d->failed, name, d->queue, name) == -1) {
		snprintf(err, errlen, "move %s into queue/: %s", name, strerror(errno));
		/* Take back the state file: the message stays in failed/. */
		queue_name(name, id, QUEUE_ENV);
		unlinkat(d->queue, name, 0);
		fsync(d->queue);
		qmsg_free(&m);
		return QA_REFUSED;
	}
	if (fsync(d->queue) == -1 || fsync(d->failed) == -1) {
		snprintf(err, errlen, "fsync: %s", strerror(errno));
		qmsg_free(&m);
		return QA_REFUSED;
	}
	queue_name(name, id, QUEUE_ENV);
	if (unlinkat(d->failed, name, 0) == -1 && errno != ENOENT)
		log_warn("%s: cannot remove failed/%s", id, name);
	if (fsync(d->failed) == -1) {
		snprintf(err, errlen, "fsync failed/: %s", strerror(errno));
		qmsg_free(&m);
		return QA_REFUSED;
	}
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
	inq = queue_has(d->queue, id, QUEUE_ENV);
	inf = !inq && queue_has(d->failed, id, QUEUE_ENV);
	if (!inq && !inf) {
		/* A stray message file (a crash mid-delete) counts as found. */
		if (op != QA_DELETE || (!queue_has(d->queue, id, QUEUE_MSG) &&
		    !queue_has(d->failed, id, QUEUE_MSG)))
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

struct id_list {
	char (*ids)[QUEUE_ID_SIZE];
	size_t n, cap;
};

static int add_one(void *ctx, const char *id, enum queue_part part)
{
	struct id_list *l = ctx;

	if (part != QUEUE_ENV)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->ids = xreallocarray(l->ids, l->cap, sizeof(*l->ids));
	}
	memcpy(l->ids[l->n++], id, QUEUE_ID_SIZE);
	return 0;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The ids of every ID.env in dir, added to l. */
static void add_dir(int dir, struct id_list *l)
{
	queue_each(dir, add_one, l);
}

size_t qadmin_all(const struct spool_dirs *d, enum qadmin_op op, char (**ids)[QUEUE_ID_SIZE])
{
	struct id_list l = { 0 };
	size_t i, k;

	if (op != QA_REQUEUE)
		add_dir(d->queue, &l);
	if (op == QA_DELETE || op == QA_REQUEUE)
		add_dir(d->failed, &l);
	/* Sorted and each id once (one in both queue/ and failed/ is a crash
	 * mid-move): a sort, not a search per id, for 100 000 messages. */
	if (l.n > 1)
		qsort(l.ids, l.n, sizeof(*l.ids), by_id);
	for (i = k = 0; i < l.n; i++) {
		if (k > 0 && strcmp(l.ids[k - 1], l.ids[i]) == 0)
			continue;
		/* Skip a stale failed/ID.env whose message is back in queue/. */
		if (op == QA_REQUEUE && queue_has(d->queue, l.ids[i], QUEUE_ENV))
			continue;
		memcpy(l.ids[k++], l.ids[i], QUEUE_ID_SIZE);
	}
	*ids = l.ids;
	return k;
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
	if (CTL_IS(line, CTL_OK " ")) {
		printf("%s: %s\n", id, ops[op].done);
	} else if (CTL_IS(line, CTL_MISSING)) {
		note_missing(t, id);
	} else if (CTL_IS(line, CTL_BUSY)) {
		return true;
	} else if (CTL_IS(line, CTL_FAIL)) {
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
    char (*busy)[QUEUE_ID_SIZE], size_t *nbusy, size_t busycap, char *err, size_t errlen)
{
	char cmd[64], *line, *nl;
	struct buf b;
	int rc;

	snprintf(cmd, sizeof cmd, "%s %s", ops[op].cmd, id);
	buf_init(&b, 16 * 1024 * 1024);
	rc = ctl_request_buf(c->spool, cmd, &b, err, errlen);
	if (rc == 0 && CTL_IS(b.data != NULL ? b.data : "", CTL_ERR)) {
		nl = strchr(b.data, '\n');
		if (nl != NULL)
			*nl = '\0';
		snprintf(err, errlen, "relayd refused: %s", b.data + sizeof(CTL_ERR) - 1);
		rc = strstr(b.data, "permission denied") != NULL ? EX_NOPERM : EX_SOFTWARE;
	}
	for (line = b.data; rc == 0 && line != NULL && *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (reply_line(op, line, t) && *nbusy < busycap)
			strlcpy(busy[(*nbusy)++], line + 5, QUEUE_ID_SIZE);
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
	char busy[64][QUEUE_ID_SIZE], again[64][QUEUE_ID_SIZE];
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
	if (queue_dirs_open(c->spool, &d, err, sizeof err) == -1) {
		r = errno;
		fprintf(stderr, "relayd: %s: %s\n", ops[op].flag, err);
		close(lockfd);
		return r == EACCES ? EX_NOPERM : EX_OSFILE;
	}
	/* relayd's start-up index would not know of these changes. */
	queue_index_drop(d.queue);
	for (i = 0; i < nids; i++) {
		if (strcmp(ids[i], "ALL") == 0) {
			char (*all)[QUEUE_ID_SIZE];
			size_t n = qadmin_all(&d, op, &all);

			for (k = 0; k < n; k++)
				direct_one(&d, op, all[k], t);
			free(all);
		} else {
			direct_one(&d, op, ids[i], t);
		}
	}
	queue_dirs_close(&d);
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
