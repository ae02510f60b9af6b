/*
 * The control socket SPOOL/relayd.sock (mode 0666): ordinary users reach
 * relayd through it, and SO_PEERCRED tells it who they are. Protocol: one
 * command per line, one reply per command:
 *
 *   FLUSH            → "OK\n"   (sendmail -q: retry everything now)
 *   LIST, LIST JSON  → the mailq listing (spool_qlist.h); an ordinary user sees
 *                      only the messages they submitted (SPEC §5.2), root
 *                      and the relay user see all
 *   DELETE|HOLD|RELEASE|RETRY|REQUEUE ID|ALL
 *                    → the operator's queue tools (qadmin.h), root and the
 *                      relay user only: one "OK|MISSING|BUSY ID" or
 *                      "FAIL ID reason" line per message
 *   HEALTH, HEALTH JSON
 *                    → relayd --health's verdict (health.h), one line or one
 *                      JSON object; any user may ask
 *   anything else    → "ERR not implemented\n" (or "ERR ..." reason)
 *
 * New commands are rows in the table in control.c; a handler appends its
 * reply to a buffer (which may be long: the reply is written as the client
 * reads it) and sees the peer's uid to decide what it may show.
 */
#ifndef NULLRELAY_CONTROL_H
#define NULLRELAY_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qadmin.h"
#include "util.h"

struct control_hooks {
	void *ctx;
	/* FLUSH: retry every message (and, for root and the relay user,
	 * every smarthost) now. 0: done; else refused, with why in err (an ordinary user's flush
	 * beyond the rate limit). */
	int (*flush)(void *ctx, uid_t peer, char *err, size_t errlen);
	/* LIST: append the listing of what peer may see (all: everything).
	 * 0, or -1 with err. */
	int (*list)(void *ctx, bool json, bool all, uid_t peer, struct buf *out, char *err,
	    size_t errlen);
	/* An operator command from root or the relay user, for one id or
	 * "ALL": append the reply lines (qadmin.h). */
	void (*admin)(void *ctx, uid_t peer, enum qadmin_op op, const char *id, struct buf *out);
	/* HEALTH: append the verdict (health.h). */
	void (*health)(void *ctx, bool json, struct buf *out);
};

struct control;

/* Bind SPOOL/relayd.sock (replacing a stale socket). NULL with err. */
struct control *control_open(const char *spool, const struct control_hooks *hooks, char *err,
    size_t errlen);
void control_close(struct control *ctl);
/* In a forked child: close the descriptors, leave the socket file alone. */
void control_forget(struct control *ctl);

/* Connections served at once, and so the descriptors control_pollfds may
 * add (the listening socket too): a caller's pollfd array must have room. */
#define CONTROL_MAX_CLIENTS 32
#define CONTROL_MAX_FDS (1 + CONTROL_MAX_CLIENTS)

/* Add this module's descriptors to pfd (room for control_maxfds()). */
size_t control_maxfds(void);
size_t control_pollfds(struct control *ctl, struct pollfd *pfd);
/* Handle whatever poll reported on the descriptors added last. */
void control_handle(struct control *ctl, const struct pollfd *pfd, size_t n);

#endif
