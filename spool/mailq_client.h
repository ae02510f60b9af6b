/*
 * sendmail's side of relayd's control socket SPOOL/relayd.sock (SPEC §5):
 * "FLUSH" for sendmail -q, "LIST" / "LIST JSON" for mailq. relayd answers
 * from SO_PEERCRED, so nothing the client says about itself matters.
 */
#ifndef NULLRELAY_MAILQ_CLIENT_H
#define NULLRELAY_MAILQ_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
