/*
 * Bounces and delay warnings in the queue: see bounce_queue.h for what
 * happens to whom and in which order things reach the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <paths.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounce.h"
#include "bounce_queue.h"
#include "log.h"
#include "mbox_client.h"
#include "relay_log.h"
#include "sched.h"
#include "util_utf8.h"

#define BQ_ERRLEN 512

/* Where a report about a message goes. */
enum route { ROUTE_SENDER, ROUTE_ADMIN, ROUTE_MBOX, ROUTE_KEEP };

static const char *const kind_word[] = {
	[BOUNCE_FAILED] = "non-delivery",
	[BOUNCE_DELAYED] = "delay",
};

/*
 * Reports to local mailboxes go through the one mailbox process of this
 * relayd (mbox_client.h); its answers come back from the event loop with
 * nothing but the job, so what they act on is kept here, set once by
 * bounce_queue_mbox_attach. One request is in flight at a time: staged is
 * the queue id its report was written under (the id the log gives it),
 * staged_user the mailbox it goes to.
 */
static struct {
	struct mbox_client *mc;
	const struct conf *c;
	const struct spool_dirs *d;
	struct sched *s;
	char staged[QUEUE_ID_SIZE];
	char staged_user[MBOX_PROC_USER_MAX];	/* whose mailbox (for the log) */
} bq;

bool bounce_queue_sender_is_local(const struct conf *c, const struct envelope *env)
{
	const char *at;

	if (env->sender == NULL || env->sender[0] == '\0')
		return false;
	if (env->local_sender)
		return true;
	if (env->client_ip != NULL)
		return false;	/* SPEC §6.1: listener mail bounces through the smarthost */
	at = strrchr(env->sender, '@');
	if (at == NULL)
		return true;	/* unqualified: only we could have made it */
	return strcasecmp(at + 1, "localhost") == 0 ||
	    (c->hostname != NULL && strcasecmp(at + 1, c->hostname) == 0);
}

/* Same mailbox: exact local part, domain in any case (as spool_envelope.c). */
static bool same_addr(const char *a, const char *b)
{
	const char *at = strrchr(a, '@'), *bt = strrchr(b, '@');

	if (at == NULL || bt == NULL)
		return strcmp(a, b) == 0;
	return at - a == bt - b && strncmp(a, b, (size_t)(at - a)) == 0 &&
	    strcasecmp(at + 1, bt + 1) == 0;
}

static enum route route_for(const struct conf *c, const struct qmsg *m)
{
	if (!bounce_queue_sender_is_local(c, &m->env))
		return ROUTE_SENDER;
	switch (c->bounce_local) {
	case BOUNCE_LOCAL_MBOX:
		return ROUTE_MBOX;
	case BOUNCE_LOCAL_RELAY:
		/* conf_check refuses relay without admin_addr; be safe anyway. */
		return c->admin_addr != NULL ? ROUTE_ADMIN : ROUTE_KEEP;
	case BOUNCE_LOCAL_KEEP:
		break;
	}
	return ROUTE_KEEP;
}

/* The report of kind about m, written to out and fsynced. 0 or -1. */
static int write_report(const struct conf *c, const struct spool_dirs *d, const struct qmsg *m,
    enum bounce_kind kind, double now, int out, struct bounce_result *res, char *err,
    size_t errlen)
{
	struct bounce_rcpt *br;
	struct bounce_info bi;
	char name[QUEUE_NAME_SIZE];
	size_t i, n = 0;
	int fd, r = -1;

	queue_name(name, m->id, QUEUE_MSG);
	fd = openat(d->queue, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "open queue/%s: %s", name, strerror(errno));
		return -1;
	}
	br = xcalloc(m->env.nrcpts ? m->env.nrcpts : 1, sizeof(*br));
	for (i = 0; i < m->env.nrcpts; i++) {
		const struct qrcpt *q = &m->rcpts[i];
		bool want = kind == BOUNCE_FAILED ? q->state == RCPT_FAILED :
		    q->state == RCPT_PENDING || q->state == RCPT_DEFERRED;

		if (!want)
			continue;
		br[n].final_rcpt = m->env.rcpts[i].addr;
		br[n].orcpt = m->env.rcpts[i].orcpt;
		br[n].status = q->dsn[0] != '\0' ? q->dsn : NULL;
		br[n].remote_mta = q->relay;
		br[n].diagnostic = q->text;
		br[n].last_attempt = m->last_attempt;
		n++;
	}
	memset(&bi, 0, sizeof bi);
	bi.kind = kind;
	bi.hostname = c->hostname;
	bi.queue_id = m->id;
	bi.to = m->env.sender;
	bi.arrival = (time_t)m->arrival;
	bi.envid = m->env.envid;
	bi.ret = m->env.ret;
	if (kind == BOUNCE_DELAYED && c->queue_lifetime > 0)
		bi.will_retry_until = (time_t)m->arrival + c->queue_lifetime;
	bi.now = (time_t)now;
	bi.rcpts = br;
	bi.nrcpts = n;
	if (n == 0)
		snprintf(err, errlen, "no recipient to report on");
	else
		r = bounce_write(&bi, fd, 0, m->size, bounce_emit_fd, &out, res, err, errlen);
	if (r == 0 && fsync(out) == -1) {
		snprintf(err, errlen, "fsync the report: %s", strerror(errno));
		r = -1;
	}
	free(br);
	close(fd);
	return r;
}

/*
 * Queue the report of kind about m for rcpt (orcpt: its ORCPT, or NULL) as
 * a new entry with a null reverse path. 0 with newid set, or -1 with
 * nothing left behind.
 */
static int queue_report(const struct conf *c, const struct spool_dirs *d, const struct qmsg *m,
    enum bounce_kind kind, const char *rcpt, const char *orcpt, double now,
    char newid[QUEUE_ID_SIZE], char *err, size_t errlen)
{
	struct bounce_result res;
	struct qmsg nm;
	char name[QUEUE_NAME_SIZE];
	int fd, r;

	fd = queue_create(d, newid, false, err, errlen);
	if (fd == -1)
		return -1;
	queue_name(name, newid, QUEUE_MSG);
	r = write_report(c, d, m, kind, now, fd, &res, err, errlen);
	if (close(fd) == -1 && r == 0) {
		snprintf(err, errlen, "close queue/%s: %s", name, strerror(errno));
		r = -1;
	}
	if (r == -1) {
		unlinkat(d->queue, name, 0);
		return -1;
	}
	qmsg_init(&nm);
	strlcpy(nm.id, newid, sizeof nm.id);
	nm.env.sender = xstrdup("");
	if (envelope_add_rcpt(&nm.env, rcpt, orcpt) != 1) {
		snprintf(err, errlen, "cannot address the report to <%s>", rcpt);
		r = -1;
	}
	nm.env.body_8bit = res.eight_bit;
	nm.env.smtputf8 = res.utf8_addrs || utf8_has_8bit(rcpt);
	qmsg_init_rcpts(&nm);
	nm.uid = getuid();
	nm.arrival = now;
	nm.size = res.size;
	/* The report's ID.msg is fsynced (write_report): commit it now. */
	if (r == 0)
		r = queue_enqueue(d, &nm, true, err, errlen);
	else
		queue_discard(d->queue, newid);
	if (r == 0)
		log_info("%s: from=<>, size=%llu, nrcpt=1, uid=%lu", newid,
		    (unsigned long long)nm.size, (unsigned long)nm.uid);
	qmsg_free(&nm);
	return r;
}

/* Into failed/, visible to mailq; o says whether that worked. */
static void keep(const struct spool_dirs *d, const struct qmsg *m, struct bounce_queue_outcome *o)
{
	char err[BQ_ERRLEN];

	if (queue_finish(d->queue, d->failed, m, err, sizeof err) == 1) {
		o->act = BQ_LEFT;
		return;
	}
	log_warnx("%s: cannot move into failed/: %s", m->id, err);
	o->act = BQ_RETRY;
}

/* The report is out: the original leaves the queue. */
static void remove_original(const struct spool_dirs *d, const struct qmsg *m,
    struct bounce_queue_outcome *o)
{
	char err[BQ_ERRLEN];

	if (queue_remove(d->queue, m->id, err, sizeof err) == -1)
		/* Out of the index all the same: trying again could only make
		 * more reports; start-up reviews it once more. */
		log_warnx("%s: bounced, but cannot leave the queue: %s (left in queue/ until "
			  "relayd restarts)", m->id, err);
	o->act = BQ_LEFT;
}

/* A bounce (null sender) that failed: once to admin_addr, else failed/. */
static void settle_null_sender(const struct conf *c, const struct spool_dirs *d, struct qmsg *m,
    double now, struct bounce_queue_outcome *o)
{
	char err[BQ_ERRLEN];
	struct env_rcpt *r;
	size_t i, k = SIZE_MAX;
	char *was;

	if (c->admin_addr != NULL && !m->redirected) {
		for (i = 0; i < m->env.nrcpts; i++) {
			if (same_addr(m->env.rcpts[i].addr, c->admin_addr))
				break;	/* admin_addr had its copy or refused it */
			if (k == SIZE_MAX && m->rcpts[i].state == RCPT_FAILED)
				k = i;
		}
		if (i < m->env.nrcpts)
			k = SIZE_MAX;
	}
	if (k == SIZE_MAX) {
		log_warnx("%s: undeliverable message with a null sender (a bounce is never "
			  "bounced); %s", m->id, c->admin_addr == NULL ? "no admin_addr is set" :
		    "admin_addr had its chance");
		keep(d, m, o);
		return;
	}
	r = &m->env.rcpts[k];
	was = r->addr;
	if (r->orcpt == NULL)
		r->orcpt = xstrdup(was);
	r->addr = xstrdup(c->admin_addr);
	qmsg_set_reply(m, k, RCPT_PENDING, 0, NULL, NULL, NULL);
	/* Once only; a fresh lifetime, or expiry would fail it unattempted. */
	m->redirected = true;
	m->arrival = now;
	m->tries = 0;
	m->next = 0;
	m->env.smtputf8 = m->env.smtputf8 || utf8_has_8bit(c->admin_addr);
	if (qmsg_commit(d->queue, m, err, sizeof err) == -1) {
		log_warnx("%s: cannot re-address the undeliverable bounce: %s", m->id, err);
		o->act = BQ_RETRY;
	} else {
		log_warnx("%s: undeliverable bounce to <%s> re-addressed to admin_addr <%s>", m->id,
		    was, c->admin_addr);
		o->act = BQ_DUE_NOW;
		o->arrival = now;
	}
	free(was);
}

/* Nothing left to deliver, some recipients failed. */
static void settle_failed(const struct conf *c, const struct spool_dirs *d, struct qmsg *m,
    double now, struct bounce_queue_outcome *o)
{
	char err[BQ_ERRLEN];
	const char *rcpt = m->env.sender, *orcpt = NULL;

	if (m->env.sender[0] == '\0') {
		settle_null_sender(c, d, m, now, o);
		return;
	}
	if (m->env.notify != 0 && (m->env.notify & NOTIFY_FAILURE) == 0) {
		log_info("%s: no non-delivery notification: the sender asked for none (NOTIFY)",
		    m->id);
		keep(d, m, o);
		return;
	}
	switch (route_for(c, m)) {
	case ROUTE_SENDER:
		break;
	case ROUTE_ADMIN:
		rcpt = c->admin_addr;
		orcpt = m->env.sender;
		break;
	case ROUTE_MBOX:
		/* The mailbox process's until it answers (mbox_done); on disk
		 * meanwhile, so a restart finds it again. */
		if (!mbox_client_want(bq.mc, m->id, BOUNCE_FAILED, m->uid))
			log_warnx("%s: the mailbox process is not running: the non-delivery "
				  "notification for <%s> stays queued until relayd restarts", m->id,
			    m->env.sender);
		o->act = BQ_LEFT;
		return;
	case ROUTE_KEEP:
		log_info("%s: local sender <%s>: bounce_local = keep", m->id, m->env.sender);
		keep(d, m, o);
		return;
	}
	if (queue_report(c, d, m, BOUNCE_FAILED, rcpt, orcpt, now, o->newid, err,
		sizeof err) == -1) {
		o->newid[0] = '\0';
		log_warnx("%s: cannot queue a non-delivery notification: %s", m->id, err);
		keep(d, m, o);
		return;
	}
	o->new_arrival = now;
	log_info("%s: sender non-delivery notification: %s", m->id, o->newid);
	remove_original(d, m, o);
}

/* After the report: a crash in between repeats it, never loses it. */
static void warned(const struct spool_dirs *d, struct qmsg *m)
{
	char err[BQ_ERRLEN];

	m->warned = true;
	if (qmsg_commit(d->queue, m, err, sizeof err) == -1)
		log_warnx("%s: cannot record the delay notification (it may be sent again): %s",
		    m->id, err);
}

/* ---- reports to local mailboxes, through the mailbox process ---- */

/* Back into the schedule (it left it when its report was asked for). */
static void mbox_back(const struct qmsg *m, time_t next)
{
	/* relayd --hold meanwhile: --release schedules it; an operator's
	 * --retry may have scheduled it already. */
	if (m->held || sched_has(bq.s, m->id))
		return;
	sched_add(bq.s, m->id, m->arrival, next);
	sched_owner(bq.s, m->id, m->uid);
}

/* Is the report of kind still due for m (an operator may have acted)? */
static bool mbox_still_due(const struct qmsg *m, enum bounce_kind kind)
{
	if (kind == BOUNCE_FAILED)
		return qmsg_remaining(m) == 0 && qmsg_failed(m) > 0;
	return qmsg_remaining(m) > 0 && !m->warned;
}

/* The mailbox of m's submitter: MAILDIR/USER, USER its passwd name. */
static int mbox_user(const struct qmsg *m, char *user, size_t userlen, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwuid(m->uid);
	if (pw == NULL) {
		snprintf(err, errlen, "uid %lu has no passwd entry", (unsigned long)m->uid);
		return -1;
	}
	if (!mbox_proc_user_ok(pw->pw_name) || strlcpy(user, pw->pw_name, userlen) >= userlen) {
		snprintf(err, errlen, "uid %lu has an unusable user name", (unsigned long)m->uid);
		return -1;
	}
	return 0;
}

static bool mbox_done(void *arg, const struct mbox_job *j, enum mbox_proc_result r,
    const char *why);

/* Write the report afresh into an unlinked file of queue/ (nothing to
 * clean up after a crash) for the mailbox process to copy. */
static int mbox_prepare(void *arg, const struct mbox_job *j, struct mbox_proc_req *rq, int *fdp)
{
	enum bounce_kind kind = (enum bounce_kind)j->kind;
	struct bounce_result res;
	char err[BQ_ERRLEN], name[QUEUE_NAME_SIZE];
	double now = time_wall();
	struct qmsg m;
	int fd;

	(void)arg;
	if (qmsg_load(bq.d->queue, j->id, &m, err, sizeof err) == -1) {
		if (errno != ENOENT)
			log_warnx("%s: cannot review: %s (the report waits for the next start)",
			    j->id, err);
		return -1;
	}
	if (!mbox_still_due(&m, kind)) {
		if (qmsg_remaining(&m) > 0)
			mbox_back(&m, m.next);
		qmsg_free(&m);
		return -1;
	}
	if (sched_has(bq.s, m.id)) {
		/* Scheduled again while the job waited (relayd --retry): a
		 * worker may be trying it, and the review after that attempt
		 * asks for the report again if it is still due. Sent now, it
		 * could not be recorded, and that review would send another. */
		log_info("%s: %s notification left to the review after the next attempt "
			 "(scheduled again meanwhile)", m.id, kind_word[kind]);
		qmsg_free(&m);
		return -1;
	}
	bq.staged[0] = '\0';
	if (mbox_user(&m, rq->user, sizeof rq->user, err, sizeof err) == -1)
		goto failed;
	strlcpy(bq.staged_user, rq->user, sizeof bq.staged_user);
	fd = queue_create(bq.d, bq.staged, false, err, sizeof err);
	if (fd == -1)
		goto failed;
	queue_name(name, bq.staged, QUEUE_MSG);
	unlinkat(bq.d->queue, name, 0);
	if (write_report(bq.c, bq.d, &m, kind, now, fd, &res, err, sizeof err) == -1) {
		close(fd);
		goto failed;
	}
	rq->uid = (uint32_t)m.uid;
	rq->size = res.size;
	rq->when = (int64_t)now;
	*fdp = fd;
	qmsg_free(&m);
	return 0;
failed:
	qmsg_free(&m);
	mbox_done(NULL, j, MBOX_PROC_FAILED, err);
	return -1;
}

/* The mailbox process's answer (or the reason it could not be asked). */
static bool mbox_done(void *arg, const struct mbox_job *j, enum mbox_proc_result r,
    const char *why)
{
	enum bounce_kind kind = (enum bounce_kind)j->kind;
	struct bounce_queue_outcome o;
	char err[BQ_ERRLEN];
	bool again = false;
	struct qmsg m;

	(void)arg;
	if (qmsg_load(bq.d->queue, j->id, &m, err, sizeof err) == -1) {
		if (errno != ENOENT)
			log_warnx("%s: cannot review: %s (the report waits for the next start)",
			    j->id, err);
		return false;
	}
	memset(&o, 0, sizeof o);
	switch (r) {
	case MBOX_PROC_OK:
		log_info("%s: sender %s notification: %s", m.id, kind_word[kind], bq.staged);
		log_info("%s: to=<%s>, relay=local, delay=0.0, tries=1, dsn=2.0.0, status=sent "
			 "(delivered to mailbox %s/%s)", bq.staged, m.env.sender, _PATH_MAILDIR,
		    bq.staged_user);
		if (kind == BOUNCE_FAILED) {
			remove_original(bq.d, &m, &o);
		} else if (sched_has(bq.s, m.id)) {
			/* Not expected: prepare skips a scheduled message and
			 * the queue tools wait while a report is in flight. If it
			 * is, a worker may hold it, and its commit must not race
			 * this one: the next review records the warning, or sends
			 * another, never none. */
			log_info("%s: delay notification delivered; it may be sent again", m.id);
		} else {
			warned(bq.d, &m);
			mbox_back(&m, m.next);
		}
		break;
	case MBOX_PROC_FAILED:
		if (kind == BOUNCE_FAILED) {
			log_warnx("%s: cannot deliver the non-delivery notification for <%s> to the "
				  "local mailbox (bounce_local = mbox): %s; falling back to keep",
			    m.id, m.env.sender, why);
			keep(bq.d, &m, &o);
			if (o.act == BQ_RETRY)
				mbox_back(&m, time(NULL) + bq.c->retry_max);
		} else {
			/* Falling back to keep: the message itself stays queued and
			 * visible to mailq, which is all keep can say about a delay. */
			log_warnx("%s: cannot deliver the delay notification for <%s> to the local "
				  "mailbox (bounce_local = mbox): %s; falling back to keep (no "
				  "delay notification)", m.id, m.env.sender, why);
			warned(bq.d, &m);
			mbox_back(&m, m.next);
		}
		break;
	case MBOX_PROC_LOCKED:
		if (kind == BOUNCE_FAILED) {
			/* Asked again after a backoff (mbox_client.h); with the
			 * process gone, by the next start's review. */
			log_warnx("%s: cannot deliver the non-delivery notification for <%s> to the "
				  "local mailbox yet: %s; it stays queued and is tried again%s", m.id,
			    m.env.sender, why, mbox_client_fd(bq.mc) == -1 ?
			    " when relayd restarts" : "");
			again = true;
		} else {
			log_warnx("%s: cannot deliver the delay notification for <%s> to the local "
				  "mailbox yet: %s; tried again after the next attempt", m.id,
			    m.env.sender, why);
			mbox_back(&m, m.next);
		}
		break;
	}
	qmsg_free(&m);
	return again;
}

bool bounce_queue_report_pending(const char *id)
{
	return mbox_client_has(bq.mc, id);
}

void bounce_queue_mbox_attach(struct mbox_client *mc, const struct conf *c,
    const struct spool_dirs *d, struct sched *s)
{
	struct mbox_client_ops ops = { .prepare = mbox_prepare, .done = mbox_done };

	bq.mc = mc;
	bq.c = c;
	bq.d = d;
	bq.s = s;
	if (mc != NULL)
		mbox_client_set_ops(mc, &ops);
}

/* Still undelivered: one delay warning once delay_warning has passed. */
static void delay_check(const struct conf *c, const struct spool_dirs *d, struct qmsg *m,
    double now, struct bounce_queue_outcome *o)
{
	char err[BQ_ERRLEN];
	const char *rcpt = m->env.sender, *orcpt = NULL;

	if (c->delay_warning <= 0 || m->warned || m->tries == 0 || m->env.sender[0] == '\0' ||
	    now - m->arrival < (double)c->delay_warning)
		return;
	if (m->env.notify != 0 && (m->env.notify & NOTIFY_DELAY) == 0)
		return;
	switch (route_for(c, m)) {
	case ROUTE_SENDER:
		break;
	case ROUTE_ADMIN:
		rcpt = c->admin_addr;
		orcpt = m->env.sender;
		break;
	case ROUTE_MBOX:
		/* Out of the schedule until the mailbox process answers
		 * (mbox_done puts it back): no worker commits it meanwhile. */
		if (mbox_client_want(bq.mc, m->id, BOUNCE_DELAYED, m->uid))
			o->act = BQ_LEFT;
		else
			log_warnx("%s: the mailbox process is not running: no delay notification "
				  "for <%s> until relayd restarts", m->id, m->env.sender);
		return;
	case ROUTE_KEEP:
		log_info("%s: local sender <%s>: no delay notification (bounce_local = keep)",
		    m->id, m->env.sender);
		rcpt = NULL;
		break;
	}
	if (rcpt != NULL) {
		if (queue_report(c, d, m, BOUNCE_DELAYED, rcpt, orcpt, now, o->newid, err,
			sizeof err) == -1) {
			o->newid[0] = '\0';
			log_warnx("%s: cannot queue a delay notification: %s", m->id, err);
			return;
		}
		o->new_arrival = now;
		log_info("%s: sender delay notification: %s", m->id, o->newid);
	}
	warned(d, m);
}

void bounce_queue_review(const struct conf *c, const struct spool_dirs *d, const char *id, double now,
    struct bounce_queue_outcome *o)
{
	char err[BQ_ERRLEN];
	struct qmsg m;

	memset(o, 0, sizeof(*o));
	o->act = BQ_STAYS;
	if (qmsg_load(d->queue, id, &m, err, sizeof err) == -1) {
		if (errno == ENOENT) {
			o->act = BQ_LEFT;
		} else {
			log_warnx("%s: cannot review: %s", id, err);
			o->act = BQ_RETRY;
		}
		return;
	}
	if (qmsg_remaining(&m) > 0) {
		delay_check(c, d, &m, now, o);
	} else if (qmsg_failed(&m) == 0) {
		if (queue_finish(d->queue, d->failed, &m, err, sizeof err) == -1) {
			log_warnx("%s: %s", id, err);
			o->act = BQ_RETRY;
		} else {
			o->act = BQ_LEFT;
		}
	} else {
		settle_failed(c, d, &m, now, o);
	}
	qmsg_free(&m);
}
