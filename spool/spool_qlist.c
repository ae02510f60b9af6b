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
#include "spool.h"
#include "util_utf8.h"

#define INDENT 48
/* incoming/new seen from queue/: both callers (relayd's LIST, sendmail's
 * direct read) pass SPOOL/queue, so this finds the maildrop of the same
 * spool without a new parameter. */
#define MAILDROP_FROM_QUEUE "../" SPOOL_DROP_NEW

struct entry {
	struct qmsg m;
	bool failed;	/* in failed/ */
	bool maildrop;	/* a drop file in incoming/new, not picked up yet */
	bool busy;
};

struct list {
	struct entry *e;
	size_t n, cap;
	size_t sorted;	/* e[0..sorted) is in id order (by_id), for have_id */
};

static int by_id(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return strcmp(x->m.id, y->m.id);
}

static int id_vs_entry(const void *key, const void *b)
{
	const struct entry *y = b;

	return strcmp(key, y->m.id);
}

/* Is id among the entries sorted so far? O(log n): a queue of 50 000 and a
 * maildrop of 50 000 must not cost 50 000 x 50 000 comparisons. */
static bool have_id(const struct list *l, const char *id)
{
	return l->sorted > 0 && bsearch(id, l->e, l->sorted, sizeof(*l->e), id_vs_entry) != NULL;
}

static void sort_by_id(struct list *l)
{
	if (l->n > 1)
		qsort(l->e, l->n, sizeof(*l->e), by_id);
	l->sorted = l->n;
}

/* Append m (taken over) to l; the new entry, zeroed but for m. */
static struct entry *push(struct list *l, const struct qmsg *m)
{
	struct entry *e;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->e = xreallocarray(l->e, l->cap, sizeof(*l->e));
	}
	e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	e->m = *m;
	return e;
}

/* Load every ID.env of dir that o lets the caller see. */
static int scan(int dir, bool failed, const struct qlist_opts *o, struct list *l, char *err,
    size_t errlen)
{
	char id[17], why[256];
	struct dirent *de;
	struct qmsg m;
	uid_t uid;
	DIR *d;
	int fd;

	fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		int e = errno;

		if (fd != -1)
			close(fd);
		snprintf(err, errlen, "cannot read %s/: %s", failed ? "failed" : "queue",
		    strerror(e));
		errno = e;
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 16 + 4 || strcmp(de->d_name + 16, ".env") != 0)
			continue;
		memcpy(id, de->d_name, 16);
		id[16] = '\0';
		if (!queue_id_valid(id) || (failed && have_id(l, id)))
			continue;
		if (!o->all && o->owners != NULL && qlist_owners_get(o->owners, id, &uid) &&
		    uid != o->uid)
			continue;	/* someone else's: not even parsed */
		if (qmsg_load(dir, id, &m, why, sizeof why) == -1)
			continue;
		if (o->owners != NULL)
			qlist_owners_put(o->owners, id, m.uid);
		if (!o->all && m.uid != o->uid) {
			qmsg_free(&m);
			continue;
		}
		push(l, &m)->failed = failed;
		l->e[l->n - 1].busy = !failed && o->busy != NULL && o->busy(o->ctx, id);
	}
	closedir(d);
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
	struct entry *e;
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
	e = push(l, &m);
	e->maildrop = true;
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

	if (x->m.arrival != y->m.arrival)
		return x->m.arrival < y->m.arrival ? -1 : 1;
	return strcmp(x->m.id, y->m.id);
}

/* "Sun Nov 22 12:00:00" in local time, as Postfix prints it. */
static void when(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(out, outlen, "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

static bool listed(const struct qrcpt *r)
{
	return r->state != RCPT_SENT;
}

/* The last reply as "451 4.3.0 text" (relayd stores the server's whole
 * line as the text; our own reasons carry no code), or "". */
static void reply_text(const struct qrcpt *r, char *out, size_t outlen)
{
	char code[8] = "";
	const char *text = r->text != NULL ? r->text : "";

	if (r->code != 0)
		snprintf(code, sizeof code, "%d", r->code);
	if (code[0] == '\0' || strncmp(text, code, 3) == 0)
		snprintf(out, outlen, "%s", text);
	else
		snprintf(out, outlen, "%s%s%s%s%s", code, r->dsn[0] ? " " : "", r->dsn,
		    text[0] ? " " : "", text);
}

static const char *queue_name(const struct entry *e)
{
	if (e->maildrop)
		return "maildrop";
	if (e->failed)
		return "failed";
	if (e->m.held)
		return "hold";
	if (e->busy || e->m.tries == 0)
		return "active";
	return "deferred";
}

static int text_entry(const struct entry *e, time_t now, struct buf *out)
{
	const struct qmsg *m = &e->m;
	char date[64], next[64], reply[QUEUE_TEXT_MAX + 32];
	time_t arrival = (time_t)m->arrival;
	size_t i;

	when(arrival, date, sizeof date);
	if (buf_appendf(out, "%-16s%c%8llu %-20.20s %s\n", m->id,
		m->held ? '!' : e->busy ? '*' : ' ', (unsigned long long)m->size, date,
		m->env.sender[0] != '\0' ? m->env.sender : "MAILER-DAEMON") == -1)
		return -1;
	when(m->next > now ? m->next : now, next, sizeof next);
	for (i = 0; i < m->env.nrcpts; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		bool waiting = r->state == RCPT_PENDING || r->state == RCPT_DEFERRED;

		if (!listed(r))
			continue;
		if (e->maildrop) {
			if (buf_appendf(out, "%*s(waiting for pick-up)\n%*s%s\n", INDENT, "",
				INDENT, "", m->env.rcpts[i].addr) == -1)
				return -1;
			continue;
		}
		reply_text(r, reply, sizeof reply);
		if (buf_appendf(out, "%*s(%s%s%s", INDENT, "", qmsg_rcpt_state_name(r->state),
			reply[0] ? ": " : "", reply) == -1)
			return -1;
		if (waiting && m->held && buf_appends(out, "; on hold") == -1)
			return -1;
		if (waiting && !m->held && !e->failed &&
		    buf_appendf(out, "; next attempt %s", e->busy ? "now" : next) == -1)
			return -1;
		if (buf_appendf(out, ")\n%*s%s\n", INDENT, "", m->env.rcpts[i].addr) == -1)
			return -1;
	}
	return 0;
}

static int format_text(const struct list *l, time_t now, struct buf *out)
{
	unsigned long long total = 0;
	size_t i;

	if (l->n == 0)
		return buf_appends(out, "Mail queue is empty\n");
	if (buf_appends(out, "-Queue ID-       --Size-- ----Arrival Time---- "
		"-Sender/Recipient-------\n") == -1)
		return -1;
	for (i = 0; i < l->n; i++) {
		if ((i > 0 && buf_appends(out, "\n") == -1) || text_entry(&l->e[i], now, out) == -1)
			return -1;
		total += l->e[i].m.size;
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

static int json_rcpt(const struct entry *e, size_t i, bool first, struct buf *out)
{
	const struct qrcpt *r = &e->m.rcpts[i];
	const struct env_rcpt *er = &e->m.env.rcpts[i];
	char reply[QUEUE_TEXT_MAX + 32];

	if (buf_appends(out, first ? "{\"address\":" : ",{\"address\":") == -1 ||
	    qlist_json_append_str(out, er->addr) == -1)
		return -1;
	if (er->orcpt != NULL && strcmp(er->orcpt, er->addr) != 0 &&
	    (buf_appends(out, ",\"orig_address\":") == -1 || qlist_json_append_str(out, er->orcpt) == -1))
		return -1;
	reply_text(r, reply, sizeof reply);
	if (reply[0] != '\0' &&
	    (buf_appends(out, ",\"delay_reason\":") == -1 || qlist_json_append_str(out, reply) == -1))
		return -1;
	return buf_appendf(out, ",\"state\":\"%s\"}", qmsg_rcpt_state_name(r->state));
}

static int json_entry(const struct entry *e, struct buf *out)
{
	const struct qmsg *m = &e->m;
	bool first = true;
	size_t i;

	if (buf_appendf(out, "{\"queue_name\":\"%s\",\"queue_id\":\"%s\",\"arrival_time\":%lld,"
		"\"message_size\":%llu,\"forced_expire\":false,\"sender\":", queue_name(e), m->id,
		(long long)m->arrival, (unsigned long long)m->size) == -1 ||
	    qlist_json_append_str(out, m->env.sender) == -1)
		return -1;
	if (buf_appends(out, ",\"recipients\":[") == -1)
		return -1;
	for (i = 0; i < m->env.nrcpts; i++) {
		if (!listed(&m->rcpts[i]))
			continue;
		if (json_rcpt(e, i, first, out) == -1)
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

	if (o->owners != NULL)
		qlist_owners_begin(o->owners);
	if (scan(qdir, false, o, &l, err, errlen) == -1)
		r = -1;
	sort_by_id(&l);
	if (r == 0 && faileddir != -1 && scan(faileddir, true, o, &l, err, errlen) == -1)
		r = -1;
	sort_by_id(&l);
	if (r == 0)
		scan_maildrop(qdir, now, o, &l);
	/* Only a complete pass may forget what it did not see. */
	if (o->owners != NULL && r == 0)
		qlist_owners_end(o->owners);
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
		qmsg_free(&l.e[i].m);
	free(l.e);
	return r;
}
