/*
 * The Prometheus text file of SPEC §2 (`metrics_file`), for node_exporter's
 * textfile collector: rewritten whole and atomically (tmp + rename).
 */
#ifndef NULLRELAY_METRICS_H
#define NULLRELAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* The SMTP listener's counters (listen.h), since start. */
struct listen_counts {
	uint64_t connections;	/* sessions started */
	uint64_t accepted;	/* messages answered 250 */
	uint64_t refused;	/* connections refused (listen_allow, limits) */
};

struct metrics {
	size_t queue_messages;
	double oldest_age;		/* seconds; 0 when empty */
	uint64_t sent, deferred, bounced;	/* recipients, since start */
	double last_success;		/* epoch seconds; 0 = never */
	size_t nhosts;
	char hosts[CONF_MAX_SMARTHOSTS][300];	/* "host:port" labels */
	bool up[CONF_MAX_SMARTHOSTS];
	/* The facts of relayd --health (health.h). */
	bool auth_failing[CONF_MAX_SMARTHOSTS];	/* last session refused at AUTH */
	double failing_since[CONF_MAX_SMARTHOSTS];	/* epoch s; 0 = not failing */
	bool healthy;			/* relayd --health would exit 0 */
	bool listening;			/* write the listener's counters */
	struct listen_counts listen;
};

/* 0, or -1 (errno) — the caller logs. */
int metrics_write(const char *path, const struct metrics *m);

struct sched;
struct health;
/* Refresh m from the schedule and the health facts and rewrite c's
 * metrics_file when due (*dirty: something changed; *at: the last write,
 * monotonic; both updated). A failure is logged. */
void metrics_tick(struct metrics *m, bool *dirty, double *at, const struct conf *c,
    const struct sched *s, const struct health *h);

#endif
