/*
 * The queue listing behind mailq (SPEC §8): Postfix's `mailq` text layout or
 * one JSON object per message with `postqueue -j`'s field names. Read from
 * the state files of SPOOL/queue and SPOOL/failed and the drop files of
 * SPOOL/incoming/new, so relayd (over its control socket) and sendmail
 * (reading the spool itself when relayd is not running) print the same
 * thing.
 */
#ifndef NULLRELAY_QLIST_H
#define NULLRELAY_QLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spool_qlist_owner.h"
#include "util.h"

struct qlist_opts {
	bool json;		/* postqueue -j lines instead of the text layout */
	bool all;		/* every message; else only those submitted by uid */
	uid_t uid;
	/* Is this message being delivered right now? NULL = never known. */
	bool (*busy)(void *ctx, const char *id);
	void *ctx;
	time_t now;		/* for "next attempt" (0 = time(NULL)) */
	/* Submitters learnt by earlier listings (NULL = none): with it, a
	 * listing for one uid skips others' state files unparsed. */
	struct qlist_owners *owners;
};

/*
 * Append the listing of qdir (SPOOL/queue/), faileddir (failed/; -1 = none)
 * and the maildrop (SPOOL/incoming/new, found as qdir/../incoming/new; drop
 * files not yet picked up, queue_name "maildrop", their owner the submitter)
 * to out, oldest message first. A state file that does not parse (or
 * vanished while we looked) is skipped: relayd quarantines what it cannot
 * read; so is a drop file drop_file_open does not accept (read only: mailq
 * never removes or moves one), and an unreadable incoming/new. 0, or -1
 * with err (out too small, unreadable queue directory; errno kept).
 */
int qlist_format(int qdir, int faileddir, const struct qlist_opts *o, struct buf *out,
    char *err, size_t errlen);

/* Append s as a JSON string (quotes, escapes; valid UTF-8 passed through,
 * controls escaped, invalid bytes as U+FFFD: the output is always valid
 * UTF-8 JSON). */
int qlist_json_append_str(struct buf *out, const char *s);

#endif
