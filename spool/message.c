/*
 * The header section (message.h): lookups, removal, additions, -t
 * recipient extraction and the SPEC §4 fix-ups. Fields are kept as the
 * caller wrote them; a fix-up changes only the bytes it must (qualifying a
 * bare name inserts "@domain" and nothing else).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "message.h"
#include "util.h"

static bool name_is(const struct msg_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->namelen == n && strncasecmp(f->text, name, n) == 0;
}

long msg_find(const struct msg_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (name_is(&h->v[i], name))
			return (long)i;
	return -1;
}

bool msg_has(const struct msg_headers *h, const char *name)
{
	return msg_find(h, name) >= 0;
}

const char *msg_value(const struct msg_headers *h, size_t i, size_t *len)
{
	const struct msg_field *f = &h->v[i];
	const char *colon = memchr(f->text, ':', f->len);
	size_t off = (size_t)(colon - f->text) + 1;

	/* Every stored field has a colon and ends in LF (msg_read_headers). */
	*len = f->len - off - 1;
	return f->text + off;
}

size_t msg_remove(struct msg_headers *h, const char *name)
{
	size_t i, j, removed = 0;

	for (i = j = 0; i < h->n; i++) {
		if (name_is(&h->v[i], name)) {
			h->bytes -= h->v[i].len;
			free(h->v[i].text);
			removed++;
		} else
			h->v[j++] = h->v[i];
	}
	h->n = j;
	return removed;
}

/* Put a field made by us (text allocated, name length known) at `before`. */
static int insert_field(struct msg_headers *h, char *text, size_t namelen, long before)
{
	size_t len = strlen(text), at;

	if (h->bytes + len > MSG_HEADER_MAX) {
		free(text);
		return -1;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 32;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	at = before < 0 || (size_t)before > h->n ? h->n : (size_t)before;
	memmove(&h->v[at + 1], &h->v[at], (h->n - at) * sizeof(*h->v));
	h->v[at].text = text;
	h->v[at].len = len;
	h->v[at].namelen = namelen;
	h->n++;
	h->bytes += len;
	return 0;
}

int msg_add(struct msg_headers *h, const char *name, const char *value, long before)
{
	return insert_field(h, xasprintf("%s: %s\n", name, value), strlen(name), before);
}

static bool is_resent_name(const struct msg_field *f)
{
	return f->namelen >= 7 && strncasecmp(f->text, "Resent-", 7) == 0;
}

bool msg_is_resent(const struct msg_headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (is_resent_name(&h->v[i]))
			return true;
	return false;
}

/* Copy a field name for messages: printable, short. */
static void field_label(const struct msg_field *f, char *out, size_t outlen)
{
	size_t n = f->namelen < outlen - 1 ? f->namelen : outlen - 1;

	memcpy(out, f->text, n);
	out[n] = '\0';
}

int msg_rcpts(const struct msg_headers *h, struct addrlist *out, char *err, size_t errlen)
{
	static const char *const plain[] = { "To", "Cc", "Bcc" };
	static const char *const resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc" };
	const char *const *names = plain;

	for (size_t k = 0; k < 3; k++)
		if (msg_has(h, resent[k]))
			names = resent;
	for (size_t i = 0; i < h->n; i++) {
		const struct msg_field *f = &h->v[i];
		char why[256], label[64];
		const char *v;
		size_t vlen;

		if (!name_is(f, names[0]) && !name_is(f, names[1]) && !name_is(f, names[2]))
			continue;
		v = msg_value(h, i, &vlen);
		if (addrlist_parse(v, vlen, out, why, sizeof(why)) != 0) {
			field_label(f, label, sizeof(label));
			snprintf(err, errlen, "cannot parse the %s: header: %s", label, why);
			return EX_DATAERR;
		}
	}
	return 0;
}

/* ---- fix-ups ---- */

static bool is_local(const struct addr *a, const struct msg_fix *fx)
{
	return a->domain == NULL || (fx->hostname != NULL && addr_domain_is(a, fx->hostname)) ||
	    addr_domain_is(a, "localhost");
}

/* The fields whose bare names get qualified. */
static bool is_address_field(const struct msg_field *f)
{
	static const char *const names[] = {
		"From", "Sender", "Reply-To", "To", "Cc",
		"Resent-From", "Resent-Sender", "Resent-Reply-To", "Resent-To", "Resent-Cc",
	};

	for (size_t i = 0; i < NR_ARRAY_LEN(names); i++)
		if (name_is(f, names[i]))
			return true;
	return false;
}

static bool is_from_field(const struct msg_field *f)
{
	return name_is(f, "From") || name_is(f, "Resent-From");
}

/* Replace field i's text, keeping the byte count right. */
static int replace_text(struct msg_headers *h, size_t i, struct buf *b)
{
	struct msg_field *f = &h->v[i];

	if (h->bytes - f->len + b->len > MSG_HEADER_MAX)
		return -1;
	h->bytes = h->bytes - f->len + b->len;
	free(f->text);
	f->text = b->data;
	f->len = b->len;
	b->data = NULL;
	return 0;
}

/* Insert "@domain" after each bare name, nothing else changed. */
static int qualify_field(struct msg_headers *h, size_t i, const struct addrlist *l,
    const char *domain)
{
	const struct msg_field *f = &h->v[i];
	size_t vlen, done = 0, voff;
	const char *v = msg_value(h, i, &vlen);
	struct buf b;
	int rc = 0;

	voff = (size_t)(v - f->text);
	buf_init(&b, MSG_HEADER_MAX);
	for (size_t k = 0; k < l->n && rc == 0; k++) {
		size_t at = voff + l->v[k].qualify_at;

		if (l->v[k].domain != NULL || at < done || at > f->len - 1)
			continue;
		rc |= buf_append(&b, f->text + done, at - done);
		rc |= buf_appendf(&b, "@%s", domain);
		done = at;
	}
	rc |= buf_append(&b, f->text + done, f->len - done);
	if (rc == 0)
		rc = replace_text(h, i, &b);
	buf_free(&b);
	return rc;
}

/* From_rewrite: rebuild the field with local addresses replaced; display
 * names are kept, comments and groups are not (the field is regenerated). */
static int rewrite_from(struct msg_headers *h, size_t i, const struct addrlist *l,
    const struct msg_fix *fx)
{
	const struct msg_field *f = &h->v[i];
	struct buf b;
	int rc = 0;

	buf_init(&b, MSG_HEADER_MAX);
	rc |= buf_append(&b, f->text, f->namelen);
	rc |= buf_appends(&b, ": ");
	for (size_t k = 0; k < l->n; k++) {
		const struct addr *a = &l->v[k];
		char *spec = is_local(a, fx) ? xstrdup(fx->from_rewrite) : addr_spec(a);
		char *mb = msg_mailbox(a->display, spec);

		if (k > 0)
			rc |= buf_appends(&b, ", ");
		rc |= buf_appends(&b, mb);
		free(mb);
		free(spec);
	}
	rc |= buf_appends(&b, "\n");
	if (rc == 0)
		rc = replace_text(h, i, &b);
	buf_free(&b);
	return rc;
}

static int fix_address_field(struct msg_headers *h, size_t i, const struct msg_fix *fx)
{
	struct addrlist l = { 0 };
	bool bare = false, local = false;
	size_t vlen;
	const char *v = msg_value(h, i, &vlen);
	char why[256];
	int rc = 0;

	if (addrlist_parse(v, vlen, &l, why, sizeof(why)) != 0) {
		/* Not ours to judge: the field goes out as written. */
		addrlist_free(&l);
		return 0;
	}
	for (size_t k = 0; k < l.n; k++) {
		bare |= l.v[k].domain == NULL;
		local |= is_local(&l.v[k], fx);
	}
	if (fx->from_rewrite != NULL && local && is_from_field(&h->v[i]))
		rc = rewrite_from(h, i, &l, fx);
	else if (bare && fx->default_domain != NULL)
		rc = qualify_field(h, i, &l, fx->default_domain);
	addrlist_free(&l);
	return rc;
}

/* Add at *pos (-1 = the end) and move *pos past what was added. */
static int add_at(struct msg_headers *h, const char *name, const char *value, long *pos)
{
	int rc = msg_add(h, name, value, *pos);

	if (rc == 0 && *pos >= 0)
		(*pos)++;
	return rc;
}

int msg_fixup(struct msg_headers *h, const struct msg_fix *fx, char *err, size_t errlen)
{
	static const char *const strip[] = { "Bcc", "Resent-Bcc", "Return-Path", "Content-Length" };
	bool resent;
	long first_resent = -1;
	int rc = 0;

	/* A Resent-Bcc alone makes it a resend too: look before removing. */
	resent = msg_is_resent(h);
	for (size_t i = 0; i < NR_ARRAY_LEN(strip); i++)
		msg_remove(h, strip[i]);
	for (size_t i = 0; i < h->n && rc == 0; i++)
		if (is_address_field(&h->v[i]))
			rc = fix_address_field(h, i, fx);
	for (size_t i = 0; i < h->n && resent; i++)
		if (is_resent_name(&h->v[i])) {
			first_resent = (long)i;
			break;
		}
	/* Added Resent- fields go before the existing block (RFC 5322
	 * §3.6.6 keeps each resend's fields together, newest first). */
	if (rc == 0 && fx->from != NULL && !msg_has(h, resent ? "Resent-From" : "From"))
		rc = add_at(h, resent ? "Resent-From" : "From", fx->from, &first_resent);
	if (rc == 0 && fx->msgid != NULL &&
	    !msg_has(h, resent ? "Resent-Message-ID" : "Message-ID"))
		rc = add_at(h, resent ? "Resent-Message-ID" : "Message-ID", fx->msgid, &first_resent);
	if (rc == 0 && fx->date != NULL && !msg_has(h, resent ? "Resent-Date" : "Date"))
		rc = add_at(h, resent ? "Resent-Date" : "Date", fx->date, &first_resent);
	if (rc != 0) {
		snprintf(err, errlen, "header section too large (over %d bytes)", MSG_HEADER_MAX);
		return EX_DATAERR;
	}
	return 0;
}

int msg_write_headers(const struct msg_headers *h, const struct msg_sink *out, uint64_t *bytes,
    char *err, size_t errlen)
{
	uint64_t total = 0;
	int rc;

	for (size_t i = 0; i < h->n; i++) {
		if ((rc = out->write(out->ctx, h->v[i].text, h->v[i].len, err, errlen)) != 0)
			return rc;
		total += h->v[i].len;
	}
	if ((rc = out->write(out->ctx, "\n", 1, err, errlen)) != 0)
		return rc;
	*bytes = total + 1;
	return 0;
}

static bool is_phrase_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == ' ' || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

char *msg_mailbox(const char *name, const char *addr)
{
	bool ascii = true, atoms = true;
	struct buf b;
	char *s;

	if (name == NULL || *name == '\0')
		return xstrdup(addr);
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p >= 0x80 || *p < 0x20 || *p == 0x7f)
			ascii = false;
		if (!is_phrase_atext(*p))
			atoms = false;
	}
	if (atoms && name[0] != ' ' && name[strlen(name) - 1] != ' ')
		return xasprintf("%s <%s>", name, addr);
	buf_init(&b, 4 * MSG_LINE_MAX);
	if (ascii) {
		buf_appends(&b, "\"");
		for (const char *p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_appends(&b, "\\");
			buf_append(&b, p, 1);
		}
		buf_appends(&b, "\"");
	} else {
		/* RFC 2047 "Q" encoded word; control characters become '?'. */
		static const char hex[] = "0123456789ABCDEF";

		buf_appends(&b, "=?utf-8?Q?");
		for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
			unsigned char c = (*p < 0x20 || *p == 0x7f) ? '?' : *p;
			char e[3] = { '=', hex[c >> 4], hex[c & 15] };

			if (c == ' ')
				buf_appends(&b, "_");
			else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || (c != '\0' && strchr("!*+-/", c) != NULL))
				buf_append(&b, &c, 1);
			else
				buf_append(&b, e, 3);
		}
		buf_appends(&b, "?=");
	}
	buf_appendf(&b, " <%s>", addr);
	s = xstrdup(b.data != NULL ? b.data : addr);
	buf_free(&b);
	return s;
}
