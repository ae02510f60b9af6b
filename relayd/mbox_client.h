/*
 * The parent's side of the mailbox process (mbox_proc.h): a queue of jobs
 * (one report about one queued message to one local mailbox), sent one at a
 * time, never waited for. relayd's event loop polls mbox_client_fd and calls
 * mbox_client_read when it is readable, mbox_client_tick every turn; a
 * mailbox lock therefore delays only that mailbox's report, never pick-up,
 * delivery or the control socket.
 *
 * The job's owner (bounce_queue.c) fills each request when it is sent
 * (prepare: the report written afresh, so nothing is held open meanwhile)
 * and hears each outcome (done). A job answered MBOX_PROC_LOCKED and kept by
 * done is tried again after a backoff (retry_min, doubling up to retry_max)
 * and so are the other jobs of the same uid: one user's locked mailbox
 * does not hold up another's report. With once (relayd --once) it is not
 * kept: the message stays queued for the next run.
 *
 * If the mailbox process dies, relayd (no longer root) cannot start another
 * one with group mail: the client says so once (log_warnx), answers every
 * job "gone" (done with MBOX_PROC_LOCKED and the reason), and from then on
 * mbox_client_want refuses new jobs; the messages stay in the queue, and the
 * next start of relayd delivers their reports (relayd.8 PROCESSES).
 */
#ifndef NULLRELAY_MBOX_CLIENT_H
#define NULLRELAY_MBOX_CLIENT_H

#include <stdbool.h>
#include <sys/types.h>

#include "conf.h"
#include "mbox_proc.h"
#include "spool_queue.h"

struct mbox_client;

struct mbox_job {
	char id[QUEUE_ID_SIZE];	/* the message the report is about */
	int kind;		/* the owner's: which report */
	uid_t uid;		/* whose mailbox (per-uid backoff) */
};

struct mbox_client_ops {
	/* Fill rq (user, uid, size, when) and *fd (closed by the client once
	 * sent). 0 ready; -1 not possible now (the owner logged and settled
	 * it; the job is dropped). */
	int (*prepare)(void *arg, const struct mbox_job *j, struct mbox_proc_req *rq, int *fd);
	/* The outcome; true: keep the job and try again later (LOCKED only). */
	bool (*done)(void *arg, const struct mbox_job *j, enum mbox_proc_result r,
	    const char *err);
	void *arg;
};

/* fd/pid: mbox_proc_start's; c for the backoff bounds (read at each use:
 * a reload may change them). */
struct mbox_client *mbox_client_new(int fd, pid_t pid, const struct conf *c, bool once);
void mbox_client_set_ops(struct mbox_client *mc, const struct mbox_client_ops *ops);
void mbox_client_free(struct mbox_client *mc);

/* Queue a job (a job for the same id and kind already queued: nothing
 * more). false if the mailbox process is gone. */
bool mbox_client_want(struct mbox_client *mc, const char *id, int kind, uid_t uid);

/* The socket to poll for POLLIN, -1 once the process is gone. */
int mbox_client_fd(const struct mbox_client *mc);
/* The socket is readable: take the answer (or notice the end). */
void mbox_client_read(struct mbox_client *mc);
/* Send the next due job if none is in flight. */
void mbox_client_tick(struct mbox_client *mc);
/* Monotonic time at which tick has something to send (0: nothing waits). */
double mbox_client_due(const struct mbox_client *mc);
/* Is a report about id queued or in flight? */
bool mbox_client_has(const struct mbox_client *mc, const char *id);
/* Is the report about id sent and not answered yet? The operator's queue
 * tools wait (BUSY) meanwhile, as for a message a worker holds. */
bool mbox_client_sending(const struct mbox_client *mc, const char *id);
/* A job in flight or due now: relayd does not stop (SIGTERM, --once) yet. */
bool mbox_client_busy(const struct mbox_client *mc);
/* waitpid found pid: true if it was the mailbox process (logged). */
bool mbox_client_reaped(struct mbox_client *mc, pid_t pid, int status);

#endif
