/*
 * The aliases file: see addr_aliases.h. Read whole (capped), split into logical
 * entries (continuation lines joined), each checked now, so a broken file
 * is reported once with its line rather than discovered half-way through an
 * expansion.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "addr_aliases.h"
#include "util.h"

struct aliases {
	char *path;
	struct alias_entry *v;
	size_t n, cap;
};

static void entry_free(struct alias_entry *e)
{
	for (size_t i = 0; i < e->ntargets; i++)
		free(e->targets[i]);
	free(e->targets);
	free(e->name);
}

void aliases_free(struct aliases *al)
{
	if (al == NULL)
		return;
	for (size_t i = 0; i < al->n; i++)
		entry_free(&al->v[i]);
	free(al->v);
	free(al->path);
	free(al);
}

const char *aliases_path(const struct aliases *al)
{
	return al->path;
}

const struct alias_entry *aliases_find(const struct aliases *al, const char *name)
{
	for (size_t i = 0; al != NULL && i < al->n; i++)
		if (strcasecmp(al->v[i].name, name) == 0)
			return &al->v[i];
	return NULL;
}

enum alias_kind aliases_target_kind(const char *t)
{
	const char *p = t[0] == '"' ? t + 1 : t;

	if (p[0] == '|')
		return ALIAS_COMMAND;
	if (p[0] == '/')
		return ALIAS_FILE;
	if (strncasecmp(p, ":include:", 9) == 0)
		return ALIAS_INCLUDE;
	return ALIAS_ADDRESS;
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static char *trimmed(const char *s, size_t n)
{
	while (n > 0 && blank(*s)) {
		s++;
		n--;
	}
	while (n > 0 && blank(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

static void push_target(struct alias_entry *e, char *t)
{
	e->targets = xreallocarray(e->targets, e->ntargets + 1, sizeof(*e->targets));
	e->targets[e->ntargets++] = t;
}

/* Split at commas outside "quotes", <angles> and (comments). */
static int split_targets(const char *v, struct alias_entry *e, char *why, size_t whylen)
{
	int angle = 0, paren = 0;
	bool quoted = false;
	const char *start = v, *p;

	for (p = v;; p++) {
		if (*p == '\0' || (*p == ',' && !quoted && angle == 0 && paren == 0)) {
			char *t = trimmed(start, (size_t)(p - start));

			if (t[0] != '\0')
				push_target(e, t);
			else
				free(t);
			if (*p == '\0')
				break;
			start = p + 1;
			continue;
		}
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p == '"' && paren == 0)
			quoted = !quoted;
		else if (!quoted && *p == '(')
			paren++;
		else if (!quoted && *p == ')' && paren > 0)
			paren--;
		else if (!quoted && paren == 0 && *p == '<')
			angle++;
		else if (!quoted && paren == 0 && *p == '>' && angle > 0)
			angle--;
	}
	if (quoted || angle != 0 || paren != 0) {
		snprintf(why, whylen, "unbalanced %s", quoted ? "quote" : angle ? "'<'" : "'('");
		return -1;
	}
	return 0;
}

/* An address target must be exactly one address. */
static int check_address(const char *t, char *why, size_t whylen)
{
	struct addrlist l = { 0 };
	char perr[256];
	int rc = 0;

	if (addr_list_parse(t, strlen(t), &l, perr, sizeof(perr)) != 0) {
		snprintf(why, whylen, "bad address \"%.200s\": %s", t, perr);
		rc = -1;
	} else if (l.n != 1) {
		snprintf(why, whylen, "\"%.200s\" is not one address", t);
		rc = -1;
	}
	addr_list_free(&l);
	return rc;
}

/* One logical entry "name: targets". 0, or -1 with why. */
static int parse_entry(struct aliases *al, const char *s, unsigned line, char *why,
    size_t whylen)
{
	const char *colon = strchr(s, ':');
	struct alias_entry e = { 0 };
	const struct alias_entry *dup;

	if (colon == NULL) {
		snprintf(why, whylen, "expected \"name: address, ...\" (no ':')");
		return -1;
	}
	e.name = trimmed(s, (size_t)(colon - s));
	e.line = line;
	if (e.name[0] == '\0' || strpbrk(e.name, " \t\"<>,@()") != NULL) {
		snprintf(why, whylen, "bad alias name \"%.100s\"", e.name);
		entry_free(&e);
		return -1;
	}
	if ((dup = aliases_find(al, e.name)) != NULL) {
		snprintf(why, whylen, "duplicate alias \"%.100s\" (first on line %u)", e.name,
		    dup->line);
		entry_free(&e);
		return -1;
	}
	if (split_targets(colon + 1, &e, why, whylen) != 0) {
		entry_free(&e);
		return -1;
	}
	if (e.ntargets == 0) {
		snprintf(why, whylen, "alias \"%.100s\" has no target", e.name);
		entry_free(&e);
		return -1;
	}
	for (size_t i = 0; i < e.ntargets; i++) {
		if (aliases_target_kind(e.targets[i]) == ALIAS_ADDRESS &&
		    check_address(e.targets[i], why, whylen) != 0) {
			entry_free(&e);
			return -1;
		}
	}
	if (al->n == al->cap) {
		al->cap = al->cap ? al->cap * 2 : 16;
		al->v = xreallocarray(al->v, al->cap, sizeof(*al->v));
	}
	al->v[al->n++] = e;
	return 0;
}

/* The whole file into *text (NUL-terminated), or *text = NULL when it is
 * absent and may be. */
static int read_file(const char *path, bool must_exist, char **text, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd;

	*text = NULL;
	/* O_NONBLOCK: a FIFO put there must not hang every submission. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "cannot read the aliases file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "aliases file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > (off_t)ALIASES_MAX_BYTES) {
		snprintf(err, errlen, "aliases file %s: larger than %u bytes", path,
		    ALIASES_MAX_BYTES);
		close(fd);
		return -1;
	}
	*text = xmalloc((size_t)st.st_size + 2);
	/* One byte more than fstat said: a file that grew is read again next time. */
	n = io_read_full(fd, *text, (size_t)st.st_size + 1);
	close(fd);
	if (n < 0 || (size_t)n > (size_t)st.st_size) {
		snprintf(err, errlen, "cannot read the aliases file %s: %s", path,
		    n < 0 ? strerror(errno) : "it changed while being read");
		free(*text);
		*text = NULL;
		return -1;
	}
	(*text)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

/* Walk the lines, joining continuations, and parse each entry. */
static int parse_text(struct aliases *al, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct buf ent;
	unsigned lineno = 0, ent_line = 0;
	const char *p = text, *end = text + len;
	char why[512];
	int rc = 0;

	buf_init(&ent, ALIASES_MAX_BYTES);
	while (rc == 0 && p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *q = p;
		bool cont;

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\0', n) != NULL) {
			rc = -1;
			snprintf(why, sizeof(why), "NUL byte");
			ent_line = lineno;
			break;
		}
		while (q < p + n && blank(*q))
			q++;
		cont = q > p;
		if (q < p + n && *q != '#') {
			if (!cont && ent.len > 0) {
				rc = parse_entry(al, ent.data, ent_line, why, sizeof(why));
				buf_reset(&ent);
			}
			if (rc == 0 && cont && ent.len == 0) {
				snprintf(why, sizeof(why), "continuation line with no entry before it");
				ent_line = lineno;
				rc = -1;
			}
			if (rc == 0) {
				if (ent.len == 0)
					ent_line = lineno;
				else
					buf_append(&ent, " ", 1);
				if (buf_append(&ent, q, (size_t)(p + n - q)) != 0) {
					snprintf(why, sizeof(why), "entry too long");
					rc = -1;
				}
			}
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (rc == 0 && ent.len > 0)
		rc = parse_entry(al, ent.data, ent_line, why, sizeof(why));
	if (rc != 0)
		snprintf(err, errlen, "aliases file %s:%u: %s", al->path, ent_line, why);
	buf_free(&ent);
	return rc;
}

int aliases_load(const char *path, bool must_exist, struct aliases **out, char *err,
    size_t errlen)
{
	struct aliases *al;
	char *text;
	size_t len = 0;

	*out = NULL;
	if (read_file(path, must_exist, &text, &len, err, errlen) != 0)
		return -1;
	if (text == NULL)
		return 0;
	al = xcalloc(1, sizeof(*al));
	al->path = xstrdup(path);
	if (parse_text(al, text, len, err, errlen) != 0) {
		free(text);
		aliases_free(al);
		return -1;
	}
	free(text);
	*out = al;
	return 0;
}
