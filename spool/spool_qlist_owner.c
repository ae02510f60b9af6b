/* The submitter of each queued id, remembered (spool_qlist_owner.h): two open
 * addressing tables, the last listing's and the current one; an id found
 * in the last one is copied over, so what left the queue is dropped. */
#include <stdlib.h>
#include <string.h>

#include "spool_qlist_owner.h"
#include "util.h"

struct slot {
	char id[17];	/* "" = empty */
	uid_t uid;
};

struct table {
	struct slot *s;
	size_t cap, n;	/* cap a power of two, at most half full */
};

struct qlist_owners {
	struct table old, cur;
};

static size_t id_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)h;
}

static struct slot *find(const struct table *t, const char *id)
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	for (i = id_hash(id) & (t->cap - 1); t->s[i].id[0] != '\0'; i = (i + 1) & (t->cap - 1))
		if (strcmp(t->s[i].id, id) == 0)
			return &t->s[i];
	return &t->s[i];
}

static void insert(struct table *t, const char *id, uid_t uid)
{
	struct slot *s;

	if ((t->n + 1) * 2 > t->cap) {
		struct table g = { .cap = t->cap ? t->cap * 2 : 64 };
		size_t i;

		g.s = xcalloc(g.cap, sizeof(*g.s));
		for (i = 0; i < t->cap; i++)
			if (t->s[i].id[0] != '\0')
				insert(&g, t->s[i].id, t->s[i].uid);
		free(t->s);
		*t = g;
	}
	s = find(t, id);
	if (s->id[0] == '\0') {
		strlcpy(s->id, id, sizeof s->id);
		t->n++;
	}
	s->uid = uid;
}

struct qlist_owners *qlist_owners_new(void)
{
	return xcalloc(1, sizeof(struct qlist_owners));
}

void qlist_owners_free(struct qlist_owners *t)
{
	if (t == NULL)
		return;
	free(t->old.s);
	free(t->cur.s);
	free(t);
}

void qlist_owners_begin(struct qlist_owners *t)
{
	free(t->old.s);
	t->old = t->cur;
	memset(&t->cur, 0, sizeof t->cur);
}

void qlist_owners_end(struct qlist_owners *t)
{
	free(t->old.s);
	memset(&t->old, 0, sizeof t->old);
}

bool qlist_owners_get(struct qlist_owners *t, const char *id, uid_t *uid)
{
	struct slot *s = find(&t->cur, id);

	if (s == NULL || s->id[0] == '\0')
		s = find(&t->old, id);
	if (s == NULL || s->id[0] == '\0')
		return false;
	*uid = s->uid;
	insert(&t->cur, id, *uid);
	return true;
}

void qlist_owners_put(struct qlist_owners *t, const char *id, uid_t uid)
{
	insert(&t->cur, id, uid);
}
