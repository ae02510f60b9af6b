/*
 * The control socket SPOOL/relayd.sock (mode 0666): ordinary users reach
 * relayd through it, and SO_PEERCRED tells it who they are. Protocol: one
 * command per line, one reply per command:
 *
 *   FLUSH            → "OK\n"   (sendmail -q: retry everything now)
 *   anything else    → "ERR not implemented\n" (or "ERR ..." reason)
 *
 * New commands are rows in the table in control.c; a handler appends its
 * reply to a buffer (which may be long: the reply is written as the client
 * reads it) and sees the peer's uid to decide what it may show.
 */
#ifndef NULLRELAY_CONTROL_H
#define NULLRELAY_CONTROL_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

struct control_hooks {
	void *ctx;
	/* FLUSH: retry every message and every smarthost now. */
	void (*flush)(void *ctx, uid_t peer);
};

struct control;

/* Bind SPOOL/relayd.sock (replacing a stale socket). NULL with err. */
struct control *control_open(const char *spool, const struct control_hooks *hooks, char *err,
    size_t errlen);
void control_close(struct control *ctl);
/* In a forked child: close the descriptors, leave the socket file alone. */
void control_forget(struct control *ctl);

/* Add this module's descriptors to pfd (room for control_maxfds()). */
size_t control_maxfds(void);
size_t control_pollfds(struct control *ctl, struct pollfd *pfd);
/* Handle whatever poll reported on the descriptors added last. */
void control_handle(struct control *ctl, const struct pollfd *pfd, size_t n);

#endif
