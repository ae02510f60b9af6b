/*
 * What the parent process holds while it runs (daemon.c), shared with the
 * files that act on it for the parent: the control socket's hooks
 * (control_hooks.c). Nothing here is seen by a child after exec.
 */
#ifndef NULLRELAY_DAEMON_STATE_H
#define NULLRELAY_DAEMON_STATE_H

#include <signal.h>
#include <stdbool.h>

#include "conf.h"
#include "health.h"
#include "metrics.h"
#include "pickup.h"
#include "spool_qlist.h"

struct daemon_opts;
struct mbox_client;

struct daemon {
	struct conf *c;
	const struct daemon_opts *o;
	struct spool_dirs d;
	struct sched *s;
	struct pickup *p;
	struct picker *k;	/* the pick-up runs (child processes) */
	struct control *ctl;
	int sfd;
	int lockfd;		/* SPOOL/relayd.lock, held; workers inherit it */
	struct qlist_owners *owners;	/* submitters learnt by LIST (spool_qlist_owner.h) */
	sigset_t oldmask;
	struct worker_pool *wp;	/* the delivery workers (worker.h) */
	bool stopping, flush, reload;
	bool flush_hosts;	/* the flush also resets smarthost hold-downs */
	double user_flush_at;	/* monotonic time of the last ordinary user's flush */
	double trim_at;		/* next quarantine_trim (monotonic) */
	double rate_wake;
	struct metrics m;
	struct health health;	/* relayd --health (health.h) */
	struct netwatch *net;	/* network changes (netwatch.h); NULL: none */
	bool metrics_dirty;
	double metrics_at;
	struct listener *lst;	/* the SMTP listener (listen.h), or NULL */
	double expire_at;	/* next expiry pass, monotonic */
	struct queue_recovery *rec;	/* start-up recovery still to do, or NULL */
	bool trim;		/* a burst (mailq, pick-up) freed memory: give it back */
	struct mbox_client *mbox;	/* the mailbox process (mbox_client.h) */
};

#endif
