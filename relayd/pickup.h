/*
 * Pick-up: move drop files from incoming/new into relayd's private queue
 * (SPEC §5.4). inotify (IN_MOVED_TO | IN_CLOSE_WRITE) says when to look, a
 * periodic rescan covers anything it missed; every file is hostile input and
 * a refused one never stalls the others.
 */
#ifndef NULLRELAY_PICKUP_H
#define NULLRELAY_PICKUP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <time.h>

#include "conf.h"
#include "queue.h"

/* The spool directories relayd works in, opened once at start-up. */
struct spool_dirs {
	int spool, newdir, queue, failed, quarantine;
};

/* Open every directory of the spool (O_DIRECTORY). 0 or -1 with err. */
int pickup_dirs_open(const char *spool, struct spool_dirs *d, char *err, size_t errlen);
void pickup_dirs_close(struct spool_dirs *d);

/* Move dir/name into quarantine/ (a fresh name if taken) and log why. */
void pickup_quarantine_file(const struct spool_dirs *d, int dir, const char *name, const char *why);

struct pickup;

/* Drop files made durable in the queue by one syncfs (pickup.c, step 2). */
#define PICKUP_BATCH 256
/* How soon to look again at a file that is still being written (s). */
#define PICKUP_NOT_YET_DELAY 2.0
/* The largest report datagram from a pick-up run to the parent. */
#define PICKUP_REPORT_MAX 4096

struct pickup *pickup_new(const struct spool_dirs *d, const char *spool);
void pickup_free(struct pickup *p);
/* The inotify descriptor to poll (-1 if inotify is unavailable). */
int pickup_fd(const struct pickup *p);
/* Read pending inotify events; a scan is then due. */
void pickup_events(struct pickup *p);
/* When the next scan is due (absolute, monotonic seconds). */
double pickup_due(const struct pickup *p);
/* Ask for a scan at once. */
void pickup_poke(struct pickup *p);
/* A run is starting (the parent, before the fork): the next periodic
 * scan is due after rescan_interval (never again with once), and the
 * hourly sweep of incoming/tmp goes with this run if it is due. */
void pickup_started(struct pickup *p, const struct conf *c, bool once);
/* The parent's table of incomplete files, which each run inherits: run
 * gen reported ID (dev, ino) not yet complete; a rescan is due soon. */
void pickup_not_yet(struct pickup *p, const char *id, uint64_t dev, uint64_t ino, unsigned gen);
/* Scan again after PICKUP_NOT_YET_DELAY (not later than planned). */
void pickup_retry_soon(struct pickup *p);
/* Run gen is over: forget what it did not report again. */
void pickup_forget(struct pickup *p, unsigned gen);

/*
 * Is the drop file m records still in incoming/new (by the name m->id, the
 * same dev, inode, owner and size)? Then m's pick-up may not be durable
 * yet and the next run finishes it (start-up must not schedule m).
 */
bool pickup_drop_pending(const struct spool_dirs *d, const struct qmsg *m);

/*
 * A pick-up run: the main of the child picker.c forks. Scans incoming/new,
 * picks up every complete file in batches (owners in turn), and reports on
 * sock, one SOCK_SEQPACKET datagram per batch:
 *   "Q\n" then "ID ARRIVAL NEXT\n" per message now durable in the queue
 *   "W\n" then "ID DEV INO\n" per drop file not complete yet
 * It reads "SCAN" (look at incoming/new again) and "STOP" (finish the batch
 * and exit) from the parent between batches. Never returns.
 */
noreturn void pickup_run(struct pickup *p, const struct conf *c, int sock, unsigned gen);

#endif
