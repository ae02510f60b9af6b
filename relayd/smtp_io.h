/*
 * The SMTP client's session and its I/O primitives, the layer below both
 * smtp.c (open: greeting, EHLO, TLS, AUTH; QUIT) and smtp_send.c (one mail
 * transaction): write commands, read whole replies, the protocol state,
 * RSET. Calls go down from those two into this file, never sideways
 * between them. Nothing outside relayd/smtp*.c includes this.
 */
#ifndef NULLRELAY_SMTP_IO_H
#define NULLRELAY_SMTP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "net.h"
#include "smtp_reply.h"

/* The protocol states (trace logs name them through smtp_io_state_name). */
enum smtp_state {
	SMTP_S_CONNECT, SMTP_S_GREETING, SMTP_S_EHLO, SMTP_S_HELO, SMTP_S_STARTTLS,
	SMTP_S_TLS_HANDSHAKE, SMTP_S_EHLO2, SMTP_S_AUTH, SMTP_S_READY, SMTP_S_MAIL,
	SMTP_S_RCPT, SMTP_S_DATA, SMTP_S_BODY, SMTP_S_DOT, SMTP_S_RSET, SMTP_S_QUIT,
};

/* smtp.h's opaque struct smtp_session. */
struct smtp_session {
	const struct conf *c;
	const struct smarthost *sh;
	struct net *net;		/* NULL once the connection is gone */
	enum smtp_state state;
	struct smtp_ext ext;		/* after TLS: only what EHLO2 said */
	bool usable;
	bool in_txn;			/* MAIL sent and not finished: RSET first */
	char relay[300];		/* "host[addr]:port" */
	char line[SMTP_REPLY_LINE_MAX * 2];
};

const char *smtp_io_state_name(enum smtp_state st);
void smtp_io_set_state(struct smtp_session *s, enum smtp_state st);

/*
 * Write data (one or more CRLF-terminated commands) in one go. The transcript
 * shows `shown` instead of the data when it is not NULL (secrets). On a
 * network failure: -1, r says "lost connection with ... while <what>", the
 * session is no longer usable.
 */
int smtp_io_write(struct smtp_session *s, const char *data, size_t len, const char *shown,
    time_t timeout, const char *what, struct smtp_reply *r);
/* Write one command line (CRLF appended). */
int smtp_io_cmd(struct smtp_session *s, const char *cmd, const char *shown, time_t timeout,
    const char *what, struct smtp_reply *r);
/*
 * Read one complete reply. EHLO keywords go into ext when not NULL. 0, or -1
 * on a network failure, timeout or malformed reply (r says which; the
 * session is then unusable and closed). A 421 reply marks it unusable too.
 */
int smtp_io_read(struct smtp_session *s, struct smtp_reply *r, time_t timeout, const char *what,
    struct smtp_ext *ext);
/* Drop the connection without QUIT (protocol state unknown). */
void smtp_io_drop(struct smtp_session *s);
/* smtp.h's smtp_usable and smtp_rset (RSET: SMTP_DONE, or the session is
 * no longer usable). */
bool smtp_io_usable(const struct smtp_session *s);
enum smtp_class smtp_io_rset(struct smtp_session *s);

#endif
