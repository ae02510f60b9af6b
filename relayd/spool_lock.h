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

#include <stddef.h>

#define SPOOL_LOCK "relayd.lock"

/*
 * Open SPOOL/relayd.lock, creating it (mode 0644; made by root, it is given
 * to the spool's owner). Close-on-exec: commands relayd runs never hold it.
 * A descriptor, or -1 with err (errno kept).
 */
int spool_lock_open(const char *spool, char *err, size_t errlen);

/* Take the exclusive lock without waiting: 0 taken, 1 another process holds
 * it, -1 error (errno). */
int spool_lock_try(int fd);

#endif
