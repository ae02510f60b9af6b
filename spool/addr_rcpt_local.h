/*
 * Local recipients at submission (SPEC §4): which addresses are local (a
 * bare name, @hostname, @localhost) and what they become. In order:
 *
 *   1. the aliases file (addr_aliases.h; `aliases`, default /etc/aliases when it
 *      exists), followed through chains of local names, at most
 *      RCPT_ALIAS_DEPTH deep, a loop broken where it closes;
 *   2. a local name the file does not map (or maps back to itself, or that
 *      closes a loop) goes to admin_addr when it is set,
 *   3. else it is qualified with default_domain.
 *
 * A command ("|prog"), file ("/path") or ":include:" target cannot be
 * delivered by a relay: it is skipped with a warning on stderr, and a name
 * left with no other target falls through to 2 and 3, so no mail is lost.
 * The aliases file is read lazily, the first time a local recipient needs it,
 * so a broken file never stops mail to remote addresses.
 */
#ifndef NULLRELAY_RCPT_LOCAL_H
#define NULLRELAY_RCPT_LOCAL_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "addr_aliases.h"
#include "conf.h"

#define RCPT_ALIAS_DEPTH 10	/* Sendmail's MAXRCRSN */

struct rcpt_local {
	const struct conf *c;
	struct aliases *al;	/* NULL: no file, or not read yet */
	bool loaded;
};

/* The addresses one recipient became ("local@domain" each, allocated). */
struct rcpt_set {
	char **v;
	size_t n;
	bool utf8;	/* some address has a non-ASCII byte (needs SMTPUTF8) */
};

void rcpt_local_init(struct rcpt_local *x, const struct conf *c);
void rcpt_local_free(struct rcpt_local *x);
void rcpt_set_free(struct rcpt_set *s);

bool rcpt_is_local(const struct conf *c, const struct addr *a);
/* "local@domain", a bare name qualified with default_domain; allocated. */
char *rcpt_qualified(const struct conf *c, const struct addr *a);

/*
 * What a becomes in the envelope, appended to out (duplicates left out).
 * 0, or EX_CONFIG with err when the aliases file cannot be read or parsed
 * (an error, not a guess: a mapping for root may be what is missing).
 */
int rcpt_local_resolve(struct rcpt_local *x, const struct addr *a, struct rcpt_set *out,
    char *err, size_t errlen);

#endif
