/*
 * sendmail's side of relayd's control socket SPOOL/relayd.sock (SPEC §5):
 * "FLUSH" for sendmail -q, "LIST" / "LIST JSON" for mailq. relayd answers
 * from SO_PEERCRED, so nothing the client says about itself matters.
 */
#ifndef NULLRELAY_MAILQ_CLIENT_H
#define NULLRELAY_MAILQ_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/*
 * Connect to SPOOL/relayd.sock and send `cmd` (one line, LF added). With
 * copy_fd >= 0 copy the whole reply there; else put its first line (without
 * the LF) in reply. Returns 0; EX_UNAVAILABLE when relayd is not running
 * (no socket, or nobody listening) or, when copying, answers "ERR ...";
 * EX_NOPERM when the socket may not be used; EX_OSERR or EX_IOERR otherwise; err
 * says which.
 */
int ctl_request(const char *spool, const char *cmd, int copy_fd, char *reply, size_t replylen,
    char *err, size_t errlen);

/*
 * Send `cmd` and append the whole reply to out (its cap is the limit). 0, or
 * the codes of ctl_request (EX_UNAVAILABLE with "relayd is not running..."
 * in err when nothing listens). An "ERR ..." answer is left in out.
 */
int ctl_request_buf(const char *spool, const char *cmd, struct buf *out, char *err,
    size_t errlen);

/*
 * mailq: the listing from relayd ("LIST" / "LIST JSON": it shows an
 * ordinary user only their own messages), or, when relayd is not running,
 * read from the spool's state files by root or the relay user (who see
 * everything). Written to out_fd. 0, or a sysexits code with err: an
 * ordinary user with relayd stopped gets EX_UNAVAILABLE and MAILQ_NO_DAEMON.
 */
#define MAILQ_NO_DAEMON \
	"relayd is not running; only root and the relay user can read the queue directly"
int mailq_list(const char *spool, bool json, int out_fd, char *err, size_t errlen);

#endif
