/*
 * One ESMTP session of the listener (SPEC §6.1), in its own process: an
 * explicit state machine over the commands of RFC 5321 with PIPELINING,
 * SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS and AUTH
 * PLAIN/LOGIN; each message queued by submit_message, the path sendmail
 * takes, and answered 250 only once it is durable in the spool.
 */
#ifndef NULLRELAY_LISTEN_SMTP_H
#define NULLRELAY_LISTEN_SMTP_H

#include <signal.h>
#include <stdbool.h>

#include "conf.h"

struct listen_users;
struct tls_server;

struct lsmtp_ctx {
	const struct conf *c;
	const struct listen_users *users;	/* NULL: no AUTH */
	struct tls_server *tls;			/* NULL: no STARTTLS */
	const char *ip;				/* the client, as text */
	bool loopback;				/* the client is on 127/8 or ::1 */
	int events;				/* the parent's event socket, or -1 */
	volatile sig_atomic_t *stop;		/* set on SIGTERM */
};

/* Serve the client on fd (closed before returning). */
void listen_smtp_serve(const struct lsmtp_ctx *x, int fd);

#endif
