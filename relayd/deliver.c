/*
 * A delivery worker: one smarthost connection, many messages (RSET between),
 * the state of each committed before the next is asked for. See worker.h
 * for the protocol with the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "advice.h"
#include "child.h"
#include "deliver.h"
#include "log.h"
#include "queue.h"
#include "relay_log.h"
#include "smtp.h"
#include "worker.h"

struct wctx {
	const struct conf *c;
	const struct spool_dirs *d;
	int sock;
	struct smtp_session *s;
	const char *relay;	/* smtp_relay_name, NULL before a session */
	unsigned unsynced;	/* removals not yet made durable */
	double synced_at;	/* monotonic */
	struct smtp_reply open_why;	/* why no session could be opened */
};

struct outcome {
	time_t next;
	bool final;
	unsigned sent, deferred, bounced;
};

/* The parent is gone: nothing left to report to. */
static noreturn void orphaned(struct wctx *w)
{
	if (w->s != NULL)
		smtp_close(w->s, true);
	_exit(0);
}

/* Try the smarthosts in order. */
static void connect_any(struct wctx *w, const time_t *host_until, size_t nhosts)
{
	time_t now = time(NULL);
	size_t i;

	memset(&w->open_why, 0, sizeof w->open_why);
	for (i = 0; i < nhosts && i < w->c->nsmarthosts; i++) {
		const struct smarthost *sh = &w->c->smarthosts[i];
		struct smtp_reply why;
		char advice[1024];

		if (host_until[i] > now)
			continue;
		memset(&why, 0, sizeof why);
		if (smtp_open(w->c, sh, &w->s, &why) == SMTP_DONE) {
			w->relay = smtp_relay_name(w->s);
			if (worker_say_up(w->sock, i) == -1)
				orphaned(w);
			return;
		}
		w->s = NULL;
		log_warnx("smarthost %s:%u failed: %s%s%s", sh->host, sh->port, why.text,
		    i + 1 < w->c->nsmarthosts ? " (trying the next one)" : "",
		    advice_open_failure(w->c, sh, why.text, advice, sizeof advice));
		w->open_why = why;
		if (worker_say_down(w->sock, i, why.at_auth, why.text) == -1)
			orphaned(w);
	}
}

static void apply(struct qmsg *m, size_t i, enum smtp_class cls, const struct smtp_reply *r,
    const char *relay)
{
	enum rcpt_state st = cls == SMTP_DONE ? RCPT_SENT : cls == SMTP_PERM ? RCPT_FAILED :
	    RCPT_DEFERRED;

	qmsg_set_reply(m, i, st, r->code, r->dsn, r->text, relay);
}

/* One or more transactions for the remaining recipients of m. */
static void transact(struct wctx *w, struct qmsg *m, int fd, size_t *idx, size_t n)
{
	struct smtp_rcpt_result *res = xcalloc(n, sizeof(*res));
	struct smtp_reply mr;
	struct smtp_msg sm;
	size_t i, again;
	enum smtp_class cls;

	for (;;) {
		memset(res, 0, n * sizeof(*res));
		memset(&mr, 0, sizeof mr);
		sm = (struct smtp_msg){ .env = &m->env, .rcpt_idx = idx, .nrcpt = n, .fd = fd,
			.off = 0, .len = m->size, .body_8bit = m->env.body_8bit,
			.smtputf8 = m->env.smtputf8 };
		cls = smtp_send(w->s, &sm, res, &mr);
		again = 0;
		for (i = 0; i < n; i++) {
			if (res[i].too_many) {
				idx[again++] = idx[i];
				continue;
			}
			/* An accepted recipient's news is the final dot's reply. */
			if (cls == SMTP_DONE && res[i].cls == SMTP_DONE)
				apply(m, idx[i], SMTP_DONE, &mr, w->relay);
			else
				apply(m, idx[i], res[i].cls, &res[i].reply, w->relay);
		}
		if (again == 0)
			break;
		/* 452 too many recipients: the rest in a new transaction at once,
		 * as long as the last one made progress and the link is up. */
		if (again < n && smtp_usable(w->s) && smtp_rset(w->s) == SMTP_DONE) {
			n = again;
			continue;
		}
		memset(&mr, 0, sizeof mr);
		mr.code = 452;
		strlcpy(mr.dsn, "4.5.3", sizeof mr.dsn);
		strlcpy(mr.text, "too many recipients, will retry the rest", sizeof mr.text);
		for (i = 0; i < again; i++)
			apply(m, idx[i], SMTP_TEMP, &mr, w->relay);
		break;
	}
	free(res);
}

/* Mark every remaining recipient deferred for a reason (no session). */
static void defer_all(struct qmsg *m, const struct smtp_reply *why)
{
	size_t i;

	for (i = 0; i < m->env.nrcpts; i++) {
		if (m->rcpts[i].state == RCPT_PENDING || m->rcpts[i].state == RCPT_DEFERRED)
			qmsg_set_reply(m, i, RCPT_DEFERRED, why->code, why->dsn, why->text, NULL);
	}
}

/* Attempt one message. 0 with *o filled, or -1: not attempted (released). */
static int attempt(struct wctx *w, const char *id, struct outcome *o)
{
	char err[512], name[QUEUE_NAME_SIZE];
	struct qmsg m;
	size_t *idx, n = 0, i;
	enum rcpt_state *before;
	struct stat st;
	double now;
	uint32_t rnd;
	int fd, r;

	memset(o, 0, sizeof(*o));
	if (qmsg_load(w->d->queue, id, &m, err, sizeof err) == -1) {
		log_warnx("%s: cannot load the state file: %s", id, err);
		return -1;
	}
	if (w->c->queue_lifetime > 0 && time_wall() - m.arrival > (double)w->c->queue_lifetime) {
		unsigned nb = 0;

		/* Committed as failed; the parent bounces it (bounce_queue.h).
		 * The state already loaded is the one expired: one load per
		 * attempt. */
		r = queue_expire_loaded(w->d->queue, -1, &m, time_wall(), &nb, err, sizeof err);
		qmsg_free(&m);
		if (r == -1) {
			log_warnx("%s: %s", id, err);
			return -1;
		}
		o->bounced = nb;
		return 0;
	}
	idx = xcalloc(m.env.nrcpts, sizeof(*idx));
	before = xcalloc(m.env.nrcpts, sizeof(*before));
	for (i = 0; i < m.env.nrcpts; i++) {
		before[i] = m.rcpts[i].state;
		if (m.rcpts[i].state == RCPT_PENDING || m.rcpts[i].state == RCPT_DEFERRED)
			idx[n++] = i;
	}
	queue_name(name, id, QUEUE_MSG);
	fd = openat(w->d->queue, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (n > 0 && w->s == NULL) {
		defer_all(&m, &w->open_why);
	} else if (n > 0 && (fd == -1 || fstat(fd, &st) == -1 || (uint64_t)st.st_size != m.size)) {
		struct smtp_reply why;

		memset(&why, 0, sizeof why);
		strlcpy(why.dsn, "4.3.0", sizeof why.dsn);
		snprintf(why.text, sizeof why.text, "queue/%s is missing or has the wrong size",
		    name);
		log_warnx("%s: %s", id, why.text);
		defer_all(&m, &why);
	} else if (n > 0) {
		transact(w, &m, fd, idx, n);
	}
	if (fd != -1)
		close(fd);

	now = time_wall();
	m.tries++;
	m.last_attempt = (time_t)now;
	for (i = 0; i < m.env.nrcpts; i++) {
		if (before[i] != RCPT_PENDING && before[i] != RCPT_DEFERRED)
			continue;
		relay_log_rcpt(&m, i, now);
		o->sent += m.rcpts[i].state == RCPT_SENT;
		o->deferred += m.rcpts[i].state == RCPT_DEFERRED;
		o->bounced += m.rcpts[i].state == RCPT_FAILED;
	}
	random_bytes(&rnd, sizeof rnd);
	m.next = qmsg_remaining(&m) > 0 ?
	    (time_t)now + queue_backoff(w->c->retry_min, w->c->retry_max, m.tries, rnd) : 0;
	o->next = m.next;

	/* All sent: removing the state file is the commit (queue.c). Anything
	 * else: the new state is committed before anything else happens. */
	r = 0;
	if (qmsg_remaining(&m) == 0 && qmsg_failed(&m) == 0) {
		/* All sent: the unlink is the commit; its directory sync is
		 * batched (sync_removals). */
		if (queue_remove_unsynced(w->d->queue, id, err, sizeof err) == -1) {
			log_warnx("%s: %s", id, err);
			o->next = (time_t)now + w->c->retry_min;
		} else {
			o->final = true;
			w->unsynced++;
		}
		goto out;
	}
	r = qmsg_commit(w->d->queue, &m, err, sizeof err);
	if (r == -1) {
		log_warnx("%s: cannot commit the delivery state (the message may be sent "
			  "again): %s", id, err);
		o->next = (time_t)now + w->c->retry_min;
	} else {
		/* Failed recipients: it stays for the parent to bounce. */
		r = queue_finish(w->d->queue, -1, &m, err, sizeof err);
		if (r == -1)
			log_warnx("%s: %s", id, err);
		o->final = r == 1;
	}
out:
	free(idx);
	free(before);
	qmsg_free(&m);
	return 0;
}

/* Make the removals of delivered messages durable: at most a second after
 * them, and before the worker exits. */
static void sync_removals(struct wctx *w, bool now)
{
	if (w->unsynced == 0 || (!now && time_monotonic() - w->synced_at < 1.0))
		return;
	if (fsync(w->d->queue) == -1)
		log_warn("fsync queue directory (a delivered message may be sent again after a "
		    "power loss)");
	w->unsynced = 0;
	w->synced_at = time_monotonic();
}

noreturn void deliver_main(const struct conf *c, const struct spool_dirs *d, int sock,
    const char *first_id, const time_t *host_until, size_t nhosts)
{
	struct wctx w = { .c = c, .d = d, .sock = sock, .synced_at = time_monotonic() };
	struct outcome o;
	char id[QUEUE_ID_SIZE];
	bool more;

	/* SIGTERM goes to the whole group under systemd: the parent decides
	 * when we stop, after the transaction in flight. */
	child_ignore_signals();

	strlcpy(id, first_id, sizeof id);
	connect_any(&w, host_until, nhosts);
	if (w.s == NULL && w.open_why.text[0] == '\0') {
		/* Every smarthost is held down: nothing was tried. */
		worker_say_release(w.sock, id, false);
		_exit(0);
	}
	for (;;) {
		if (attempt(&w, id, &o) == -1) {
			more = w.s != NULL && smtp_usable(w.s);
			if (worker_say_release(w.sock, id, more) == -1)
				orphaned(&w);
		} else {
			more = w.s != NULL && smtp_usable(w.s);
			if (worker_say_done(w.sock, id, o.next, o.final, o.sent, o.deferred,
			    o.bounced, more) == -1)
				orphaned(&w);
		}
		sync_removals(&w, false);
		if (!more || !worker_ask(w.sock, id))
			break;
		if (smtp_rset(w.s) != SMTP_DONE) {
			if (worker_say_release(w.sock, id, false) == -1)
				orphaned(&w);
			break;
		}
	}
	sync_removals(&w, true);
	if (w.s != NULL)
		smtp_close(w.s, true);
	_exit(0);
}
