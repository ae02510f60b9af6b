/*
 * The operator's queue tools (relayd --delete/--hold/--release/--retry/
 * --requeue ID... or ALL). Only root and the relay user may use them. With
 * relayd running they go over the control socket ("DELETE ID", "HOLD ID",
 * "RELEASE ID", "RETRY ID", "REQUEUE ID"; ID may be ALL), so the daemon's
 * index stays right and a message a worker holds is never touched (the
 * daemon answers BUSY and the client tries again); with relayd stopped they
 * act on the files directly.
 *
 * Control replies, one line per message: "OK ID", "MISSING ID", "BUSY ID",
 * "FAIL ID reason"; or one "ERR reason" line for the whole request.
 */
#ifndef NULLRELAY_QADMIN_H
#define NULLRELAY_QADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "queue.h"

enum qadmin_op { QA_DELETE, QA_HOLD, QA_RELEASE, QA_RETRY, QA_REQUEUE };

enum qadmin_result {
	QA_DONE,
	QA_MISSING,	/* in neither queue/ nor failed/ */
	QA_REFUSED,	/* wrong place or state (err says why), or an I/O error */
};

/* What the daemon's index needs after QA_DONE. */
struct qadmin_after {
	bool queued;	/* in queue/ now, and not held: (re)index it */
	double arrival;
	time_t next;
};

/* "DELETE" → QA_DELETE (the control command names). 0 or -1. */
int qadmin_op_parse(const char *s, enum qadmin_op *op);
const char *qadmin_op_cmd(enum qadmin_op op);	/* "DELETE" */
const char *qadmin_op_done(enum qadmin_op op);	/* "removed", "held", ... */

/* Apply op to one message on the files (the caller made sure nobody is
 * delivering it). Logs "ID: removed" etc. */
enum qadmin_result qadmin_apply(const struct spool_dirs *d, enum qadmin_op op, const char *id,
    struct qadmin_after *after, char *err, size_t errlen);

/* The ids ALL stands for: queue/ (and failed/ for delete; only failed/ for
 * requeue). *ids is malloc'd, 17 bytes per id. */
size_t qadmin_all(const struct spool_dirs *d, enum qadmin_op op, char (**ids)[QUEUE_ID_SIZE]);

/*
 * relayd --OP ID...: check the caller (root or the relay user, else
 * EX_NOPERM), then ask the running daemon or act on the files. Prints
 * "ID: removed" (etc.) on stdout, problems on stderr. Returns 0 when every
 * id was found and done, EX_NOINPUT when some were not found, another
 * sysexits code otherwise.
 */
int qadmin_run(const struct conf *c, enum qadmin_op op, char **ids, size_t nids);

#endif
