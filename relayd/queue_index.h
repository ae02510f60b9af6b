/*
 * queue/index: the schedule (id, arrival, next attempt) written when relayd
 * stops cleanly, so the next start indexes 100 000 queued messages from one
 * file and one readdir instead of reading every state file. It is a cache,
 * never the truth: it is removed (and that made durable) as soon as it has
 * been read, and by anything that edits the queue while relayd is stopped
 * (qadmin), so it is only ever used right after the stop that wrote it.
 * A message it does not list, or a listed one whose files are not both
 * there, is recovered the slow way (daemon.c).
 *
 *   NULLRELAY-INDEX 2
 *   ID ARRIVAL NEXT UID      one line per message; UID the submitter, "-"
 *                            if unknown (version 1 lines have no UID)
 *   end N                    N lines above: a cut file is ignored whole
 */
#ifndef NULLRELAY_QUEUE_INDEX_H
#define NULLRELAY_QUEUE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sched.h"

#define QUEUE_INDEX_NAME "index"
/* Below this many messages reading every state file is quick enough: no
 * index is written (a small queue/ holds only messages). */
#define QUEUE_INDEX_MIN 1000

/* Write the index of s into qdir (index.tmp, fsync, rename, fsync). 0/-1. */
int queue_index_write(int qdir, const struct sched *s);

/* uid: the submitter, -1 if not known (or a version 1 index). */
typedef void (*queue_index_cb)(void *ctx, const char *id, double arrival, time_t next,
    long uid);
/*
 * Read qdir/index and remove it: cb for each line of a whole, well-formed
 * index. Returns the number of entries, 0 if there was none or it was not
 * whole (then nothing was reported).
 */
size_t queue_index_take(int qdir, queue_index_cb cb, void *ctx);
/* Remove qdir/index (the queue is about to change under it). */
void queue_index_drop(int qdir);

#endif
