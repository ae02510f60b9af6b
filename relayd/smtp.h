/*
 * The SMTP client (SPEC §6): one session to one smarthost, as an explicit
 * state machine. It knows nothing of the queue: it is handed a message (an
 * envelope and a byte range of a stored file) and says what happened to
 * each recipient. The only file that calls OpenSSL is tls.c.
 */
#ifndef NULLRELAY_SMTP_H
#define NULLRELAY_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "spool_envelope.h"

/* Temporary versus permanent, visible at every call site (STYLE 4). */
enum smtp_class {
	SMTP_DONE = 0,	/* 2xx */
	SMTP_TEMP = 1,	/* 4xx, or any network, TLS or AUTH failure: retry later */
	SMTP_PERM = 2,	/* 5xx: bounce */
};

struct smtp_reply {
	int code;		/* 0 when no reply was read (network, TLS, timeout) */
	char dsn[16];		/* "4.4.1": the enhanced code, else derived from code */
	char text[512];		/* one line: the reply's lines joined, or our reason */
	bool at_auth;		/* smtp_open: the failure came at AUTH (credentials,
				 * token, mechanism), not at reaching the server */
};

struct smtp_msg {
	const struct envelope *env;
	const size_t *rcpt_idx;	/* which of env->rcpts to try in this transaction */
	size_t nrcpt;
	int fd;			/* the stored message: LF line endings */
	off_t off;
	uint64_t len;
	bool body_8bit;		/* needs BODY=8BITMIME */
	bool smtputf8;		/* needs SMTPUTF8 */
};

struct smtp_rcpt_result {
	enum smtp_class cls;
	struct smtp_reply reply;
	/* 452 "too many recipients": not tried in this transaction; the caller
	 * sends it again at once in another transaction. */
	bool too_many;
};

struct smtp_session;

/*
 * Connect to sh, read the greeting, EHLO (HELO fallback), STARTTLS and EHLO
 * again or implicit TLS, verify the certificate, AUTH. A failure here is
 * always SMTP_TEMP (a smarthost failure never bounces mail) with the reason in
 * *why. The secret is fetched here (password file or command, token command)
 * and wiped after use.
 */
enum smtp_class smtp_open(const struct conf *c, const struct smarthost *sh,
    struct smtp_session **out, struct smtp_reply *why);

/* "host[192.0.2.1]:587", for log lines. */
const char *smtp_relay_name(const struct smtp_session *s);

/*
 * One transaction: MAIL, RCPT for each recipient, DATA, the dot-stuffed CRLF
 * body, the final dot (pipelined when PIPELINING is offered). res[i] is the
 * outcome of m->rcpt_idx[i]. The return value is the message-level class:
 * SMTP_DONE when the final dot got 2xx (res[] then says which recipients
 * were accepted), else the class of the failure at MAIL, DATA or the final
 * dot (copied into every res[] that was not already a RCPT refusal) with the
 * reply in *msg_reply. After a network failure smtp_usable() is false.
 */
enum smtp_class smtp_send(struct smtp_session *s, const struct smtp_msg *m,
    struct smtp_rcpt_result *res, struct smtp_reply *msg_reply);

/* RSET between messages. SMTP_DONE, or the connection is no longer usable. */
enum smtp_class smtp_rset(struct smtp_session *s);
bool smtp_usable(const struct smtp_session *s);
/* QUIT (when usable and `polite`) and free. */
void smtp_close(struct smtp_session *s, bool polite);

#endif
