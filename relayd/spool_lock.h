/*
 * SPOOL/relayd.lock: one relayd per spool (SPEC §5.6: no message is sent
 * twice by two relays racing for it). The daemon holds an exclusive flock
 * for its whole life; its workers inherit the descriptor across fork, so a
 * worker left running after its parent died keeps the spool locked until
 * its SMTP transaction is over. The operator's queue tools take it too when
 * they edit the files themselves. relayd -n takes none.
 */
#ifndef NULLRELAY_SPOOL_LOCK_H
#define NULLRELAY_SPOOL_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#define SPOOL_LOCK "relayd.lock"

/*
 * Open SPOOL/relayd.lock, creating it mode 0600 (made by root, it is given
 * to the spool's owner): no other user may open it, so none can hold it and
 * keep relayd from starting (issue 14). A lock file that is not sound (0644
 * from an older relayd, another owner, a link) is replaced by a fresh one
 * renamed over it. Close-on-exec: commands relayd runs never hold it.
 * A descriptor, or -1 with err (errno kept).
 */
int spool_lock_open(const char *spool, char *err, size_t errlen);

/* Take the exclusive lock on *fdp without waiting: 0 taken, 1 another
 * process holds it, -1 error (errno). When the file was replaced under us,
 * *fdp is reopened on the one in place and locked. */
int spool_lock_try(int *fdp, const char *spool);

#endif
