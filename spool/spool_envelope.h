/*
 * The envelope of one message (sender, recipients, DSN and body flags) and
 * its text form, shared by the drop file sendmail writes and the state file
 * relayd keeps. One "keyword value" line per field:
 *
 *   sender <user@example.org>      ("sender <>" is the null sender)
 *   rcpt <a@example.org>           one line per recipient, in order
 *   orcpt <root>                   optional, right after its rcpt: the address
 *                                  as the caller wrote it (DSN ORCPT)
 *   notify SUCCESS,FAILURE,DELAY   or "notify NEVER"; absent = not given (-N)
 *   ret FULL|HDRS                  absent = not given (-R)
 *   envid TEXT                     printable ASCII, absent = not given (-V)
 *   body 7BIT|8BITMIME
 *   smtputf8                       a flag: some address or header needs SMTPUTF8
 *   local-sender                   a flag: sendmail qualified the sender itself
 *   claimed-uid N                  what the submitter said; never trusted
 *   client ESMTPSA 192.0.2.1 HELO  received by the SMTP listener (SPEC §6.1):
 *                                  protocol, client address, EHLO name;
 *                                  trusted by pick-up only in a drop file
 *                                  owned by the relay user itself
 *
 * Addresses are written between < > and never contain <, >, CR, LF, TAB or NUL.
 */
#ifndef NULLRELAY_ENVELOPE_H
#define NULLRELAY_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define ENV_MAX_RCPTS 10000

enum {
	NOTIFY_NEVER = 1 << 0,
	NOTIFY_SUCCESS = 1 << 1,
	NOTIFY_FAILURE = 1 << 2,
	NOTIFY_DELAY = 1 << 3,
};

enum dsn_ret { RET_UNSET, RET_FULL, RET_HDRS };

struct env_rcpt {
	char *addr;	/* as sent in RCPT TO */
	char *orcpt;	/* as the caller wrote it, or NULL */
};

struct envelope {
	char *sender;	/* "" = null sender */
	struct env_rcpt *rcpts;
	size_t nrcpts, cap;
	unsigned notify;	/* NOTIFY_* bits; 0 = not given */
	enum dsn_ret ret;
	char *envid;		/* NULL = not given */
	bool body_8bit;
	bool smtputf8;
	bool local_sender;
	long claimed_uid;	/* -1 = not said */
	char *client_ip;	/* the "client" line; NULL = not from the listener */
	char *client_helo;
	char client_proto[8];	/* ESMTP, ESMTPS, ESMTPA or ESMTPSA */
	unsigned parse_state;	/* envelope_parse_line's memory (orcpt placement,
				 * repeated keys); envelope_init clears it */
	/* Duplicate check in O(1) per recipient (a drop file may hold
	 * ENV_MAX_RCPTS of them): open addressing over rcpts[], index + 1,
	 * 0 = empty. Owned by spool_envelope.c. */
	size_t *rhash;
	size_t rhcap;
};

void envelope_init(struct envelope *e);
void envelope_free(struct envelope *e);
/* Append a recipient unless already present (exact local part, domain
 * case-insensitive). Returns 1 if added, 0 if a duplicate, -1 if addr is
 * empty or not envelope_addr_ok, orcpt is given but not envelope_addr_ok,
 * or ENV_MAX_RCPTS is reached. */
int envelope_add_rcpt(struct envelope *e, const char *addr, const char *orcpt);

/* True if s may appear between < > in the envelope (see above): non-empty,
 * at most ENV_ADDR_MAX bytes, no <, >, CR, LF, TAB, NUL or other control
 * character (C0, DEL or C1), and bytes >= 0x80 only as valid UTF-8: a drop
 * file any user wrote must not put raw 8-bit or terminal controls into
 * root's mailq, the logs or mailq -j. The null sender "" is not an address:
 * check it separately. */
#define ENV_ADDR_MAX 998
bool envelope_addr_ok(const char *s);
/* True if address s needs SMTPUTF8 (RFC 6531): it holds a byte over 0x7f
 * (UTF-8; envelope_addr_ok allows no other). The one definition. */
bool envelope_addr_utf8(const char *s);
/* True if s is a valid envid: 1 to ENV_ENVID_MAX printable ASCII characters
 * (0x21-0x7e), as RFC 3461 allows before xtext encoding. */
#define ENV_ENVID_MAX 100
bool envelope_envid_ok(const char *s);
/* True if the three parts may form a "client" line: proto one of ESMTP,
 * ESMTPS, ESMTPA, ESMTPSA; ip an IPv4 or IPv6 literal; helo what
 * envelope_helo_ok accepts. */
bool envelope_client_ok(const char *proto, const char *ip, const char *helo);
/* An EHLO/HELO argument fit for the Received: line and the log: 1-255
 * characters of letters, digits and . - _ : [ ]. */
#define ENV_HELO_MAX 255
bool envelope_helo_ok(const char *helo);
/* Set (copies) or clear (proto NULL) the client line. */
void envelope_set_client(struct envelope *e, const char *proto, const char *ip, const char *helo);

/* NULL if e can be written and parsed back (sender set and valid, at least
 * one recipient, every field valid), else a reason. */
const char *envelope_check(const struct envelope *e);

/* Append the lines above to b. -1 if b's cap is reached. */
int envelope_write(struct buf *b, const struct envelope *e);

/*
 * Parse one line (without its newline). Returns 0 if it was an envelope
 * line, 1 if the keyword is not an envelope keyword (the caller may know it),
 * -1 if malformed (reason in err).
 */
int envelope_parse_line(struct envelope *e, const char *line, size_t len, char *err, size_t errlen);

/* Parse "-N" values: "never" or a comma list of success, failure, delay
 * (any case). 0, or -1 if malformed ("never" mixed with others, empty or
 * unknown items). */
int envelope_parse_notify(const char *s, unsigned *out);

#endif
