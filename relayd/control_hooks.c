/* The parent's side of the control socket's commands (control_hooks.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_hooks.h"
#include "daemon_opts.h"
#include "daemon_state.h"
#include "health.h"
#include "log.h"
#include "mbox_client.h"
#include "qadmin.h"
#include "sched.h"
#include "spool_qlist.h"
#include "worker.h"

static void on_health(void *ctx, bool json, struct buf *out)
{
	struct daemon *dm = ctx;
	struct health_verdict v;
	struct health_queue q;

	health_now(&dm->health, dm->s, dm->c, &q, &v);
	if (health_format(&dm->health, &q, &v, time_wall(), json, out) != 0)
		buf_appends(out, "ERR reply too long\n");
}

/*
 * sendmail -q. Root and the relay user flush everything, smarthost
 * hold-downs included. Anyone else may flush the messages at most once per
 * retry_min, and never resets a hold-down (issue 14: an unlimited flush
 * let one user make relayd retry a refusing smarthost hundreds of times a
 * minute, which gets accounts locked and addresses blocked).
 */
static int on_flush(void *ctx, uid_t peer, char *err, size_t errlen)
{
	struct daemon *dm = ctx;
	double now = time_monotonic();
	double gap = dm->c->retry_min > 0 ? (double)dm->c->retry_min : 60;

	if (peer != 0 && (long)peer != dm->o->relay_uid) {
		if (dm->user_flush_at > 0 && now - dm->user_flush_at < gap) {
			snprintf(err, errlen, "ordinary users may flush the queue at most once per "
			    "%.0f s (retry_min); try again in %.0f s", gap,
			    gap - (now - dm->user_flush_at) + 0.5);
			log_info("flush by uid %lu refused: the last one was %.0f s ago",
			    (unsigned long)peer, now - dm->user_flush_at);
			return 1;
		}
		dm->user_flush_at = now;
		log_info("flush requested by uid %lu (messages only)", (unsigned long)peer);
		dm->flush = true;
		return 0;
	}
	log_info("flush requested by uid %lu", (unsigned long)peer);
	dm->flush = true;
	dm->flush_hosts = true;
	return 0;
}

/* Is a worker delivering id right now? */
static bool held_by_worker(void *ctx, const char *id)
{
	struct daemon *dm = ctx;

	return worker_holds(dm->wp, id);
}

static int on_list(void *ctx, bool json, bool all, uid_t peer, struct buf *out, char *err,
    size_t errlen)
{
	struct daemon *dm = ctx;
	struct qlist_opts o = { .json = json, .all = all, .uid = peer, .busy = held_by_worker,
		.ctx = dm, .owners = dm->owners };

	dm->trim = true;
	return qlist_format(dm->d.queue, dm->d.failed, &o, out, err, errlen);
}

static void admin_one(struct daemon *dm, enum qadmin_op op, const char *id, struct buf *out)
{
	struct qadmin_after after;
	char err[600];

	/* A report in the mailbox process is settled by its answer
	 * (bounce_queue.c:mbox_done), which must see the message as it was. */
	if (held_by_worker(dm, id) || mbox_client_sending(dm->mbox, id)) {
		buf_appendf(out, "BUSY %s\n", id);
		return;
	}
	switch (qadmin_apply(&dm->d, op, id, &after, err, sizeof err)) {
	case QA_DONE:
		/* The index follows the files: held messages are not in it. */
		if (after.queued)
			sched_add(dm->s, id, after.arrival, after.next);
		else
			sched_remove(dm->s, id);
		dm->metrics_dirty = true;
		buf_appendf(out, "OK %s\n", id);
		break;
	case QA_MISSING:
		buf_appendf(out, "MISSING %s\n", id);
		break;
	case QA_REFUSED:
		buf_appendf(out, "FAIL %s %s\n", id, err);
		break;
	}
}

static void on_admin(void *ctx, uid_t peer, enum qadmin_op op, const char *id, struct buf *out)
{
	struct daemon *dm = ctx;
	char (*ids)[QUEUE_ID_SIZE];
	size_t n, i;

	log_info("%s %s requested by uid %lu", qadmin_op_cmd(op), id, (unsigned long)peer);
	if (strcmp(id, "ALL") != 0) {
		admin_one(dm, op, id, out);
		return;
	}
	n = qadmin_all(&dm->d, op, &ids);
	for (i = 0; i < n; i++)
		admin_one(dm, op, ids[i], out);
	free(ids);
}

void control_hooks_fill(struct daemon *dm, struct control_hooks *h)
{
	*h = (struct control_hooks){ .ctx = dm, .flush = on_flush, .list = on_list,
		.admin = on_admin, .health = on_health };
}
