/*
 * The parent's schedule (sched.h). A flat array scanned linearly: a relay
 * for one host rarely holds more than a few thousand messages, and each scan
 * is a handful of comparisons per message.
 */
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "util.h"

struct entry {
	char id[17];
	double arrival;
	time_t next;
	bool busy;
	bool handed;	/* handed out in this run (for --once) */
	uid_t uid;	/* the submitter; (uid_t)-1 = not said */
};

/* When each submitter was last served (round robin, sched_take). */
struct turn {
	uid_t uid;
	unsigned long long served;	/* s->turns_seq at that time; 0 = never */
};
#define SCHED_MAX_TURNS 4096

struct hold {
	time_t until;
	time_t backoff;
	bool up;	/* last attempt succeeded */
};

struct sched {
	struct entry *e;
	size_t n, cap;
	struct hold hosts[CONF_MAX_SMARTHOSTS];
	time_t host_until[CONF_MAX_SMARTHOSTS];
	double *starts;		/* ring of message start times for rate_limit */
	size_t nstarts, startcap, head;
	struct turn *turns;	/* sorted by uid */
	size_t nturns;
	unsigned long long turns_seq;
};

static int turn_cmp(const void *k, const void *b)
{
	uid_t u = *(const uid_t *)k, v = ((const struct turn *)b)->uid;

	return u < v ? -1 : u > v;
}

static unsigned long long turn_served(const struct sched *s, uid_t uid)
{
	const struct turn *t = s->nturns ? bsearch(&uid, s->turns, s->nturns, sizeof(*t),
	    turn_cmp) : NULL;

	return t != NULL ? t->served : 0;
}

/* Note that uid was just served (kept sorted; past SCHED_MAX_TURNS
 * distinct uids the table starts over, which only resets the turns). */
static void turn_note(struct sched *s, uid_t uid)
{
	struct turn *t = s->nturns ? bsearch(&uid, s->turns, s->nturns, sizeof(*t), turn_cmp) :
	    NULL;
	size_t i;

	if (t == NULL) {
		if (s->nturns >= SCHED_MAX_TURNS)
			s->nturns = 0;
		if (s->turns == NULL)
			s->turns = xcalloc(SCHED_MAX_TURNS, sizeof(*s->turns));
		for (i = s->nturns; i > 0 && s->turns[i - 1].uid > uid; i--)
			s->turns[i] = s->turns[i - 1];
		s->turns[i].uid = uid;
		s->nturns++;
		t = &s->turns[i];
	}
	t->served = ++s->turns_seq;
}

struct sched *sched_new(void)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	size_t i;

	for (i = 0; i < CONF_MAX_SMARTHOSTS; i++)
		s->hosts[i].up = true;
	return s;
}

void sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	free(s->e);
	free(s->starts);
	free(s->turns);
	free(s);
}

static struct entry *find(const struct sched *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->e[i].id, id) == 0)
			return &s->e[i];
	}
	return NULL;
}

void sched_add(struct sched *s, const char *id, double arrival, time_t next)
{
	struct entry *e = find(s, id);

	if (e == NULL) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->e = xreallocarray(s->e, s->cap, sizeof(*s->e));
		}
		e = &s->e[s->n++];
		memset(e, 0, sizeof(*e));
		strlcpy(e->id, id, sizeof e->id);
		e->uid = (uid_t)-1;
	}
	e->arrival = arrival;
	e->next = next;
}

void sched_owner(struct sched *s, const char *id, uid_t uid)
{
	struct entry *e = find(s, id);

	if (e != NULL)
		e->uid = uid;
}

void sched_remove(struct sched *s, const char *id)
{
	struct entry *e = find(s, id);

	if (e != NULL)
		*e = s->e[--s->n];
}

void sched_update(struct sched *s, const char *id, time_t next)
{
	struct entry *e = find(s, id);

	if (e != NULL) {
		e->busy = false;
		e->next = next;
	}
}

void sched_release(struct sched *s, const char *id)
{
	struct entry *e = find(s, id);

	if (e != NULL)
		e->busy = false;
}

bool sched_take(struct sched *s, time_t now, bool once, double expired_before, char id[17])
{
	struct entry *best = NULL;
	unsigned long long best_turn = 0;
	size_t i;

	/* Of the due messages: the submitter served longest ago first, then
	 * the earliest due, then the oldest. */
	for (i = 0; i < s->n; i++) {
		struct entry *e = &s->e[i];
		unsigned long long turn;

		if (e->busy || e->next > now || (once && e->handed))
			continue;
		if (expired_before > 0 && e->arrival >= expired_before)
			continue;
		turn = turn_served(s, e->uid);
		if (best == NULL || turn < best_turn ||
		    (turn == best_turn && (e->next < best->next ||
		    (e->next == best->next && e->arrival < best->arrival)))) {
			best = e;
			best_turn = turn;
		}
	}
	if (best == NULL)
		return false;
	turn_note(s, best->uid);
	best->busy = true;
	best->handed = true;
	strlcpy(id, best->id, 17);
	return true;
}

time_t sched_next_due(const struct sched *s, bool once)
{
	time_t t = 0;
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct entry *e = &s->e[i];

		if (e->busy || (once && e->handed))
			continue;
		if (t == 0 || e->next < t)
			t = e->next > 0 ? e->next : 1;
	}
	return t;
}

void sched_flush(struct sched *s, bool hosts)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		s->e[i].next = 0;
	if (hosts)
		sched_hosts_reset(s);
}

size_t sched_count(const struct sched *s)
{
	return s->n;
}

size_t sched_busy(const struct sched *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->e[i].busy;
	return n;
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
