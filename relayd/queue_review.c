/*
 * After an attempt, an expiry or at start-up, with no worker holding ID:
 * bounce, re-address or warn (bounce_queue.h), and keep the schedule in
 * step (queue_recover.h). In the parent, which owns the schedule a new
 * report must join.
 */
#include <time.h>

#include "bounce_queue.h"
#include "queue_recover.h"

void queue_review(const struct conf *c, const struct spool_dirs *d, struct sched *s,
    const char *id)
{
	struct bounce_queue_outcome o;

	bounce_queue_review(c, d, id, time_wall(), &o);
	if (o.newid[0] != '\0')
		sched_add(s, o.newid, o.new_arrival, 0);
	switch (o.act) {
	case BQ_STAYS:
		break;
	case BQ_DUE_NOW:
		sched_add(s, id, o.arrival, 0);
		sched_update(s, id, 0);
		break;
	case BQ_LEFT:
		sched_remove(s, id);
		break;
	case BQ_RETRY:
		sched_update(s, id, time(NULL) + c->retry_max);
		break;
	}
}
