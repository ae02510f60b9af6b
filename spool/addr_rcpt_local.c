/* Local recipients: see addr_rcpt_local.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "spool_envelope.h"
#include "log.h"
#include "addr_rcpt_local.h"
#include "util.h"

/* Expansion steps per recipient: a file of wide aliases nested deep could
 * otherwise take exponential time before the duplicates are dropped. */
#define RCPT_MAX_STEPS 100000

void rcpt_local_init(struct rcpt_local *x, const struct conf *c)
{
	memset(x, 0, sizeof(*x));
	x->c = c;
}

void rcpt_local_free(struct rcpt_local *x)
{
	aliases_free(x->al);
	memset(x, 0, sizeof(*x));
}

void rcpt_set_free(struct rcpt_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

bool rcpt_is_local(const struct conf *c, const struct addr *a)
{
	return a->domain == NULL || addr_domain_is(a, c->hostname) ||
	    addr_domain_is(a, "localhost");
}

char *rcpt_qualified(const struct conf *c, const struct addr *a)
{
	if (a->domain == NULL)
		return xasprintf("%s@%s", a->local, c->default_domain);
	return addr_spec(a);
}

/* The aliases file, once: `aliases` if set (it must exist), else
 * /etc/aliases when it exists; "" (aliases = none) is no file. */
static int load(struct rcpt_local *x, char *err, size_t errlen)
{
	const char *path = x->c->aliases;
	bool must_exist = path != NULL;

	if (x->loaded)
		return 0;
	if (path == NULL)
		path = ALIASES_DEFAULT_PATH;
	if (path[0] != '\0' && aliases_load(path, must_exist, &x->al, err, errlen) != 0)
		return EX_CONFIG;
	x->loaded = true;
	return 0;
}

struct walk {
	struct rcpt_local *x;
	struct rcpt_set *out;
	const char *chain[RCPT_ALIAS_DEPTH];	/* the names being expanded */
	size_t depth;
	unsigned steps;
};

static void emit(struct walk *w, char *addr)
{
	for (size_t i = 0; i < w->out->n; i++) {
		if (strcmp(w->out->v[i], addr) == 0) {
			free(addr);
			return;
		}
	}
	w->out->v = xreallocarray(w->out->v, w->out->n + 1, sizeof(*w->out->v));
	w->out->v[w->out->n++] = addr;
	for (; *addr != '\0'; addr++)
		if ((unsigned char)*addr >= 0x80)
			w->out->utf8 = true;
}

/* A local name the aliases do not take further. */
static void terminal(struct walk *w, const struct addr *a)
{
	const struct conf *c = w->x->c;

	emit(w, c->admin_addr != NULL ? xstrdup(c->admin_addr) : rcpt_qualified(c, a));
}

static const char *kind_name(enum alias_kind k)
{
	return k == ALIAS_COMMAND ? "command" : k == ALIAS_FILE ? "file" : ":include:";
}

static int expand(struct walk *w, const struct addr *a, char *err, size_t errlen);

/* One target of entry e. */
static int target(struct walk *w, const struct alias_entry *e, const char *t, bool *used,
    char *err, size_t errlen)
{
	const struct conf *c = w->x->c;
	struct addrlist l = { 0 };
	enum alias_kind k = aliases_target_kind(t);
	char why[256];
	int rc = 0;

	if (k != ALIAS_ADDRESS) {
		log_warnx("aliases: %s:%u: %s: skipping the %s target %.200s (a relay delivers "
		    "no mail locally)", aliases_path(w->x->al), e->line, e->name, kind_name(k), t);
		return 0;
	}
	/* aliases_load checked that it is one address. */
	if (addr_list_parse(t, strlen(t), &l, why, sizeof(why)) != 0 || l.n != 1) {
		addr_list_free(&l);
		return 0;
	}
	*used = true;
	if (rcpt_is_local(c, &l.v[0]))
		rc = expand(w, &l.v[0], err, errlen);
	else
		emit(w, rcpt_qualified(c, &l.v[0]));
	addr_list_free(&l);
	return rc;
}

/* a is local: follow the aliases from it. */
static int expand(struct walk *w, const struct addr *a, char *err, size_t errlen)
{
	const struct alias_entry *e = aliases_find(w->x->al, a->local);
	bool used = false;
	int rc = 0;

	if (++w->steps > RCPT_MAX_STEPS || w->out->n >= ENV_MAX_RCPTS) {
		snprintf(err, errlen, "aliases file %s: the expansion of %.100s is too large",
		    aliases_path(w->x->al), w->chain[0] != NULL ? w->chain[0] : a->local);
		return EX_CONFIG;
	}
	if (e == NULL) {
		terminal(w, a);
		return 0;
	}
	for (size_t i = 0; i < w->depth; i++) {
		if (strcasecmp(w->chain[i], e->name) != 0)
			continue;
		/* "root: root, ops@x" keeps a copy for root itself, as in
		 * Sendmail; a longer cycle is a mistake worth a word. */
		if (i + 1 != w->depth)
			log_warnx("aliases: %s:%u: alias loop through %s; treating %s as "
			    "unaliased", aliases_path(w->x->al), e->line, e->name, a->local);
		terminal(w, a);
		return 0;
	}
	if (w->depth == RCPT_ALIAS_DEPTH) {
		log_warnx("aliases: %s:%u: aliases nested deeper than %d at %s; treating it as "
		    "unaliased", aliases_path(w->x->al), e->line, RCPT_ALIAS_DEPTH, e->name);
		terminal(w, a);
		return 0;
	}
	w->chain[w->depth++] = e->name;
	for (size_t i = 0; i < e->ntargets && rc == 0; i++)
		rc = target(w, e, e->targets[i], &used, err, errlen);
	w->depth--;
	if (rc == 0 && !used)
		terminal(w, a);	/* only commands/files: admin_addr or qualified */
	return rc;
}

int rcpt_local_resolve(struct rcpt_local *x, const struct addr *a, struct rcpt_set *out,
    char *err, size_t errlen)
{
	struct walk w = { .x = x, .out = out };
	int rc;

	if (!rcpt_is_local(x->c, a)) {
		emit(&w, rcpt_qualified(x->c, a));
		return 0;
	}
	if ((rc = load(x, err, errlen)) != 0)
		return rc;
	if (x->al == NULL) {
		terminal(&w, a);
		return 0;
	}
	return expand(&w, a, err, errlen);
}
