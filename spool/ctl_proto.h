/*
 * The control socket's protocol, defined once: the verbs, their arguments,
 * the reply prefixes and the limits both sides rely on. The server is
 * relayd/control.c (its hooks in relayd/daemon.c write the per-message
 * admin replies); the clients are spool/ctl_mailq.c (sendmail -q, mailq),
 * relayd/qadmin.c (relayd --delete ...) and relayd/health.c (--health).
 *
 * A client connects to SPOOL/relayd.sock (SPOOL_SOCKET, spool.h), writes
 * one request line "VERB" or "VERB ARG" ending in LF (a CR before it is
 * allowed) of at most CTL_LINE_MAX bytes, and reads the reply until relayd
 * closes the connection (one request per connection). relayd knows who
 * asks from SO_PEERCRED, never from what the client says.
 *
 *   FLUSH                 -> "OK"            retry everything now
 *   LIST [JSON]           -> the mailq listing (spool_qlist.h)
 *   HEALTH [JSON]         -> relayd --health's verdict (health.h)
 *   DELETE|HOLD|RELEASE|RETRY|REQUEUE ID|ALL
 *                         -> per message one "OK ID", "MISSING ID",
 *                            "BUSY ID" or "FAIL ID reason" line
 *   anything refused      -> one "ERR reason" line
 */
#ifndef NULLRELAY_CTL_PROTO_H
#define NULLRELAY_CTL_PROTO_H

#include <string.h>

/* Verbs. */
#define CTL_FLUSH "FLUSH"
#define CTL_LIST "LIST"
#define CTL_HEALTH "HEALTH"
#define CTL_DELETE "DELETE"
#define CTL_HOLD "HOLD"
#define CTL_RELEASE "RELEASE"
#define CTL_RETRY "RETRY"
#define CTL_REQUEUE "REQUEUE"

/* Arguments. */
#define CTL_ARG_JSON "JSON"	/* LIST and HEALTH: as JSON */
#define CTL_ARG_ALL "ALL"	/* the admin verbs: every message */

/* Replies: each a line's first word; the word and its space for those
 * followed by an id or a reason. */
#define CTL_OK "OK"
#define CTL_ERR "ERR "
#define CTL_MISSING "MISSING "
#define CTL_BUSY "BUSY "
#define CTL_FAIL "FAIL "

/* True if line starts with the reply prefix p (one of the above). */
#define CTL_IS(line, p) (strncmp((line), (p), sizeof(p) - 1) == 0)

/* Limits. A request line longer than CTL_LINE_MAX is refused ("ERR line
 * too long"). A reply is at most CTL_REPLY_MAX bytes for an ordinary user,
 * CTL_REPLY_MAX_PRIV for root and the relay user (the whole queue's
 * listing): beyond that relayd answers ERR rather than half a listing. */
#define CTL_LINE_MAX 512
#define CTL_REPLY_MAX (4 * 1024 * 1024)
#define CTL_REPLY_MAX_PRIV (64 * 1024 * 1024)

#endif
