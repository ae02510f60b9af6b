/*
 * sendmail's command line (SPEC §3): the union of Sendmail's and Postfix's
 * option letters, glued values, no-ops and refusals. Pure: no I/O, so it is
 * unit-tested directly.
 */
#ifndef NULLRELAY_OPTIONS_H
#define NULLRELAY_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "spool_envelope.h"

enum sm_mode {
	SM_DELIVER,	/* -bm, the default: read a message, queue it */
	SM_LIST,	/* -bp, or invoked as mailq */
	SM_SMTP,	/* -bs: an SMTP dialogue on stdin/stdout */
	SM_FLUSH,	/* -q, -qR..., -qI..., -qS..., -qf: retry the queue now */
	SM_VERIFY,	/* -bv: print how each address would be rewritten */
	SM_NOOP,	/* -bi, -I, newaliases, -bd, -bD, -bl, -bh, -bH, -q<time> */
};

enum sm_body { SM_BODY_UNSET, SM_BODY_7BIT, SM_BODY_8BITMIME };

struct sm_opts {
	enum sm_mode mode;
	bool extract_rcpts;	/* -t */
	bool ignore_dots;	/* -i, -oi: a lone "." does not end the message */
	const char *sender;	/* -f / -r value, NULL if not given */
	const char *fullname;	/* -F */
	const char *conf_path;	/* -C */
	unsigned notify;	/* -N: NOTIFY_* bits, 0 = not given */
	enum dsn_ret ret;	/* -R */
	const char *envid;	/* -V */
	enum sm_body body;	/* -B */
	bool verbose;		/* -v */
	bool json;		/* mailq -j */
	char **rcpts;		/* the remaining arguments (recipient lists) */
	size_t nrcpts;
};

/*
 * Parse argv. argv[0]'s base name "mailq" or "newaliases" selects SM_LIST or
 * SM_NOOP unless an explicit -b option says otherwise. Returns 0, or
 * EX_USAGE (64) with one line in err naming the offending argument.
 * Does not check that SM_DELIVER has recipients (that depends on -t).
 */
int sm_parse_args(int argc, char **argv, struct sm_opts *o, char *err, size_t errlen);

#endif
