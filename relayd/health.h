/*
 * Is mail flowing? (SPEC §8 `relayd --health`.) The daemon keeps the facts
 * in memory (struct health, fed from the workers' UP/DOWN reports and the
 * delivery counts) and answers the control socket's HEALTH command with a
 * verdict; `relayd --health [-j]` asks it and exits 0 or 1. No socket
 * answering is "not running": a stale socket file, a crashed daemon and
 * `relayd --once` (which opens no socket) all look the same, and the check
 * never touches relayd.lock.
 *
 * The verdict, first rule that applies:
 *   1. queue empty                                   healthy
 *   2. no smarthost's last session worked and one failed:
 *        at AUTH with an "oauth2:" reason            "OAuth2 refused: ...; run
 *                                                     relayd --oauth2-login"
 *        at AUTH                                     "authentication refused by H: ..."
 *        else                                        "smarthost unreachable since T: H: ..."
 *   3. a smarthost accepted mail within the window   healthy
 *   4. the oldest message is older than the window   "oldest message N hours old"
 *   5. otherwise (young mail, nothing failed yet)    healthy
 * The window ("recently") is max(retry_max, 1h): by then every deferred
 * message has been retried at least once.
 */
#ifndef NULLRELAY_HEALTH_H
#define NULLRELAY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "util.h"

#define HEALTH_MIN_WINDOW 3600
#define HEALTH_REASON_MAX 640

enum health_host_state { HH_UNKNOWN, HH_UP, HH_DOWN };

struct health_host {
	enum health_host_state state;
	bool auth;			/* DOWN at AUTH */
	double since;			/* DOWN: first failure of this run (epoch s) */
	char reason[HEALTH_REASON_MAX];	/* DOWN: the last failure */
};

struct health {
	size_t nhosts;
	char names[CONF_MAX_SMARTHOSTS][300];	/* "host:port" */
	struct health_host h[CONF_MAX_SMARTHOSTS];
	double last_success;	/* a smarthost accepted a recipient; 0 = not yet */
	double started;
	/* State files start-up recovery has not read yet (queued, but not
	 * in the schedule): counted as queued (queue_recover_unread). */
	size_t unread;
};

/* The queue as the daemon's index sees it at the time of the question. */
struct health_queue {
	size_t messages;
	double oldest_arrival;	/* epoch s; 0 when empty */
};

enum health_status {
	HS_OK, HS_NOT_RUNNING, HS_UNREACHABLE, HS_AUTH, HS_OAUTH2, HS_STALE, HS_UNKNOWN,
};

struct health_verdict {
	enum health_status status;
	char line[1024];	/* the one line --health prints */
};

/* (Re)start: the smarthost list of c; what was learnt about hosts is
 * forgotten (a reload may have changed them), last_success is kept. */
void health_reset(struct health *h, const struct conf *c, double now);
void health_host_up(struct health *h, size_t i);
void health_host_down(struct health *h, size_t i, bool auth, const char *reason, double now);
void health_delivered(struct health *h, double now);

void health_judge(const struct health *h, const struct health_queue *q, time_t retry_max,
    double now, struct health_verdict *v);
bool health_ok(const struct health_verdict *v);
/* The verdict for the queue the schedule holds now. */
struct sched;
void health_now(const struct health *h, const struct sched *s, const struct conf *c,
    struct health_queue *q, struct health_verdict *v);
/* The control socket's reply: the line, or (json) one JSON object, with LF. */
int health_format(const struct health *h, const struct health_queue *q,
    const struct health_verdict *v, double now, bool json, struct buf *out);

/* relayd --health [-j]: ask the daemon on c's spool, print, return 0 or 1. */
int health_client(const struct conf *c, bool json);
/* Print an unhealthy verdict found without the daemon (st, line); returns 1. */
int health_fail(enum health_status st, const char *line, bool json);

#endif
