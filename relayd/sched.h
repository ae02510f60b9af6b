/*
 * The parent's schedule: an in-memory index of the queue (id, arrival, next
 * attempt, busy), smarthost hold-downs and the rate limit. The state files
 * (queue.h) stay the truth; this is rebuilt from them at start-up.
 */
#ifndef NULLRELAY_SCHED_H
#define NULLRELAY_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "spool_queue.h"

struct sched;

struct sched *sched_new(void);
void sched_free(struct sched *s);

void sched_add(struct sched *s, const char *id, double arrival, time_t next);
/* Who submitted id (the drop file's owner): sched_take serves the uids
 * with due messages in turn (round robin), so one user's backlog of 50 000
 * cannot starve another user's one message. Unset: a class of its own. */
void sched_owner(struct sched *s, const char *id, uid_t uid);
/* The submitter sched_owner set for id: true and *uid, or false. */
bool sched_uid(const struct sched *s, const char *id, uid_t *uid);
void sched_remove(struct sched *s, const char *id);
/* After an attempt: not busy any more, next attempt at next. */
void sched_update(struct sched *s, const char *id, time_t next);
/* Not attempted: not busy any more, next unchanged. */
void sched_release(struct sched *s, const char *id);

/* Is id in the index? */
bool sched_has(const struct sched *s, const char *id);

/*
 * The due message (next <= now, not busy; with once, not yet handed out in
 * this run) with the earliest next time: marked busy, its id copied to id.
 * false if there is none. O(log n).
 */
bool sched_take(struct sched *s, time_t now, bool once, char id[QUEUE_ID_SIZE]);
/*
 * Up to max due messages that arrived before expired_before, marked busy,
 * their ids in ids. One pass over the index (O(n)): the caller runs it
 * about once a second, not per message.
 */
size_t sched_take_expired(struct sched *s, time_t now, bool once, double expired_before,
    char (*ids)[QUEUE_ID_SIZE], size_t max);
/* Earliest next attempt of an idle message (0 if none). */
time_t sched_next_due(struct sched *s, bool once);
/* Retry everything now (FLUSH, SIGUSR1): every next = 0, hold-downs lifted. */
/* Make every message due now; with hosts, also forget every smarthost's
 * hold-down (root, the relay user, SIGUSR1), never for an ordinary user's
 * flush: a flood of retries would get the account locked. */
void sched_flush(struct sched *s, bool hosts);

/* Call cb for every message in the index. */
void sched_each(const struct sched *s, void (*cb)(void *ctx, const char *id, double arrival,
    time_t next), void *ctx);

size_t sched_count(const struct sched *s);
size_t sched_busy(const struct sched *s);
/* Arrival of the oldest message (0 if empty). O(n): for metrics, once a second. */
double sched_oldest(const struct sched *s);

/* Smarthost hold-downs: retry_min, doubling while it keeps failing. */
void sched_host_down(struct sched *s, size_t i, const struct conf *c, time_t now);
void sched_host_up(struct sched *s, size_t i);
void sched_hosts_reset(struct sched *s);
/* True if at least one of the first n smarthosts is not held down. */
bool sched_host_available(const struct sched *s, size_t n, time_t now);
/* Earliest end of a hold-down among the first n (0 if none is held). */
time_t sched_host_wake(const struct sched *s, size_t n, time_t now);
/* host_until[CONF_MAX_SMARTHOSTS], for a worker's snapshot. */
const time_t *sched_host_until(const struct sched *s);
bool sched_host_is_up(const struct sched *s, size_t i);

/* Rate limit: may one more message start now? If not, *wake says when. */
bool sched_rate_ok(struct sched *s, const struct conf *c, double now, double *wake);
void sched_rate_note(struct sched *s, const struct conf *c, double now);
/* The next due message that the rate limit lets start now (noted as a
 * start); false with *rate_wake set when the limit holds it back. */
bool sched_take_due(struct sched *s, const struct conf *c, bool once, char id[QUEUE_ID_SIZE],
    double *rate_wake);

#endif
