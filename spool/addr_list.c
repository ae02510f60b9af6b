/*
 * struct addr and struct addrlist housekeeping: the parser is in addr_parse.c.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

/* ASCII-only case folding: domain names compare this way whatever the locale. */
static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool domain_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return ascii_caseeq(a, b);
}

char *addr_spec(const struct addr *a)
{
	if (a->domain == NULL)
		return xstrdup(a->local != NULL ? a->local : "");
	return xasprintf("%s@%s", a->local != NULL ? a->local : "", a->domain);
}

bool addr_domain_is(const struct addr *a, const char *domain)
{
	return domain_eq(a->domain, domain);
}

void addr_free(struct addr *a)
{
	if (a == NULL)
		return;
	free(a->local);
	free(a->domain);
	free(a->display);
	memset(a, 0, sizeof *a);
}

void addr_list_free(struct addrlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		addr_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

void addr_list_push_copy(struct addrlist *l, const struct addr *a)
{
	struct addr *c;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	c = &l->v[l->n++];
	c->local = xstrdup(a->local != NULL ? a->local : "");
	c->domain = a->domain != NULL ? xstrdup(a->domain) : NULL;
	c->display = a->display != NULL ? xstrdup(a->display) : NULL;
	c->utf8 = a->utf8;
	c->qualify_at = a->qualify_at;
}

bool addr_list_contains(const struct addrlist *l, const struct addr *a)
{
	size_t i;
	const char *local = a->local != NULL ? a->local : "";

	for (i = 0; i < l->n; i++) {
		const char *ll = l->v[i].local != NULL ? l->v[i].local : "";

		if (strcmp(ll, local) == 0 && domain_eq(l->v[i].domain, a->domain))
			return true;
	}
	return false;
}
