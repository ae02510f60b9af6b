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
#include "mbox.h"
#include "relay_log.h"

#define BQ_ERRLEN 512

/* Where a report about a message goes. */
enum route { ROUTE_SENDER, ROUTE_ADMIN, ROUTE_MBOX, ROUTE_KEEP };

static const char *const kind_word[] = {
	[BOUNCE_FAILED] = "non-delivery",
	[BOUNCE_DELAYED] = "delay",
};

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

/* A fresh queue id, its ID.msg created O_EXCL (read-write). fd or -1. */
static int new_entry(const struct spool_dirs *d, char id[17], char *err, size_t errlen)
{
	char name[32];
	struct stat st;
	int tries, fd;

	for (tries = 0; tries < 8; tries++) {
		queue_id_new(id);
		snprintf(name, sizeof name, "%s.env", id);
		if (fstatat(d->queue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    fstatat(d->failed, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		snprintf(name, sizeof name, "%s.msg", id);
		fd = openat(d->queue, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST) {
			snprintf(err, errlen, "create queue/%s: %s", name, strerror(errno));
			return -1;
		}
	}
	snprintf(err, errlen, "no free queue id");
	return -1;
}

/* The report of kind about m, written to out and fsynced. 0 or -1. */
static int write_report(const struct conf *c, const struct spool_dirs *d, const struct qmsg *m,
    enum bounce_kind kind, double now, int out, struct bounce_result *res, char *err,
    size_t errlen)
{
	struct bounce_rcpt *br;
	struct bounce_info bi;
	char name[32];
	size_t i, n = 0;
	int fd, r = -1;

	snprintf(name, sizeof name, "%s.msg", m->id);
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
    enum bounce_kind kind, const char *rcpt, const char *orcpt, double now, char newid[17],
    char *err, size_t errlen)
{
	struct bounce_result res;
	struct qmsg nm;
	char name[32];
	int fd, r;

	fd = new_entry(d, newid, err, errlen);
	if (fd == -1)
		return -1;
	snprintf(name, sizeof name, "%s.msg", newid);
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
	nm.env.smtputf8 = res.utf8_addrs || envelope_addr_utf8(rcpt);
	qmsg_init_rcpts(&nm);
	nm.uid = getuid();
	nm.arrival = now;
	nm.size = res.size;
	/* The commit fsyncs queue/, making NEWID.msg's entry durable too. */
	if (r == 0)
		r = qmsg_commit(d->queue, &nm, err, errlen);
	if (r == -1)
		unlinkat(d->queue, name, 0);
	else
		log_info("%s: from=<>, size=%llu, nrcpt=1, uid=%lu", newid,
		    (unsigned long long)nm.size, (unsigned long)nm.uid);
	qmsg_free(&nm);
	return r;
}

/* This runs in relayd's event loop: a user holding a lock on their own
 * mailbox must not stall pick-up, delivery and the control socket for
 * everyone (issue 14). A mail reader's lock lasts a moment; one held
 * longer gets the bounce kept in failed/ (bounce_local's fallback). */
#define BQ_MBOX_WAIT_MS 200

/*
 * Append the report of kind about m to /var/mail/USER, USER the passwd name
 * of the submitting uid. 0 delivered (path set), -1 not (err says why).
 */
static int mbox_report(const struct conf *c, const struct spool_dirs *d, const struct qmsg *m,
    enum bounce_kind kind, double now, char *path, size_t pathlen, char *err, size_t errlen)
{
	struct bounce_result res;
	struct passwd *pw;
	char id[17], name[32];
	int fd, r, n;

	errno = 0;
	pw = getpwuid(m->uid);
	if (pw == NULL) {
		snprintf(err, errlen, "uid %lu has no passwd entry", (unsigned long)m->uid);
		return -1;
	}
	if (pw->pw_name[0] == '\0' || pw->pw_name[0] == '.' || strchr(pw->pw_name, '/') != NULL) {
		snprintf(err, errlen, "uid %lu has an unusable user name", (unsigned long)m->uid);
		return -1;
	}
	n = snprintf(path, pathlen, "%s/%s", _PATH_MAILDIR, pw->pw_name);
	if (n < 0 || (size_t)n >= pathlen) {
		snprintf(err, errlen, "mailbox path too long");
		return -1;
	}
	/* The report is staged in an unlinked file of queue/: nothing to clean
	 * up after a crash (start-up removes a stray ID.msg without ID.env). */
	fd = new_entry(d, id, err, errlen);
	if (fd == -1)
		return -1;
	snprintf(name, sizeof name, "%s.msg", id);
	unlinkat(d->queue, name, 0);
	r = write_report(c, d, m, kind, now, fd, &res, err, errlen);
	if (r == 0)
		r = mbox_deliver_wait(path, m->uid, "", (time_t)now, fd, 0, res.size,
		    BQ_MBOX_WAIT_MS, err, errlen);
	close(fd);
	if (r == 0) {
		log_info("%s: sender %s notification: %s", m->id, kind_word[kind], id);
		log_info("%s: to=<%s>, relay=local, delay=0.0, tries=1, dsn=2.0.0, status=sent "
			 "(delivered to mailbox %s)", id, m->env.sender, path);
	}
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
	m->env.smtputf8 = m->env.smtputf8 || envelope_addr_utf8(c->admin_addr);
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
	char err[BQ_ERRLEN], path[PATH_MAX];
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
		if (mbox_report(c, d, m, BOUNCE_FAILED, now, path, sizeof path, err,
			sizeof err) == 0) {
			remove_original(d, m, o);
			return;
		}
		log_warnx("%s: cannot deliver the non-delivery notification for <%s> to the local "
			  "mailbox (bounce_local = mbox): %s; falling back to keep", m->id,
		    m->env.sender, err);
		keep(d, m, o);
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

/* Still undelivered: one delay warning once delay_warning has passed. */
static void delay_check(const struct conf *c, const struct spool_dirs *d, struct qmsg *m,
    double now, struct bounce_queue_outcome *o)
{
	char err[BQ_ERRLEN], path[PATH_MAX];
	const char *rcpt = m->env.sender, *orcpt = NULL;
	int r = 0;

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
		r = mbox_report(c, d, m, BOUNCE_DELAYED, now, path, sizeof path, err, sizeof err);
		/* Falling back to keep: the message itself stays queued and
		 * visible to mailq, which is all keep can say about a delay. */
		if (r == -1)
			log_warnx("%s: cannot deliver the delay notification for <%s> to the local "
				  "mailbox (bounce_local = mbox): %s; falling back to keep (no "
				  "delay notification)", m->id, m->env.sender, err);
		rcpt = NULL;
		break;
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
	/* After the report: a crash in between repeats it, never loses it. */
	m->warned = true;
	if (qmsg_commit(d->queue, m, err, sizeof err) == -1)
		log_warnx("%s: cannot record the delay notification (it may be sent again): %s",
		    m->id, err);
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
