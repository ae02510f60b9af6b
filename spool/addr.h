/*
 * RFC 5322 address lists (§3.4): display names, comments, quoted local parts,
 * groups, obsolete route syntax, domain literals, unqualified names, UTF-8.
 * Used on header values (To/Cc/Bcc/From/Resent-*) and command-line recipients.
 */
#ifndef NULLRELAY_ADDRESS_H
#define NULLRELAY_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_MAX_LEN 998	/* longest envelope address we accept */

struct addr {
	char *local;	/* local part as it goes in SMTP: quoted when needed ("a b"@x) */
	char *domain;	/* NULL when unqualified; "[192.0.2.1]" for a literal */
	char *display;	/* display name with quotes/comments removed, or NULL */
	bool utf8;	/* local or domain has non-ASCII bytes (needs SMTPUTF8) */
	/* Offset in the parsed input just after the local part of an
	 * unqualified address: where "@domain" goes to qualify it in place. */
	size_t qualify_at;
};

struct addrlist {
	struct addr *v;
	size_t n, cap;
};

/*
 * Parse an address list. Groups are flattened ("undisclosed-recipients:;"
 * yields nothing), route syntax "<@a,@b:u@d>" yields u@d, a comment-only or
 * empty list yields nothing. Header folding (CRLF or LF followed by space or
 * tab) counts as white space; any other CR, LF or NUL, or an unbalanced
 * quote, comment or angle bracket, is an error. Appends to *out.
 * Returns 0, or -1 with a reason in err ("unbalanced '<' in ...").
 */
int addr_list_parse(const char *s, size_t len, struct addrlist *out, char *err, size_t errlen);

/*
 * Parse one envelope sender as given to -f/-r: "user@x", "<user@x>",
 * "Name <user@x>", a bare name, or the null sender ("" or "<>", result with
 * local = "" and domain = NULL and *is_null = true).
 */
int addr_parse_sender(const char *s, struct addr *out, bool *is_null, char *err, size_t errlen);

/* "local@domain" (or "local" when unqualified), freshly allocated. */
char *addr_spec(const struct addr *a);

/* Domain equality, ASCII case-insensitive. */
bool addr_domain_is(const struct addr *a, const char *domain);

void addr_free(struct addr *a);
void addr_list_free(struct addrlist *l);
/* Append a copy of a (deep). */
void addr_list_push_copy(struct addrlist *l, const struct addr *a);
/* True if l already holds a with the same spec (local part exact, domain
 * case-insensitive). */
bool addr_list_contains(const struct addrlist *l, const struct addr *a);

#endif
