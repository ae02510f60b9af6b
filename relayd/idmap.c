/*
 * The string map (idmap.h). The table is a power of two and at most half
 * full; deletion shifts later members of the probe run back, so there are
 * no tombstones and a long-lived map (the schedule) never degrades.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "util.h"

/* Keys up to INLINE_MAX bytes (queue ids) live in the slot itself: no
 * allocation per key, one cache line per probe. */
#define INLINE_MAX 23

struct slot {
	char *key;	/* NULL = empty; inl, or a heap copy of a longer key */
	size_t val;
	uint32_t hash;
	char inl[INLINE_MAX + 1];
};

struct idmap {
	struct slot *t;
	size_t cap, n;	/* cap: a power of two */
};

/* FNV-1a: the keys are random queue ids or names, nothing to defend. */
static uint32_t hash_of(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct idmap *idmap_new(void)
{
	struct idmap *m = xcalloc(1, sizeof(*m));

	m->cap = 64;
	m->t = xcalloc(m->cap, sizeof(*m->t));
	return m;
}

void idmap_free(struct idmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->cap; i++) {
		if (m->t[i].key != NULL && m->t[i].key != m->t[i].inl)
			free(m->t[i].key);
	}
	free(m->t);
	free(m);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t probe(const struct idmap *m, const char *key, uint32_t h)
{
	size_t mask = m->cap - 1, i = h & mask;

	while (m->t[i].key != NULL && (m->t[i].hash != h || strcmp(m->t[i].key, key) != 0))
		i = (i + 1) & mask;
	return i;
}

/* *to = *from, keeping an inline key pointing at its own slot. */
static void move_slot(struct slot *to, struct slot *from)
{
	bool inl = from->key == from->inl;

	*to = *from;
	if (inl)
		to->key = to->inl;
	from->key = NULL;
}

static void grow(struct idmap *m)
{
	struct slot *old = m->t;
	size_t oldcap = m->cap, i;

	m->cap *= 2;
	m->t = xcalloc(m->cap, sizeof(*m->t));
	for (i = 0; i < oldcap; i++) {
		if (old[i].key != NULL)
			move_slot(&m->t[probe(m, old[i].key, old[i].hash)], &old[i]);
	}
	free(old);
}

void idmap_put(struct idmap *m, const char *key, size_t val)
{
	uint32_t h = hash_of(key);
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	i = probe(m, key, h);
	if (m->t[i].key == NULL) {
		if (strlen(key) <= INLINE_MAX) {
			strlcpy(m->t[i].inl, key, sizeof m->t[i].inl);
			m->t[i].key = m->t[i].inl;
		} else {
			m->t[i].key = xstrdup(key);
		}
		m->t[i].hash = h;
		m->n++;
	}
	m->t[i].val = val;
}

bool idmap_get(const struct idmap *m, const char *key, size_t *val)
{
	size_t i = probe(m, key, hash_of(key));

	if (m->t[i].key == NULL)
		return false;
	*val = m->t[i].val;
	return true;
}

void idmap_del(struct idmap *m, const char *key)
{
	size_t mask = m->cap - 1, i = probe(m, key, hash_of(key)), j, home;

	if (m->t[i].key == NULL)
		return;
	if (m->t[i].key != m->t[i].inl)
		free(m->t[i].key);
	m->t[i].key = NULL;
	m->n--;
	/* Backward shift: move up any later member whose home is at or before
	 * the hole (cyclically), so every probe run stays unbroken. */
	for (j = (i + 1) & mask; m->t[j].key != NULL; j = (j + 1) & mask) {
		home = m->t[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			move_slot(&m->t[i], &m->t[j]);
			i = j;
		}
	}
}

size_t idmap_count(const struct idmap *m)
{
	return m->n;
}
