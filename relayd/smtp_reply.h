/*
 * SMTP replies (RFC 5321 §4.2, RFC 2034 enhanced codes) and the EHLO
 * extension list, as pure functions so they can be unit-tested and fuzzed.
 * The session (smtp_io.c) feeds reply lines one at a time as the network
 * layer reads them. The types here are the SMTP client's (smtp.h) too.
 */
#ifndef NULLRELAY_SMTP_REPLY_H
#define NULLRELAY_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"	/* enum auth_mech: smtp_ext.auth */

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

/* Longest reply line we keep whole (RFC 5321 §4.5.3.1.5 says 512 with the
 * CRLF); longer lines are accepted and their text truncated. */
#define SMTP_REPLY_LINE_MAX 512

/* Start collecting a new reply into r. */
void smtp_reply_init(struct smtp_reply *r);

/*
 * Add one reply line (without CR/LF) to r. The first line fixes the code;
 * continuation lines ("250-...") must carry the same code. Returns 1 when
 * more lines follow, 0 when the reply is complete (the last line had a space
 * or nothing after the code), -1 when the line is malformed (r->text then
 * says so; r->code is 0).
 * r->text gets every line joined with " ", code included, as Postfix logs
 * them ("550-5.1.1 no such user 550 5.1.1 see https://..."), control
 * characters replaced, truncated safely with "..." when too long.
 */
int smtp_reply_add_line(struct smtp_reply *r, const char *line, size_t len);

/* After the last line: fill r->dsn from the enhanced code of the first line
 * when it is present and of the same class as r->code, else "X.0.0". */
void smtp_reply_finish(struct smtp_reply *r);

/* Parse a whole reply held in a buffer (lines ended by CRLF or LF), for
 * tests and fuzzers. 0, or -1 when malformed or incomplete. */
int smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *r);

/* 2xx DONE, 4xx TEMP, 5xx PERM; anything else (0, 1xx, 3xx out of place) is
 * TEMP: a smarthost that talks nonsense is a smarthost failure. */
enum smtp_class smtp_reply_class(const struct smtp_reply *r);

/* Set r to one of our own reasons (no reply was read): code 0, dsn as given. */
void smtp_reply_set(struct smtp_reply *r, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The EHLO keywords we use (RFC 1869 and the extensions' RFCs). */
struct smtp_ext {
	bool starttls;
	bool size;		/* SIZE offered */
	uint64_t size_max;	/* 0 = offered without a limit */
	bool eightbitmime;
	bool smtputf8;
	bool pipelining;
	bool dsn;
	bool enhanced;		/* ENHANCEDSTATUSCODES */
	unsigned auth;		/* bit (1 << enum auth_mech) per mechanism offered */
};

/* Parse one EHLO reply line's text (after "250-" / "250 ") into ext. The
 * first line of the reply is the greeting name and must not be passed. */
void smtp_ext_parse_line(struct smtp_ext *ext, const char *text, size_t len);

#endif
