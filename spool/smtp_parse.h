/*
 * Parsing of what an SMTP client sends, shared by the two servers: sendmail
 * -bs (sm_bs.c) and relayd's listener (listen_smtp.c). Pure functions.
 */
#ifndef NULLRELAY_SMTP_PARSE_H
#define NULLRELAY_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sm_options.h"

/* Case-insensitive prefix at the start of s: what follows it, or NULL. */
const char *smtp_after_prefix(const char *s, const char *prefix);

/*
 * The path after "MAIL FROM:" or "RCPT TO:". Accepts "<...>" (quotes may
 * hide '>') and, leniently, a bare address up to the first space; drops a
 * source route "@a,@b:". Returns the inner text (allocated) and sets *rest
 * to what follows, or NULL if the brackets do not close.
 */
char *smtp_parse_path(const char *p, const char **rest);

/* Next " KEY[=VALUE]" parameter of *rest; false at the end. */
bool smtp_next_param(const char **rest, char *key, size_t keylen, const char **val,
    size_t *vallen);

/* A reason from elsewhere, made safe for one reply line (in place). */
void smtp_clean_text(char *t);

struct smtp_mail_params {
	enum sm_body body;	/* SM_BODY_UNSET when not given */
	bool smtputf8;
	uint64_t size;		/* SIZE=, 0 when not given */
};

/*
 * The parameters of MAIL FROM (BODY=7BIT|8BITMIME, SIZE=N checked against
 * max_size (0 = no limit), SMTPUTF8, AUTH=... accepted and ignored). 0, or
 * -1 with the whole reply line ("552 5.3.4 ...") in reply.
 */
int smtp_mail_params(const char *rest, uint64_t max_size, struct smtp_mail_params *out,
    char *reply, size_t replylen);

#endif
