/*
 * The queue (queue.h): backoff, leaving the queue, expiry. The state file
 * format and its parser live in spool/spool_qmsg.c, where sendmail's mailq can
 * link them too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"
#include "relay_log.h"
#include "spool.h"

time_t queue_backoff(time_t retry_min, time_t retry_max, unsigned tries, uint32_t rnd)
{
	double d = (double)(retry_min > 0 ? retry_min : 1), factor;
	unsigned i;

	if (retry_max < retry_min)
		retry_max = retry_min;
	for (i = 1; i < tries && d < (double)retry_max; i++)
		d *= 2;
	if (d > (double)retry_max)
		d = (double)retry_max;
	factor = 0.75 + 0.5 * ((double)rnd / 4294967296.0);
	d *= factor;
	if (d < (double)retry_min)
		d = (double)retry_min;
	if (d > (double)retry_max)
		d = (double)retry_max;
	return d < 1 ? 1 : (time_t)d;
}

/* Move ID.SUFFIX from qdir into faileddir; 0 or -1 (errno). */
static int move_one(int qdir, int faileddir, const char *id, const char *suffix)
{
	char name[32];

	snprintf(name, sizeof name, "%s%s", id, suffix);
	return renameat(qdir, name, faileddir, name);
}

/* Unlink ID.env then ID.msg; with sync, make the first durable before the
 * second. */
static int remove_files(int qdir, const char *id, bool sync, char *err, size_t errlen)
{
	char name[32];

	/* The state file goes first, so that a crash in between leaves an
	 * orphan ID.msg (removed at start-up), never a state file without its
	 * message. */
	snprintf(name, sizeof name, "%s.env", id);
	if (unlinkat(qdir, name, 0) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", name, strerror(errno));
		return -1;
	}
	/* This unlink is the commit of "delivered" (SPEC §5.6). */
	if (sync && fsync(qdir) == -1) {
		snprintf(err, errlen, "fsync queue directory: %s", strerror(errno));
		return -1;
	}
	snprintf(name, sizeof name, "%s.msg", id);
	if (unlinkat(qdir, name, 0) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", name, strerror(errno));
		return -1;
	}
	log_info("%s: removed", id);
	return 0;
}

int queue_remove(int qdir, const char *id, char *err, size_t errlen)
{
	return remove_files(qdir, id, true, err, errlen);
}

int queue_remove_unsynced(int qdir, const char *id, char *err, size_t errlen)
{
	return remove_files(qdir, id, false, err, errlen);
}

int queue_finish(int qdir, int faileddir, const struct qmsg *m, char *err, size_t errlen)
{
	size_t nfailed;

	if (qmsg_remaining(m) != 0)
		return 0;
	nfailed = qmsg_failed(m);
	if (nfailed == 0)
		return queue_remove(qdir, m->id, err, errlen) == -1 ? -1 : 1;
	/* Some failed, no failed/ given: the parent decides (bounce_queue.h). */
	if (faileddir == -1)
		return 0;
	/* Some failed: the message first, then its state, each rename made
	 * durable before the next, so start-up can always finish the move. */
	if (move_one(qdir, faileddir, m->id, ".msg") == -1 && errno != ENOENT) {
		snprintf(err, errlen, "move %s.msg into failed/: %s", m->id, strerror(errno));
		return -1;
	}
	if (fsync(faileddir) == -1 || fsync(qdir) == -1) {
		snprintf(err, errlen, "fsync: %s", strerror(errno));
		return -1;
	}
	if (move_one(qdir, faileddir, m->id, ".env") == -1) {
		snprintf(err, errlen, "move %s.env into failed/: %s", m->id, strerror(errno));
		return -1;
	}
	if (fsync(faileddir) == -1 || fsync(qdir) == -1) {
		snprintf(err, errlen, "fsync: %s", strerror(errno));
		return -1;
	}
	log_warnx("%s: %zu of %zu recipients failed; message moved to failed/", m->id, nfailed,
	    m->env.nrcpts);
	return 1;
}

void queue_expire(struct qmsg *m, double now)
{
	size_t i;

	for (i = 0; i < m->env.nrcpts; i++) {
		struct qrcpt *r = &m->rcpts[i];

		if (r->state != RCPT_PENDING && r->state != RCPT_DEFERRED)
			continue;
		/* No connection is made for this: relay=none in the log line. */
		if (r->text != NULL) {
			char *why = xasprintf("delivery time expired; last error: %s", r->text);

			qmsg_set_reply(m, i, RCPT_FAILED, 0, "4.4.7", why, NULL);
			free(why);
		} else {
			qmsg_set_reply(m, i, RCPT_FAILED, 0, "4.4.7", "delivery time expired", NULL);
		}
		relay_log_rcpt(m, i, now);
	}
}

int queue_expire_id(int qdir, int faileddir, const char *id, double now, unsigned *nbounced,
    char *err, size_t errlen)
{
	struct qmsg m;
	size_t before;
	int r;

	*nbounced = 0;
	if (qmsg_load(qdir, id, &m, err, errlen) == -1)
		return -1;
	before = qmsg_failed(&m);
	queue_expire(&m, now);
	*nbounced = (unsigned)(qmsg_failed(&m) - before);
	r = qmsg_commit(qdir, &m, err, errlen);
	if (r == 0)
		r = queue_finish(qdir, faileddir, &m, err, errlen) == -1 ? -1 : 0;
	qmsg_free(&m);
	return r;
}
