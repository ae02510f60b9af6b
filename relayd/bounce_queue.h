/*
 * Bounces and delay warnings in the queue (SPEC §7): the glue between the
 * queue (queue.h), the report builder (bounce.h) and local delivery
 * (mbox.h). Only the parent process calls this: it owns the in-memory index
 * that a new queue entry must join, and no worker holds the message while
 * it runs (workers commit their outcome, then report; the parent reviews).
 *
 * A message with nothing left to deliver and some recipients failed:
 *   - sender null (it is itself a bounce): never bounced. Re-addressed once
 *     to admin_addr (recipient rewritten, original kept as its ORCPT, the
 *     state flag `redirected` set, a fresh lifetime); when that fails too, or
 *     there is no admin_addr, moved into failed/ and logged.
 *   - NOTIFY given without FAILURE (sendmail -N never): no report; the
 *     message is moved into failed/ and logged.
 *   - a local sender (local-sender flag, or a sender at hostname or
 *     localhost) as bounce_local says: mbox appends the report to
 *     /var/mail/USER of the submitting uid (falling back to keep, logged,
 *     when that fails), relay queues it to admin_addr, keep moves the
 *     message into failed/.
 *
 * mbox goes through the mailbox process (mbox_proc.h), never waited for:
 * the review hands the message to the mailbox client (mbox_client.h) and
 * takes it out of the schedule (BQ_LEFT) while it stays in queue/; the
 * answer, from the event loop, finishes it: delivered (the original leaves
 * the queue; for a delay warning `warned` is committed and the message goes
 * back into the schedule), failed (keep, as above), or the mailbox still
 * locked (a bounce is tried again after a backoff, a delay warning after the
 * next attempt). A crash or a dead mailbox process leaves the message in
 * queue/: the next start reviews it and asks again; nothing is lost, a
 * report may be repeated.
 *   - anyone else: the report is queued to the sender.
 *
 * Crash safety of a queued report, in this order: NEWID.msg written and
 * fsynced, NEWID.env committed (fsync of queue/), and only then the original
 * removed (ID.env unlinked, queue/ fsynced, ID.msg unlinked). A crash in
 * between leaves both: the original is reviewed again at start-up and may
 * make a second report; a report is never lost. The same holds for delay
 * warnings: the report is committed before the original's `warned` flag.
 */
#ifndef NULLRELAY_BOUNCE_QUEUE_H
#define NULLRELAY_BOUNCE_QUEUE_H

#include <stdbool.h>
#include <time.h>

#include "conf.h"
#include "mbox_client.h"
#include "queue.h"
#include "sched.h"

enum bounce_queue_action {
	BQ_STAYS,	/* still queued, schedule unchanged */
	BQ_DUE_NOW,	/* still queued, re-addressed: attempt it now */
	BQ_LEFT,	/* out of the schedule: no longer in queue/ (sent, bounced,
			 * kept in failed/), or the mailbox client's (see above) */
	BQ_RETRY,	/* nothing could be done now (I/O error): review later */
};

struct bounce_queue_outcome {
	enum bounce_queue_action act;
	double arrival;		/* BQ_DUE_NOW: the message's (new) arrival */
	char newid[QUEUE_ID_SIZE];		/* a report queued as a new entry, "" = none */
	double new_arrival;
};

/*
 * Review queue/ID after an attempt, an expiry, or at start-up (its state
 * committed, no worker holding it): finish it, bounce it, re-address it,
 * or send its delay warning, as described above. now is the wall clock.
 */
void bounce_queue_review(const struct conf *c, const struct spool_dirs *d, const char *id, double now,
    struct bounce_queue_outcome *o);

/* Is a report about id with the mailbox process (queued or in flight)?
 * Such a message is out of the schedule on purpose: mbox_done puts it back. */
bool bounce_queue_report_pending(const char *id);

/*
 * Route mbox reports through mc (its prepare and done, mbox_client.h),
 * acting on c, d and s; before the first review. mc NULL: none (reports to
 * mailboxes stay queued, logged).
 */
void bounce_queue_mbox_attach(struct mbox_client *mc, const struct conf *c,
    const struct spool_dirs *d, struct sched *s);

/* True if sender counts as local for bounce_local (see above). Pure. */
bool bounce_queue_sender_is_local(const struct conf *c, const struct envelope *env);

#endif
