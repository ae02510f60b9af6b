/*
 * Submission: read one message, fix it up (SPEC §4), work out its envelope and
 * queue it durably in the spool (SPEC §5). Used by sendmail's default mode and
 * by its -bs SMTP dialogue.
 */
#ifndef NULLRELAY_SUBMIT_H
#define NULLRELAY_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "conf.h"
#include "spool_envelope.h"
#include "sm_options.h"

struct submit_req {
	const struct conf *conf;
	const char *sender;	/* -f/-r as given; NULL = not given */
	const char *fullname;	/* -F, or NULL */
	bool ignore_dots;	/* -i/-oi: a lone "." is an ordinary line */
	bool extract_rcpts;	/* -t */
	char *const *rcpts;	/* command-line recipients, each an address list */
	size_t nrcpts;
	unsigned notify;	/* -N */
	enum dsn_ret ret;	/* -R */
	const char *envid;	/* -V */
	enum sm_body body;	/* -B */
	uid_t uid;		/* the caller (getuid), for the From: default */
	const char *login;	/* the caller's passwd name */
	const char *gecos_name;	/* the caller's passwd full name, or NULL */
	/* Called once the message is durable (sendmail -v): its queue id and
	 * envelope, as queued. NULL = nobody asked. */
	void (*queued)(void *ctx, const char *id, const struct envelope *env);
	void *queued_ctx;
	/* Set by the SMTP listener (SPEC §6.1), else NULL: the sender is the
	 * client's MAIL FROM, never a local user (no from_rewrite; a bounce goes
	 * back through the smarthost), a missing From: is made from it, and the
	 * envelope's "client" line records protocol, address and EHLO name. */
	const char *client_proto, *client_ip, *client_helo;
};

/*
 * Read the message from fd (to end of file, or to a lone "." line unless
 * ignore_dots), fix it up and queue it. Returns 0 once the message is durable,
 * with its queue id in id; otherwise a sysexits code (never EX_TEMPFAIL) with
 * one line in err naming the cause, and nothing left in the spool.
 */
int submit_message(const struct submit_req *r, int fd, char id[17], char *err, size_t errlen);

/*
 * How one recipient argument (an address list) is rewritten for the envelope:
 * qualification with default_domain and admin_addr for local users. Appends
 * to out. 0, or EX_DATAERR with err.
 */
int submit_rewrite_rcpts(const struct conf *c, const char *arg, struct addrlist *out, char *err,
    size_t errlen);

#endif
