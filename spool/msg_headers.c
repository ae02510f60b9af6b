/*
 * The header section (msg.h): lookups, removal, additions, -t recipient
 * extraction and writing it out, plus the field helpers the other msg_
 * files share (msg_impl.h). Fields are kept as the caller wrote them. The
 * fix-ups are in msg_fixup.c, folding in msg_fold.c, the encoding of a
 * display name in msg_encode.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "msg.h"
#include "msg_impl.h"
#include "util.h"

void msg_headers_init(struct msg_headers *h)
{
	memset(h, 0, sizeof(*h));
}

void msg_headers_free(struct msg_headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].text);
	free(h->v);
	memset(h, 0, sizeof(*h));
}

bool msg_name_is(const struct msg_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->namelen == n && strncasecmp(f->text, name, n) == 0;
}

long msg_find(const struct msg_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (msg_name_is(&h->v[i], name))
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
		if (msg_name_is(&h->v[i], name)) {
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
int msg_insert_field(struct msg_headers *h, char *text, size_t namelen, long before)
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
	return msg_insert_field(h, xasprintf("%s: %s\n", name, value), strlen(name), before);
}

bool msg_is_resent_name(const struct msg_field *f)
{
	return f->namelen >= 7 && strncasecmp(f->text, "Resent-", 7) == 0;
}

bool msg_is_resent(const struct msg_headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (msg_is_resent_name(&h->v[i]))
			return true;
	return false;
}

/* Copy a field name for messages: printable, short. */
void msg_field_label(const struct msg_field *f, char *out, size_t outlen)
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

		if (!msg_name_is(f, names[0]) && !msg_name_is(f, names[1]) && !msg_name_is(f, names[2]))
			continue;
		v = msg_value(h, i, &vlen);
		if (addr_list_parse(v, vlen, out, why, sizeof(why)) != 0) {
			msg_field_label(f, label, sizeof(label));
			snprintf(err, errlen, "cannot parse the %s: header: %s", label, why);
			return EX_DATAERR;
		}
	}
	return 0;
}

/* The address fields: msg_fixup qualifies their bare names, msg_fold folds
 * them between addresses. */
bool msg_is_address_field(const struct msg_field *f)
{
	static const char *const names[] = {
		"From", "Sender", "Reply-To", "To", "Cc",
		"Resent-From", "Resent-Sender", "Resent-Reply-To", "Resent-To", "Resent-Cc",
	};

	for (size_t i = 0; i < NR_ARRAY_LEN(names); i++)
		if (msg_name_is(f, names[i]))
			return true;
	return false;
}

/* Replace field i's text, keeping the byte count right. */
int msg_replace_text(struct msg_headers *h, size_t i, struct buf *b)
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
