/* What the listing remembers of each queued id (spool_qlist_owner.h): its
 * record, in one open addressing table; each listing marks what it saw,
 * and a complete one drops the rest (what left the queue). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool_qlist_owner.h"
#include "spool_queue.h"
#include "util.h"

/* A state file written this recently is not trusted from memory. */
#define RACY_SECONDS 2

struct slot {
	struct qlist_rec *r;	/* NULL = empty */
	unsigned pass;		/* the listing that last saw it */
};

struct qlist_owners {
	struct slot *s;
	size_t cap, n;	/* cap a power of two, at most half full */
	unsigned pass;
	/* qlist_owners_load_later: read at the first listing or save. */
	bool load_pending;
	int load_dir;
	char load_name[32];
};

void qlist_reply_text(const struct qrcpt *r, char *out, size_t outlen)
{
	char code[8] = "";
	const char *text = r->text != NULL ? r->text : "";

	/* relayd stores the server's whole line as the text; our own
	 * reasons carry no code. */
	if (r->code != 0)
		snprintf(code, sizeof code, "%d", r->code);
	if (code[0] == '\0' || strncmp(text, code, 3) == 0)
		snprintf(out, outlen, "%s", text);
	else
		snprintf(out, outlen, "%s%s%s%s%s", code, r->dsn[0] ? " " : "", r->dsn,
		    text[0] ? " " : "", text);
}

static bool listed(const struct qrcpt *r)
{
	return r->state != RCPT_SENT;
}

static size_t put_str(char *p, const char *s)
{
	size_t n = strlen(s) + 1;

	if (p != NULL)
		memcpy(p, s, n);
	return n;
}

/* Lay m's listed part out at p (NULL: only measure). The bytes used. */
static size_t layout(const struct qmsg *m, char *p, size_t *nrcpts)
{
	char reply[QUEUE_TEXT_MAX + 32];
	size_t len = 0, i;

	*nrcpts = 0;
	len += put_str(p != NULL ? p + len : NULL, m->env.sender);
	for (i = 0; i < m->env.nrcpts; i++) {
		const struct env_rcpt *er = &m->env.rcpts[i];
		const char *o = er->orcpt != NULL && strcmp(er->orcpt, er->addr) != 0 ? er->orcpt : "";

		if (!listed(&m->rcpts[i]))
			continue;
		qlist_reply_text(&m->rcpts[i], reply, sizeof reply);
		if (p != NULL)
			p[len] = (char)m->rcpts[i].state;
		len++;
		len += put_str(p != NULL ? p + len : NULL, er->addr);
		len += put_str(p != NULL ? p + len : NULL, o);
		len += put_str(p != NULL ? p + len : NULL, reply);
		(*nrcpts)++;
	}
	return len;
}

struct qlist_rec *qlist_rec_new(const struct qmsg *m, bool failed, bool maildrop,
    const struct stat *st, time_t now)
{
	size_t n, len = layout(m, NULL, &n);
	struct qlist_rec *r = xcalloc(1, sizeof(*r) + len);

	memcpy(r->id, m->id, sizeof r->id);
	r->failed = failed;
	r->maildrop = maildrop;
	r->held = m->held;
	r->uid = m->uid;
	r->arrival = m->arrival;
	r->size = m->size;
	r->tries = m->tries;
	r->next = m->next;
	r->len = layout(m, r->data, &r->nrcpts);
	if (st != NULL) {
		r->ino = st->st_ino;
		r->st_size = st->st_size;
		r->mtim = st->st_mtim;
		r->ctim = st->st_ctim;
		r->racy = st->st_mtim.tv_sec > now - RACY_SECONDS ||
		    st->st_ctim.tv_sec > now - RACY_SECONDS;
	} else {
		r->racy = true;
	}
	return r;
}

const char *qlist_rec_sender(const struct qlist_rec *r)
{
	return r->data;
}

bool qlist_rec_rcpt(const struct qlist_rec *r, size_t *off, struct qlist_rcpt *out)
{
	const char *p;

	if (*off == 0)
		*off = strlen(r->data) + 1;
	if (*off >= r->len)
		return false;
	p = r->data + *off;
	out->state = (enum rcpt_state)(unsigned char)*p++;
	out->addr = p;
	p += strlen(p) + 1;
	out->orcpt = *p != '\0' ? p : NULL;
	p += strlen(p) + 1;
	out->reply = p;
	p += strlen(p) + 1;
	*off = (size_t)(p - r->data);
	return true;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool qlist_rec_fresh(const struct qlist_rec *r, const struct stat *st, bool failed)
{
	return !r->racy && !r->maildrop && r->failed == failed && S_ISREG(st->st_mode) &&
	    r->ino == st->st_ino && r->st_size == st->st_size && same_time(&r->mtim, &st->st_mtim) &&
	    same_time(&r->ctim, &st->st_ctim);
}

static size_t id_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)h;
}

/* The slot of id: its own, or the empty one where it would go. */
static struct slot *find(const struct qlist_owners *t, const char *id)
{
	size_t i;

	for (i = id_hash(id) & (t->cap - 1); t->s[i].r != NULL; i = (i + 1) & (t->cap - 1))
		if (strcmp(t->s[i].r->id, id) == 0)
			return &t->s[i];
	return &t->s[i];
}

/* Re-insert the records seen in pass keep (all if keep is 0) into a table
 * of cap slots; free the others. */
static void rebuild(struct qlist_owners *t, size_t cap, unsigned keep)
{
	struct qlist_owners g = *t;	/* the pass, a pending load */
	size_t i;

	g.cap = cap;
	g.n = 0;
	g.s = xcalloc(g.cap, sizeof(*g.s));
	for (i = 0; i < t->cap; i++) {
		struct slot *s = &t->s[i], *d;

		if (s->r == NULL)
			continue;
		if (keep != 0 && s->pass != keep) {
			free(s->r);
			continue;
		}
		d = find(&g, s->r->id);
		*d = *s;
		g.n++;
	}
	free(t->s);
	*t = g;
}

struct qlist_owners *qlist_owners_new(void)
{
	return xcalloc(1, sizeof(struct qlist_owners));
}

void qlist_owners_free(struct qlist_owners *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->cap; i++)
		free(t->s[i].r);
	free(t->s);
	free(t);
}

void qlist_owners_load_later(struct qlist_owners *t, int dir, const char *name)
{
	t->load_pending = strlcpy(t->load_name, name, sizeof t->load_name) < sizeof t->load_name;
	t->load_dir = dir;
}

bool qlist_owners_pending(struct qlist_owners *t, int *dir, const char **name)
{
	if (!t->load_pending)
		return false;
	t->load_pending = false;
	*dir = t->load_dir;
	*name = t->load_name;
	return true;
}

void qlist_owners_begin(struct qlist_owners *t)
{
	/* 0 is never a pass: rebuild's "keep them all". */
	if (++t->pass == 0)
		t->pass = 1;
}

void qlist_owners_end(struct qlist_owners *t, bool complete)
{
	size_t cap = 64;

	if (!complete || t->cap == 0)
		return;
	rebuild(t, t->cap, t->pass);
	/* Shrink after the queue drained: at most a quarter full, not less. */
	while (cap < t->n * 4)
		cap *= 2;
	if (cap < t->cap)
		rebuild(t, cap, 0);
}

struct qlist_rec *qlist_owners_get(struct qlist_owners *t, const char *id)
{
	struct slot *s;

	if (t->cap == 0)
		return NULL;
	s = find(t, id);
	if (s->r == NULL)
		return NULL;
	s->pass = t->pass;
	return s->r;
}

/* Keep r; one already held for its id is replaced, or (keep_old) kept
 * and r freed. */
static void put(struct qlist_owners *t, struct qlist_rec *r, bool keep_old)
{
	struct slot *s;

	if ((t->n + 1) * 2 > t->cap)
		rebuild(t, t->cap ? t->cap * 2 : 64, 0);
	s = find(t, r->id);
	if (s->r == NULL) {
		t->n++;
	} else if (keep_old && s->r != r) {
		free(r);
		return;
	} else if (s->r != r) {
		free(s->r);
	}
	s->r = r;
	s->pass = t->pass;
}

void qlist_owners_put(struct qlist_owners *t, struct qlist_rec *r)
{
	put(t, r, false);
}

void qlist_owners_add(struct qlist_owners *t, struct qlist_rec *r)
{
	put(t, r, true);
}

void qlist_owners_reserve(struct qlist_owners *t, size_t n)
{
	size_t cap = t->cap ? t->cap : 64;

	while ((t->n + n) * 2 > cap)
		cap *= 2;
	if (cap > t->cap)
		rebuild(t, cap, 0);
}

size_t qlist_owners_count(const struct qlist_owners *t)
{
	return t->n;
}

void qlist_owners_each(const struct qlist_owners *t, qlist_owners_cb cb, void *ctx)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		if (t->s[i].r != NULL)
			cb(ctx, t->s[i].r);
}

bool qlist_rec_valid(const struct qlist_rec *r)
{
	const unsigned char *b = (const unsigned char *)r;
	const size_t flags[] = { offsetof(struct qlist_rec, failed),
		offsetof(struct qlist_rec, maildrop), offsetof(struct qlist_rec, held),
		offsetof(struct qlist_rec, racy) };
	size_t i, off, n = 0;
	const char *p, *end;

	for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (b[flags[i]] > 1)
			return false;
	if (memchr(r->id, '\0', sizeof r->id) == NULL || !queue_id_valid(r->id) || r->len == 0 ||
	    memchr(r->data, '\0', r->len) == NULL)
		return false;
	/* Every recipient whole inside len, and as many as it says. */
	end = r->data + r->len;
	for (off = strlen(r->data) + 1; off < r->len; n++) {
		p = r->data + off;
		if ((unsigned char)*p > RCPT_FAILED)
			return false;
		p++;
		for (i = 0; i < 3; i++) {
			const char *z = memchr(p, '\0', (size_t)(end - p));

			if (z == NULL)
				return false;
			p = z + 1;
		}
		off = (size_t)(p - r->data);
	}
	return n == r->nrcpts;
}
