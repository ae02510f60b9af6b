/*
 * The parent's schedule (sched.h). Entries live in a flat array (removal
 * swaps the last one in); an idmap finds an entry by id and a binary
 * min-heap over the idle entries, ordered by (next attempt, arrival), gives
 * the next due one, so taking, reporting and removing cost O(log n) with
 * 100 000 queued messages. Busy entries (held by a worker) are out of the
 * heap; with --once an entry handed out once never goes back in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "sched.h"
#include "util.h"

#define NOT_IN_HEAP SIZE_MAX

struct entry {
	char id[17];
	double arrival;
	time_t next;
	bool busy;
	bool handed;	/* handed out in this run (for --once) */
	size_t hpos;	/* index in heap[], NOT_IN_HEAP if busy or parked */
};

struct hold {
	time_t until;
	time_t backoff;
	bool up;	/* last attempt succeeded */
};

struct sched {
	struct entry *e;
	size_t n, cap, nbusy;
	size_t *heap;	/* entry indexes; cap entries */
	size_t nheap;
	struct idmap *by_id;
	bool once;	/* a take with once parks handed entries for good */
	struct hold hosts[CONF_MAX_SMARTHOSTS];
	time_t host_until[CONF_MAX_SMARTHOSTS];
	double *starts;		/* ring of message start times for rate_limit */
	size_t nstarts, startcap, head;
};

struct sched *sched_new(void)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	size_t i;

	for (i = 0; i < CONF_MAX_SMARTHOSTS; i++)
		s->hosts[i].up = true;
	s->by_id = idmap_new();
	return s;
}

void sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	free(s->e);
	free(s->heap);
	idmap_free(s->by_id);
	free(s->starts);
	free(s);
}

/* ---- the heap ---- */

static bool before(const struct sched *s, size_t a, size_t b)
{
	const struct entry *x = &s->e[a], *y = &s->e[b];

	return x->next < y->next || (x->next == y->next && x->arrival < y->arrival);
}

static void hset(struct sched *s, size_t pos, size_t ei)
{
	s->heap[pos] = ei;
	s->e[ei].hpos = pos;
}

static void sift_up(struct sched *s, size_t pos)
{
	size_t ei = s->heap[pos];

	while (pos > 0 && before(s, ei, s->heap[(pos - 1) / 2])) {
		hset(s, pos, s->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	hset(s, pos, ei);
}

static void sift_down(struct sched *s, size_t pos)
{
	size_t ei = s->heap[pos], c;

	while ((c = 2 * pos + 1) < s->nheap) {
		if (c + 1 < s->nheap && before(s, s->heap[c + 1], s->heap[c]))
			c++;
		if (!before(s, s->heap[c], ei))
			break;
		hset(s, pos, s->heap[c]);
		pos = c;
	}
	hset(s, pos, ei);
}

static void heap_push(struct sched *s, size_t ei)
{
	if (s->e[ei].hpos != NOT_IN_HEAP)
		return;
	s->heap[s->nheap] = ei;
	s->e[ei].hpos = s->nheap++;
	sift_up(s, s->nheap - 1);
}

static void heap_drop(struct sched *s, size_t ei)
{
	size_t pos = s->e[ei].hpos, moved;

	if (pos == NOT_IN_HEAP)
		return;
	s->e[ei].hpos = NOT_IN_HEAP;
	if (pos == --s->nheap)
		return;
	moved = s->heap[s->nheap];
	hset(s, pos, moved);
	sift_down(s, pos);
	sift_up(s, s->e[moved].hpos);
}

/* The entry's key changed: restore the heap order around it. */
static void heap_fix(struct sched *s, size_t ei)
{
	if (s->e[ei].hpos == NOT_IN_HEAP)
		return;
	sift_up(s, s->e[ei].hpos);
	sift_down(s, s->e[ei].hpos);
}

/* Idle again (not busy): back into the heap unless parked by --once. */
static void idle(struct sched *s, size_t ei)
{
	struct entry *e = &s->e[ei];

	if (e->busy) {
		e->busy = false;
		s->nbusy--;
	}
	if (!(s->once && e->handed))
		heap_push(s, ei);
}

static struct entry *find(const struct sched *s, const char *id, size_t *ei)
{
	return idmap_get(s->by_id, id, ei) ? &s->e[*ei] : NULL;
}

void sched_add(struct sched *s, const char *id, double arrival, time_t next)
{
	size_t ei;
	struct entry *e = find(s, id, &ei);

	if (e == NULL) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->e = xreallocarray(s->e, s->cap, sizeof(*s->e));
			s->heap = xreallocarray(s->heap, s->cap, sizeof(*s->heap));
		}
		ei = s->n++;
		e = &s->e[ei];
		memset(e, 0, sizeof(*e));
		strlcpy(e->id, id, sizeof e->id);
		e->hpos = NOT_IN_HEAP;
		e->arrival = arrival;
		e->next = next;
		idmap_put(s->by_id, id, ei);
		heap_push(s, ei);
		return;
	}
	e->arrival = arrival;
	e->next = next;
	heap_fix(s, ei);
}

bool sched_has(const struct sched *s, const char *id)
{
	size_t ei;

	return find(s, id, &ei) != NULL;
}

void sched_remove(struct sched *s, const char *id)
{
	size_t ei, last;
	struct entry *e = find(s, id, &ei);

	if (e == NULL)
		return;
	heap_drop(s, ei);
	if (e->busy)
		s->nbusy--;
	idmap_del(s->by_id, id);
	last = --s->n;
	if (ei != last) {
		s->e[ei] = s->e[last];
		idmap_put(s->by_id, s->e[ei].id, ei);
		if (s->e[ei].hpos != NOT_IN_HEAP)
			s->heap[s->e[ei].hpos] = ei;
	}
}

void sched_update(struct sched *s, const char *id, time_t next)
{
	size_t ei;
	struct entry *e = find(s, id, &ei);

	if (e != NULL) {
		e->next = next;
		heap_fix(s, ei);
		idle(s, ei);
	}
}

void sched_release(struct sched *s, const char *id)
{
	size_t ei;

	if (find(s, id, &ei) != NULL)
		idle(s, ei);
}

static void mark_taken(struct sched *s, size_t ei, char id[17])
{
	struct entry *e = &s->e[ei];

	heap_drop(s, ei);
	e->busy = true;
	e->handed = true;
	s->nbusy++;
	strlcpy(id, e->id, 17);
}

/* With --once, drop handed-out entries from the top of the heap. */
static void prune(struct sched *s, bool once)
{
	if (once)
		s->once = true;
	while (s->once && s->nheap > 0 && s->e[s->heap[0]].handed)
		heap_drop(s, s->heap[0]);
}

bool sched_take(struct sched *s, time_t now, bool once, char id[17])
{
	prune(s, once);
	if (s->nheap == 0 || s->e[s->heap[0]].next > now)
		return false;
	mark_taken(s, s->heap[0], id);
	return true;
}

size_t sched_take_expired(struct sched *s, time_t now, bool once, double expired_before,
    char (*ids)[17], size_t max)
{
	size_t i, n = 0;

	prune(s, once);
	for (i = 0; i < s->n && n < max; i++) {
		struct entry *e = &s->e[i];

		if (e->hpos == NOT_IN_HEAP || e->next > now || e->arrival >= expired_before)
			continue;
		mark_taken(s, i, ids[n++]);
	}
	return n;
}

time_t sched_next_due(struct sched *s, bool once)
{
	time_t t;

	prune(s, once);
	if (s->nheap == 0)
		return 0;
	t = s->e[s->heap[0]].next;
	return t > 0 ? t : 1;
}

void sched_flush(struct sched *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		s->e[i].next = 0;
	/* All keys now tie on next: re-heapify by arrival. */
	for (i = s->nheap / 2; i-- > 0;)
		sift_down(s, i);
	sched_hosts_reset(s);
}

void sched_each(const struct sched *s, void (*cb)(void *ctx, const char *id, double arrival,
    time_t next), void *ctx)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		cb(ctx, s->e[i].id, s->e[i].arrival, s->e[i].next);
}

size_t sched_count(const struct sched *s)
{
	return s->n;
}

size_t sched_busy(const struct sched *s)
{
	return s->nbusy;
}

double sched_oldest(const struct sched *s)
{
	double t = 0;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (t == 0 || s->e[i].arrival < t)
			t = s->e[i].arrival;
	}
	return t;
}

void sched_host_down(struct sched *s, size_t i, const struct conf *c, time_t now)
{
	struct hold *h;

	if (i >= CONF_MAX_SMARTHOSTS)
		return;
	h = &s->hosts[i];
	h->backoff = h->backoff == 0 ? c->retry_min : h->backoff * 2;
	if (h->backoff > c->retry_max)
		h->backoff = c->retry_max;
	if (h->backoff < 1)
		h->backoff = 1;
	h->until = now + h->backoff;
	h->up = false;
	s->host_until[i] = h->until;
}

void sched_host_up(struct sched *s, size_t i)
{
	if (i >= CONF_MAX_SMARTHOSTS)
		return;
	s->hosts[i].until = 0;
	s->hosts[i].backoff = 0;
	s->hosts[i].up = true;
	s->host_until[i] = 0;
}

void sched_hosts_reset(struct sched *s)
{
	size_t i;

	for (i = 0; i < CONF_MAX_SMARTHOSTS; i++) {
		s->hosts[i].until = 0;
		s->hosts[i].backoff = 0;
		s->host_until[i] = 0;
	}
}

bool sched_host_available(const struct sched *s, size_t n, time_t now)
{
	size_t i;

	for (i = 0; i < n && i < CONF_MAX_SMARTHOSTS; i++) {
		if (s->hosts[i].until <= now)
			return true;
	}
	return false;
}

time_t sched_host_wake(const struct sched *s, size_t n, time_t now)
{
	time_t t = 0;
	size_t i;

	for (i = 0; i < n && i < CONF_MAX_SMARTHOSTS; i++) {
		if (s->hosts[i].until > now && (t == 0 || s->hosts[i].until < t))
			t = s->hosts[i].until;
	}
	return t;
}

const time_t *sched_host_until(const struct sched *s)
{
	return s->host_until;
}

bool sched_host_is_up(const struct sched *s, size_t i)
{
	return i < CONF_MAX_SMARTHOSTS && s->hosts[i].up;
}

/* Forget starts older than the period. */
static void rate_expire(struct sched *s, const struct conf *c, double now)
{
	while (s->nstarts > 0 && s->starts[s->head] <= now - (double)c->rate_limit_period) {
		s->head = (s->head + 1) % s->startcap;
		s->nstarts--;
	}
}

bool sched_rate_ok(struct sched *s, const struct conf *c, double now, double *wake)
{
	if (c->rate_limit_count == 0 || c->rate_limit_period <= 0)
		return true;
	if (s->startcap != c->rate_limit_count) {
		/* First use or a reload changed N: start counting afresh. */
		free(s->starts);
		s->startcap = c->rate_limit_count;
		s->starts = xcalloc(s->startcap, sizeof(*s->starts));
		s->nstarts = s->head = 0;
	}
	rate_expire(s, c, now);
	if (s->nstarts < s->startcap)
		return true;
	*wake = s->starts[s->head] + (double)c->rate_limit_period;
	return false;
}

void sched_rate_note(struct sched *s, const struct conf *c, double now)
{
	double dummy;

	if (!sched_rate_ok(s, c, now, &dummy))
		return;	/* caller did not check; never overflow the ring */
	if (c->rate_limit_count == 0 || c->rate_limit_period <= 0)
		return;
	s->starts[(s->head + s->nstarts) % s->startcap] = now;
	s->nstarts++;
}
