/*
 * Start-up recovery of the queue (queue_recover.c): what a crash, a kill -9
 * or a clean stop left in queue/ becomes the schedule (sched.h) again.
 *
 * In two parts, so that relayd serves (pick-up, mailq, delivery of what is
 * known) within a second even with 100 000 messages queued:
 *   queue_recover_begin  before the loop: one readdir of queue/; stray
 *                        ID.env.tmp and orphan ID.msg removed; the messages
 *                        queue/index lists (a clean stop) scheduled at once;
 *   queue_recover_step   from the loop, a slice at a time: every other state
 *                        file read and checked (recover_one), as the loop
 *                        goes on serving.
 * A message the loop learns of meanwhile (a pick-up run's report, an
 * operator's release or requeue) is already scheduled and is skipped; one
 * deleted meanwhile is simply gone.
 */
#ifndef NULLRELAY_QUEUE_RECOVER_H
#define NULLRELAY_QUEUE_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "queue.h"
#include "sched.h"
#include "spool_qlist_owner.h"

/* State files read per turn of the loop (a few ms each turn). */
#define QUEUE_RECOVER_SLICE 256

struct queue_recovery;

/*
 * The synchronous part, before pick-up runs start. With all (relayd
 * --once, tests), the whole recovery now; then NULL is returned. Otherwise
 * the recovery still to do, or NULL when none is left.
 */
struct queue_recovery *queue_recover_begin(const struct conf *c, const struct spool_dirs *d,
    struct sched *s, bool all);
/* The same, and each state file read is kept in owners (NULL = none), the
 * cache behind mailq (spool_qlist_owner.h). */
struct queue_recovery *queue_recover_begin_cached(const struct conf *c,
    const struct spool_dirs *d, struct sched *s, bool all, struct qlist_owners *owners);
/* Recover up to max more state files. true while some are left; at the
 * end it logs the count and frees r (false). */
bool queue_recover_step(struct queue_recovery *r, size_t max);
/* State files not read yet (0 for NULL): queued, though not scheduled yet;
 * --health and the metrics count them (health.h). */
size_t queue_recover_unread(const struct queue_recovery *r);
/* Stop early (relayd stops): frees r; the next start does the rest. */
void queue_recover_abandon(struct queue_recovery *r);

/* After an attempt, an expiry or at start-up: bounce, re-address or warn
 * (bounce_queue.h) and update s to match (queue_review.c). */
void queue_review(const struct conf *c, const struct spool_dirs *d, struct sched *s,
    const char *id);

#endif
