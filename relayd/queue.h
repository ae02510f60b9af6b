/*
 * relayd's persistent queue: one message is queue/ID.msg (the bytes to send,
 * LF line endings, our Received: header first) and queue/ID.env (its state
 * file: the envelope plus delivery state; spool/spool_qmsg.h). The format is described
 * at the top of spool/spool_qmsg.c. The state file is the truth; the scheduler (sched.h)
 * only keeps an index of it in memory.
 */
#ifndef NULLRELAY_QUEUE_H
#define NULLRELAY_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "spool_qmsg.h"

/*
 * Backoff after `tries` attempts: retry_min * 2^(tries-1), capped at
 * retry_max, times a jitter factor in [0.75, 1.25) taken from rnd, and kept
 * within [retry_min, retry_max]. Pure, for tests.
 */
time_t queue_backoff(time_t retry_min, time_t retry_max, unsigned tries, uint32_t rnd);

/*
 * After an attempt or an expiry: nothing left to do → all sent: queue_remove;
 * some failed: move ID.msg then ID.env into faileddir (fsynced), or, when
 * faileddir is -1, leave it in the queue for the parent to bounce
 * (bounce_queue.h). Returns 1 if the message left the queue, 0 if it stays,
 * -1 on error (err).
 */
int queue_finish(int qdir, int faileddir, const struct qmsg *m, char *err, size_t errlen);
/* Take ID out of the queue: unlink ID.env, fsync qdir, unlink ID.msg. 0/-1. */
int queue_remove(int qdir, const char *id, char *err, size_t errlen);
/*
 * The same without the fsync: for a delivery worker, which syncs queue/
 * about once a second and before it exits. A kill -9 loses no unlink (the
 * kernel has it); a power loss may bring back a state file removed in the
 * last second, whose message is then sent again: a duplicate, never a loss.
 */
int queue_remove_unsynced(int qdir, const char *id, char *err, size_t errlen);

/*
 * Give up on the remaining recipients after queue_lifetime: each becomes
 * RCPT_FAILED "delivery time expired" and gets its log line. The caller
 * commits and finishes.
 */
void queue_expire(struct qmsg *m, double now);
/* Load ID, expire it, commit and finish it. 0 or -1 with err. */
int queue_expire_id(int qdir, int faileddir, const char *id, double now, unsigned *nbounced,
    char *err, size_t errlen);

#endif
