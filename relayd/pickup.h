/*
 * Pick-up: move drop files from incoming/new into relayd's private queue
 * (SPEC §5.4). inotify (IN_MOVED_TO | IN_CLOSE_WRITE) says when to look, a
 * periodic rescan covers anything it missed; every file is hostile input and
 * a refused one never stalls the others.
 */
#ifndef NULLRELAY_PICKUP_H
#define NULLRELAY_PICKUP_H

#include <stdbool.h>
#include <time.h>

#include "conf.h"
#include "queue.h"

/* The spool directories relayd works in, opened once at start-up. */
struct spool_dirs {
	int spool, newdir, queue, failed, quarantine;
};

/* Open every directory of the spool (O_DIRECTORY). 0 or -1 with err. */
int spool_dirs_open(const char *spool, struct spool_dirs *d, char *err, size_t errlen);
void spool_dirs_close(struct spool_dirs *d);

/* Move dir/name into quarantine/ (a fresh name if taken) and log why. */
void quarantine_file(const struct spool_dirs *d, int dir, const char *name, const char *why);

struct pickup;

/* Called for each message newly committed to the queue. */
typedef void (*pickup_cb)(void *arg, const struct qmsg *m);

struct pickup *pickup_new(const struct spool_dirs *d, const char *spool, pickup_cb cb, void *arg);
void pickup_free(struct pickup *p);
/* The inotify descriptor to poll (-1 if inotify is unavailable). */
int pickup_fd(const struct pickup *p);
/* Read pending inotify events; a scan is then due. */
void pickup_events(struct pickup *p);
/* When the next scan is due (absolute, monotonic seconds). */
double pickup_due(const struct pickup *p);
/* Ask for a scan at once. */
void pickup_poke(struct pickup *p);

/*
 * Scan incoming/new and pick up every complete file. c gives hostname,
 * max_message_size and rescan_interval. Returns the number of messages queued.
 */
unsigned pickup_scan(struct pickup *p, const struct conf *c);

/*
 * Copy one checked drop file into the queue (exported for tests): see
 * pickup.c. 1 queued, 0 left for later, -1 refused (quarantined).
 */
int pickup_one(struct pickup *p, const struct conf *c, const char *name);

#endif
