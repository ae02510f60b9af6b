/*
 * The parent's schedule (sched.h). Entries live in a flat array (removal
 * swaps the last one in); an idmap finds an entry by id, and one binary
 * min-heap per submitting uid over its idle entries, ordered by (next
 * attempt, arrival), gives that uid's next due one. Taking, reporting and
 * removing cost O(log n + owners) with 100 000 queued messages; the owners
 * take turns (struct owner). Busy entries (held by a worker) are out of the
 * heaps; with --once an entry handed out once never goes back in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "sched.h"
#include "util.h"

#define NOT_IN_HEAP SIZE_MAX

struct entry {
	char id[QUEUE_ID_SIZE];
	double arrival;
	time_t next;
	bool busy;
	bool handed;	/* handed out in this run (for --once) */
	size_t owner;	/* index in owners[] */
	size_t hpos;	/* index in its owner's heap, NOT_IN_HEAP if busy or parked */
};

/*
 * The idle entries of one submitting uid, as a min-heap by (next attempt,
 * arrival). sched_take serves the owners in turn (the one served longest
 * ago first), so one user's backlog of 50 000 cannot starve another user's
 * one message; finding that owner costs one pass over the owners, who are
 * few (the local users with mail queued, plus the listener's relay uid).
 */
struct owner {
	uid_t uid;	/* (uid_t)-1: not said */
	size_t *heap;
	size_t nheap, cap;
	unsigned long long served;	/* s->turns at its last turn; 0 = never */
};

struct hold {
	time_t until;
	time_t backoff;
	bool up;	/* last attempt succeeded */
};

struct sched {
	struct entry *e;
	size_t n, cap, nbusy;
	struct owner *owners;
	size_t nowners, ownercap;
	size_t nheap;	/* idle entries over all owners' heaps */
	unsigned long long turns;
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
	size_t i;

	if (s == NULL)
		return;
	free(s->e);
	for (i = 0; i < s->nowners; i++)
		free(s->owners[i].heap);
	free(s->owners);
	idmap_free(s->by_id);
	free(s->starts);
	free(s);
}

/* The owners[] index for uid, added if new. */
static size_t owner_of(struct sched *s, uid_t uid)
{
	size_t i;

	for (i = 0; i < s->nowners; i++) {
		if (s->owners[i].uid == uid)
			return i;
	}
	if (s->nowners == s->ownercap) {
		s->ownercap = s->ownercap ? s->ownercap * 2 : 8;
		s->owners = xreallocarray(s->owners, s->ownercap, sizeof(*s->owners));
	}
	memset(&s->owners[s->nowners], 0, sizeof(s->owners[0]));
	s->owners[s->nowners].uid = uid;
	return s->nowners++;
}

/* ---- the owners' heaps ---- */

static bool before(const struct sched *s, size_t a, size_t b)
{
	const struct entry *x = &s->e[a], *y = &s->e[b];

	return x->next < y->next || (x->next == y->next && x->arrival < y->arrival);
}

static void hset(struct sched *s, struct owner *o, size_t pos, size_t ei)
{
	o->heap[pos] = ei;
	s->e[ei].hpos = pos;
}

static void sift_up(struct sched *s, struct owner *o, size_t pos)
{
	size_t ei = o->heap[pos];

	while (pos > 0 && before(s, ei, o->heap[(pos - 1) / 2])) {
		hset(s, o, pos, o->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	hset(s, o, pos, ei);
}

static void sift_down(struct sched *s, struct owner *o, size_t pos)
{
	size_t ei = o->heap[pos], c;

	while ((c = 2 * pos + 1) < o->nheap) {
		if (c + 1 < o->nheap && before(s, o->heap[c + 1], o->heap[c]))
			c++;
		if (!before(s, o->heap[c], ei))
			break;
		hset(s, o, pos, o->heap[c]);
		pos = c;
	}
	hset(s, o, pos, ei);
}

static void heap_push(struct sched *s, size_t ei)
{
	struct owner *o = &s->owners[s->e[ei].owner];

	if (s->e[ei].hpos != NOT_IN_HEAP)
		return;
	if (o->nheap == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->heap = xreallocarray(o->heap, o->cap, sizeof(*o->heap));
	}
	o->heap[o->nheap] = ei;
	s->e[ei].hpos = o->nheap++;
	s->nheap++;
	sift_up(s, o, o->nheap - 1);
}

static void heap_drop(struct sched *s, size_t ei)
{
	struct owner *o = &s->owners[s->e[ei].owner];
	size_t pos = s->e[ei].hpos, moved;

	if (pos == NOT_IN_HEAP)
		return;
	s->e[ei].hpos = NOT_IN_HEAP;
	s->nheap--;
	if (pos == --o->nheap)
		return;
	moved = o->heap[o->nheap];
	hset(s, o, pos, moved);
	sift_down(s, o, pos);
	sift_up(s, o, s->e[moved].hpos);
}

/* The entry's key changed: restore the heap order around it. */
static void heap_fix(struct sched *s, size_t ei)
{
	struct owner *o = &s->owners[s->e[ei].owner];

	if (s->e[ei].hpos == NOT_IN_HEAP)
		return;
	sift_up(s, o, s->e[ei].hpos);
	sift_down(s, o, s->e[ei].hpos);
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
		}
		ei = s->n++;
		e = &s->e[ei];
		memset(e, 0, sizeof(*e));
		strlcpy(e->id, id, sizeof e->id);
		e->hpos = NOT_IN_HEAP;
		e->owner = owner_of(s, (uid_t)-1);
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

void sched_owner(struct sched *s, const char *id, uid_t uid)
{
	size_t ei, o;
	struct entry *e = find(s, id, &ei);
	bool queued;

	if (e == NULL || s->owners[e->owner].uid == uid)
		return;
	o = owner_of(s, uid);	/* may move owners[], not entries */
	queued = e->hpos != NOT_IN_HEAP;
	heap_drop(s, ei);
	e->owner = o;
	if (queued)
		heap_push(s, ei);
}

bool sched_uid(const struct sched *s, const char *id, uid_t *uid)
{
	size_t ei;
	struct entry *e = find(s, id, &ei);

	if (e == NULL || s->owners[e->owner].uid == (uid_t)-1)
		return false;
	*uid = s->owners[e->owner].uid;
	return true;
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
			s->owners[s->e[ei].owner].heap[s->e[ei].hpos] = ei;
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

static void mark_taken(struct sched *s, size_t ei, char id[QUEUE_ID_SIZE])
{
	struct entry *e = &s->e[ei];

	heap_drop(s, ei);
	e->busy = true;
	e->handed = true;
	s->nbusy++;
	strlcpy(id, e->id, QUEUE_ID_SIZE);
}

/* With --once, drop handed-out entries from the top of each heap. */
static void prune(struct sched *s, bool once)
{
	size_t i;

	if (once)
		s->once = true;
	for (i = 0; s->once && i < s->nowners; i++) {
		struct owner *o = &s->owners[i];

		while (o->nheap > 0 && s->e[o->heap[0]].handed)
			heap_drop(s, o->heap[0]);
	}
}

bool sched_take(struct sched *s, time_t now, bool once, char id[QUEUE_ID_SIZE])
{
	struct owner *best = NULL;
	size_t i;

	prune(s, once);
	/* Of the owners with a message due: the one served longest ago, then
	 * the earliest due, then the oldest. */
	for (i = 0; i < s->nowners; i++) {
		struct owner *o = &s->owners[i];

		if (o->nheap == 0 || s->e[o->heap[0]].next > now)
			continue;
		if (best == NULL || o->served < best->served ||
		    (o->served == best->served && before(s, o->heap[0], best->heap[0])))
			best = o;
	}
	if (best == NULL)
		return false;
	best->served = ++s->turns;
	mark_taken(s, best->heap[0], id);
	return true;
}

size_t sched_take_expired(struct sched *s, time_t now, bool once, double expired_before,
    char (*ids)[QUEUE_ID_SIZE], size_t max)
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

	size_t i;
	bool any = false;

	prune(s, once);
	t = 0;
	for (i = 0; i < s->nowners; i++) {
		const struct owner *o = &s->owners[i];

		if (o->nheap > 0 && (!any || s->e[o->heap[0]].next < t)) {
			t = s->e[o->heap[0]].next;
			any = true;
		}
	}
	if (!any)
		return 0;
	return t > 0 ? t : 1;
}

void sched_flush(struct sched *s, bool hosts)
{
	size_t i, j;

	for (i = 0; i < s->n; i++)
		s->e[i].next = 0;
	/* All keys now tie on next: re-heapify by arrival. */
	for (j = 0; j < s->nowners; j++) {
		struct owner *o = &s->owners[j];

		for (i = o->nheap / 2; i-- > 0;)
			sift_down(s, o, i);
	}
	if (hosts)
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

bool sched_take_due(struct sched *s, const struct conf *c, bool once, char id[QUEUE_ID_SIZE],
    double *rate_wake)
{
	double wake = 0;

	if (!sched_rate_ok(s, c, time_monotonic(), &wake)) {
		*rate_wake = wake;
		return false;
	}
	if (!sched_take(s, time(NULL), once, id))
		return false;
	sched_rate_note(s, c, time_monotonic());
	return true;
}
