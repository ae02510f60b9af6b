/*
 * The parent's side of pick-up: it forks one pick-up run at a time
 * (pickup_run in pickup.c) when a scan is due, reads its reports, tells it
 * about new drop files while it runs (fairness: a run busy with one user's
 * flood still sees another user's new message within a batch), and lets
 * it finish its batch when relayd stops.
 */
#ifndef NULLRELAY_PICKER_H
#define NULLRELAY_PICKER_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "pickup.h"

struct picker;

/* Called for each message a run made durable in the queue. */
typedef void (*picker_queued_cb)(void *ctx, const char *id, double arrival, time_t next,
    uid_t uid);
/* Called in the child right after the fork: close the parent's descriptors. */
typedef void (*picker_child_cb)(void *ctx);

struct picker *picker_new(struct pickup *p, picker_queued_cb queued, picker_child_cb child,
    void *ctx);
void picker_free(struct picker *k);

/* Is a run going on? How many have been started? */
bool picker_running(const struct picker *k);
unsigned picker_runs(const struct picker *k);
/* Its report socket, to poll (-1 when none is running). */
int picker_fd(const struct picker *k);

/* Start a run (fork). false if the fork failed (retried when due again). */
bool picker_start(struct picker *k, const struct conf *c, bool once);
/* Read its reports; false at end of file (the socket is then closed;
 * the exit is reaped). */
bool picker_read(struct picker *k);
/* New drop files came (inotify, FLUSH): tell the run to look again. */
void picker_scan(struct picker *k);
/* relayd stops: finish the batch in hand and exit. */
void picker_stop(struct picker *k);
/* pid exited (waitpid status): true if it was the run. */
bool picker_reaped(struct picker *k, pid_t pid, int status);

#endif
