/*
 * The queue listing (spool_qlist.h). Text layout, as Postfix's mailq with our
 * 16-character ids:
 *
 *   -Queue ID-       --Size-- ----Arrival Time---- -Sender/Recipient-------
 *   69A1B2C3D4E5F607     2345 Sun Nov 22 12:00:00  alice@example.org
 *                                                   (deferred: 451 4.3.0 later; next attempt ...)
 *                                                   bob@example.org
 *
 *   -- 3 Kbytes in 1 Request.
 *
 * After the id, '*' marks a message a worker is delivering now and '!' a
 * held one. Only recipients not yet delivered are listed, each under its
 * state line. Drop files still waiting in incoming/new (relayd stopped, or
 * not yet picked up) are listed too, as Postfix lists its maildrop queue:
 * the file's name, size and mtime, the envelope sender, and each recipient
 * under "(waiting for pick-up)"; queue_name "maildrop" in JSON. JSON: one
 * object per message and line, `postqueue -j` names
 * (queue_name, queue_id, arrival_time, message_size, forced_expire, sender,
 * recipients[address, orig_address, delay_reason]) plus ours (tries,
 * next_attempt, state per recipient).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool_qlist.h"
#include "spool_qmsg.h"
#include "spool_queue.h"
#include "spool.h"
#include "util_utf8.h"

#define INDENT 48
static const char pad[INDENT + 1] = "                                                ";
/* incoming/new seen from queue/: both callers (relayd's LIST, sendmail's
 * direct read) pass SPOOL/queue, so this finds the maildrop of the same
 * spool without a new parameter. */
#define MAILDROP_FROM_QUEUE "../" SPOOL_DROP_NEW

struct entry {
	struct qlist_rec *r;
	bool busy;
	bool owned;	/* freed after the listing (else the cache keeps it) */
};

struct list {
	struct entry *e;
	size_t n, cap;
	size_t sort_at;	/* have_id looks at e[0..sort_at), sorted on demand */
	size_t sorted;	/* e[0..sorted) is in id order (by_id) */
};

static int by_id(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return memcmp(x->r->id, y->r->id, QUEUE_ID_LEN);
}

static int id_vs_entry(const void *key, const void *b)
{
	const struct entry *y = b;

	return memcmp(key, y->r->id, QUEUE_ID_LEN);
}

/* Is id (a valid queue id) among e[0..sort_at)? O(log n) once sorted: a
 * queue of 50 000 and a maildrop of 50 000 must not cost 50 000 x 50 000
 * comparisons. Sorted only when asked: root's listing of a queue with an
 * empty failed/ and maildrop never needs it. */
static bool have_id(struct list *l, const char *id)
{
	if (l->sorted != l->sort_at) {
		if (l->sort_at > 1)
			qsort(l->e, l->sort_at, sizeof(*l->e), by_id);
		l->sorted = l->sort_at;
	}
	return l->sorted > 0 && bsearch(id, l->e, l->sorted, sizeof(*l->e), id_vs_entry) != NULL;
}

/* From here on, have_id answers for what is listed now. */
static void mark_listed(struct list *l)
{
	l->sort_at = l->n;
}

static void push(struct list *l, struct qlist_rec *r, bool busy, bool owned)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->e = xreallocarray(l->e, l->cap, sizeof(*l->e));
	}
	l->e[l->n++] = (struct entry){ .r = r, .busy = busy, .owned = owned };
}

struct scan_ctx {
	int dir;
	bool failed;
	time_t wall;
	const struct qlist_opts *o;
	struct list *l;
};

/*
 * The record of dir/ID.env: the cached one while its file has not changed
 * (one fstatat), else read and parsed again (and cached). NULL if it is
 * gone or does not parse. *owned: the caller frees it.
 */
static struct qlist_rec *load_rec(struct scan_ctx *sc, const char *id, struct qlist_rec *cached,
    bool busy, bool *owned)
{
	const struct qlist_opts *o = sc->o;
	char name[QUEUE_NAME_SIZE], why[256];
	struct qlist_rec *r;
	struct stat st;
	struct qmsg m;

	*owned = false;
	/* A message a worker holds is about to change: always read. */
	if (cached != NULL && !busy &&
	    fstatat(sc->dir, queue_name(name, id, QUEUE_ENV), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    qlist_rec_fresh(cached, &st, sc->failed))
		return cached;
	if (qmsg_load_stat(sc->dir, id, &m, &st, why, sizeof why) == -1)
		return NULL;
	r = qlist_rec_new(&m, sc->failed, false, &st, sc->wall);
	qmsg_free(&m);
	if (o->owners != NULL)
		qlist_owners_put(o->owners, r);
	else
		*owned = true;
	return r;
}

/* One queue file: an ID.env that o lets the caller see is listed. */
static int scan_one(void *arg, const char *id, enum queue_part part)
{
	struct scan_ctx *sc = arg;
	const struct qlist_opts *o = sc->o;
	struct list *l = sc->l;
	struct qlist_rec *r = NULL;
	bool busy, owned;

	if (part != QUEUE_ENV || (sc->failed && have_id(l, id)))
		return 0;
	if (o->owners != NULL)
		r = qlist_owners_get(o->owners, id);
	/* Someone else's: not even looked at (the submitter never changes). */
	if (!o->all && r != NULL && r->uid != o->uid)
		return 0;
	busy = !sc->failed && o->busy != NULL && o->busy(o->ctx, id);
	if ((r = load_rec(sc, id, r, busy, &owned)) == NULL)
		return 0;
	if (!o->all && r->uid != o->uid) {
		if (owned)
			free(r);
		return 0;
	}
	push(l, r, busy, owned);
	return 0;
}

/* List every ID.env of dir that o lets the caller see. */
static int scan(int dir, bool failed, const struct qlist_opts *o, struct list *l, char *err,
    size_t errlen)
{
	struct scan_ctx sc = { .dir = dir, .failed = failed, .wall = time(NULL), .o = o, .l = l };

	if (queue_each(dir, scan_one, &sc) == -1) {
		int e = errno;

		snprintf(err, errlen, "cannot read %s/: %s", failed ? "failed" : "queue",
		    strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * One drop file of incoming/new as a listing entry, if it passes the
 * checks relayd makes at pick-up (drop_file_open: read only, nothing is
 * removed or moved here) and o lets the caller see it (its owner is the
 * submitter).
 */
static void load_drop(int newdir, const char *name, time_t now, const struct qlist_opts *o,
    struct list *l)
{
	struct drop_file df;
	struct qmsg m;
	struct stat st;
	char why[256];

	/* The owner is the submitter: someone else's drop file is not even
	 * opened, let alone parsed. */
	if (!o->all && (fstatat(newdir, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_uid != o->uid))
		return;
	if (drop_file_open(newdir, name, 0, now, &df, why, sizeof why) != DROP_OK)
		return;
	if (!o->all && df.st.st_uid != o->uid) {
		drop_file_close(&df);
		return;
	}
	qmsg_init(&m);
	strlcpy(m.id, name, sizeof m.id);
	m.env = df.env;		/* take it over */
	envelope_init(&df.env);
	qmsg_init_rcpts(&m);
	m.uid = df.st.st_uid;
	m.arrival = (double)df.st.st_mtim.tv_sec;
	m.size = (uint64_t)df.st.st_size;
	drop_file_close(&df);
	push(l, qlist_rec_new(&m, false, true, NULL, now), false, true);
	qmsg_free(&m);
}

/*
 * The maildrop: drop files in incoming/new not yet picked up. One whose id
 * is already listed from queue/ (a pick-up interrupted before it removed
 * the drop file) is shown once, from queue/. A spool without a readable
 * incoming/new (or a qdir outside a spool) simply has no maildrop.
 */
static void scan_maildrop(int qdir, time_t now, const struct qlist_opts *o, struct list *l)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(qdir, MAILDROP_FROM_QUEUE, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name) || have_id(l, de->d_name))
			continue;
		load_drop(dirfd(d), de->d_name, now, o, l);
	}
	closedir(d);
}

static int by_arrival(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->r->arrival != y->r->arrival)
		return x->r->arrival < y->r->arrival ? -1 : 1;
	return memcmp(x->r->id, y->r->id, QUEUE_ID_LEN);
}

/* "Sun Nov 22 12:00:00" in local time, as Postfix prints it. Consecutive
 * calls often ask for the same second (a batch arrived at once, or "now"):
 * the last answer is kept. */
struct when_memo {
	time_t t;
	bool valid;
	char s[64];
};

static const char *when(struct when_memo *w, time_t t)
{
	struct tm tm;

	if (w->valid && w->t == t)
		return w->s;
	if (localtime_r(&t, &tm) == NULL || strftime(w->s, sizeof w->s, "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(w->s, sizeof w->s, "%lld", (long long)t);
	w->t = t;
	w->valid = true;
	return w->s;
}

struct text_ctx {
	time_t now;
	struct when_memo arrival, next;
};

static const char *entry_queue(const struct entry *e)
{
	if (e->r->maildrop)
		return "maildrop";
	if (e->r->failed)
		return "failed";
	if (e->r->held)
		return "hold";
	if (e->busy || e->r->tries == 0)
		return "active";
	return "deferred";
}

static int text_entry(const struct entry *e, struct text_ctx *tc, struct buf *out)
{
	const struct qlist_rec *m = e->r;
	const char *sender = qlist_rec_sender(m), *next;
	struct qlist_rcpt rc;
	size_t off = 0;
	char head[64];
	int hl;

	/* One snprintf, not buf_appendf's two (it measures first). */
	hl = snprintf(head, sizeof head, "%-16s%c%8llu %-20.20s ", m->id,
	    m->held ? '!' : e->busy ? '*' : ' ', (unsigned long long)m->size,
	    when(&tc->arrival, (time_t)m->arrival));
	if (hl < 0 || (size_t)hl >= sizeof head || buf_append(out, head, (size_t)hl) == -1 ||
	    buf_appends(out, sender[0] != '\0' ? sender : "MAILER-DAEMON") == -1 ||
	    buf_appends(out, "\n") == -1)
		return -1;
	next = when(&tc->next, m->next > tc->now ? m->next : tc->now);
	while (qlist_rec_rcpt(m, &off, &rc)) {
		bool waiting = rc.state == RCPT_PENDING || rc.state == RCPT_DEFERRED;
		int r = 0;

		/* Plain appends: printf's "%*s" pads a byte at a time, and a
		 * listing of 100 000 messages pads 200 000 times. */
		if (m->maildrop) {
			r |= buf_append(out, pad, INDENT);
			r |= buf_appends(out, "(waiting for pick-up)\n");
		} else {
			r |= buf_append(out, pad, INDENT);
			r |= buf_appends(out, "(");
			r |= buf_appends(out, qmsg_rcpt_state_name(rc.state));
			if (rc.reply[0] != '\0') {
				r |= buf_appends(out, ": ");
				r |= buf_appends(out, rc.reply);
			}
			if (waiting && m->held)
				r |= buf_appends(out, "; on hold");
			if (waiting && !m->held && !m->failed) {
				r |= buf_appends(out, "; next attempt ");
				r |= buf_appends(out, e->busy ? "now" : next);
			}
			r |= buf_appends(out, ")\n");
		}
		r |= buf_append(out, pad, INDENT);
		r |= buf_appends(out, rc.addr);
		r |= buf_appends(out, "\n");
		if (r != 0)
			return -1;
	}
	return 0;
}

static int format_text(const struct list *l, time_t now, struct buf *out)
{
	struct text_ctx tc = { .now = now };
	unsigned long long total = 0;
	size_t i;

	if (l->n == 0)
		return buf_appends(out, "Mail queue is empty\n");
	if (buf_appends(out, "-Queue ID-       --Size-- ----Arrival Time---- "
		"-Sender/Recipient-------\n") == -1)
		return -1;
	for (i = 0; i < l->n; i++) {
		if ((i > 0 && buf_appends(out, "\n") == -1) || text_entry(&l->e[i], &tc, out) == -1)
			return -1;
		total += l->e[i].r->size;
	}
	return buf_appendf(out, "\n-- %llu Kbytes in %zu Request%s.\n", (total + 1023) / 1024,
	    l->n, l->n == 1 ? "" : "s");
}

int qlist_json_append_str(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (buf_appends(out, "\"") == -1)
		return -1;
	while (*p != '\0') {
		unsigned long cp;
		size_t n = utf8_seq((const char *)p, &cp);
		int r;

		/* Always valid UTF-8 out, whatever came in: a byte that does
		 * not start a valid sequence becomes U+FFFD, and controls (C0,
		 * DEL, C1) are escaped. */
		if (n == 0) {
			r = buf_appends(out, "\\ufffd");
			n = 1;
		} else if (*p == '"' || *p == '\\')
			r = buf_appendf(out, "\\%c", *p);
		else if (*p == '\n')
			r = buf_appends(out, "\\n");
		else if (*p == '\t')
			r = buf_appends(out, "\\t");
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			r = buf_appendf(out, "\\u%04lx", cp);
		else
			r = buf_append(out, p, n);
		if (r == -1)
			return -1;
		p += n;
	}
	return buf_appends(out, "\"");
}

static int json_rcpt(const struct qlist_rcpt *rc, bool first, struct buf *out)
{
	if (buf_appends(out, first ? "{\"address\":" : ",{\"address\":") == -1 ||
	    qlist_json_append_str(out, rc->addr) == -1)
		return -1;
	if (rc->orcpt != NULL &&
	    (buf_appends(out, ",\"orig_address\":") == -1 || qlist_json_append_str(out, rc->orcpt) == -1))
		return -1;
	if (rc->reply[0] != '\0' &&
	    (buf_appends(out, ",\"delay_reason\":") == -1 || qlist_json_append_str(out, rc->reply) == -1))
		return -1;
	return buf_appendf(out, ",\"state\":\"%s\"}", qmsg_rcpt_state_name(rc->state));
}

static int json_entry(const struct entry *e, struct buf *out)
{
	const struct qlist_rec *m = e->r;
	struct qlist_rcpt rc;
	bool first = true;
	size_t off = 0;

	if (buf_appendf(out, "{\"queue_name\":\"%s\",\"queue_id\":\"%s\",\"arrival_time\":%lld,"
		"\"message_size\":%llu,\"forced_expire\":false,\"sender\":", entry_queue(e), m->id,
		(long long)m->arrival, (unsigned long long)m->size) == -1 ||
	    qlist_json_append_str(out, qlist_rec_sender(m)) == -1)
		return -1;
	if (buf_appends(out, ",\"recipients\":[") == -1)
		return -1;
	while (qlist_rec_rcpt(m, &off, &rc)) {
		if (json_rcpt(&rc, first, out) == -1)
			return -1;
		first = false;
	}
	return buf_appendf(out, "],\"tries\":%u,\"next_attempt\":%lld,\"held\":%s}\n", m->tries,
	    (long long)m->next, m->held ? "true" : "false");
}

int qlist_format(int qdir, int faileddir, const struct qlist_opts *o, struct buf *out,
    char *err, size_t errlen)
{
	struct list l = { 0 };
	time_t now = o->now != 0 ? o->now : time(NULL);
	size_t i;
	int r = 0;

	if (o->owners != NULL) {
		qlist_owners_load_now(o->owners);
		qlist_owners_begin(o->owners);
	}
	if (scan(qdir, false, o, &l, err, errlen) == -1)
		r = -1;
	mark_listed(&l);
	if (r == 0 && faileddir != -1 && scan(faileddir, true, o, &l, err, errlen) == -1)
		r = -1;
	mark_listed(&l);
	if (r == 0)
		scan_maildrop(qdir, now, o, &l);
	/* Only a complete pass may forget what it did not see. */
	if (o->owners != NULL)
		qlist_owners_end(o->owners, r == 0);
	if (r == 0) {
		if (l.n > 1)
			qsort(l.e, l.n, sizeof(*l.e), by_arrival);
		if (o->json) {
			for (i = 0; i < l.n && r == 0; i++)
				r = json_entry(&l.e[i], out);
		} else {
			r = format_text(&l, now, out);
		}
		if (r == -1)
			snprintf(err, errlen, "the listing is too large");
	}
	for (i = 0; i < l.n; i++)
		if (l.e[i].owned)
			free(l.e[i].r);
	free(l.e);
	return r;
}
