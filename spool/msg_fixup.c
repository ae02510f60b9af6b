/*
 * The SPEC §4 fix-ups of the header section (msg_fixup in msg.h): Bcc,
 * Resent-Bcc, Return-Path and Content-Length removed; lines the caller wrote
 * too long folded (msg_fold.c); bare names qualified and local senders
 * rewritten; From, Message-ID and Date added when missing (Resent- ones for
 * a resend). A fix-up changes only the bytes it must (qualifying a bare name
 * inserts "@domain" and nothing else, but for the folds that keep the line
 * it lengthens within RFC 5322's limits).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "msg.h"
#include "msg_fold.h"
#include "msg_impl.h"
#include "util.h"

static bool is_local(const struct addr *a, const struct msg_fix *fx)
{
	return a->domain == NULL || (fx->hostname != NULL && addr_domain_is(a, fx->hostname)) ||
	    addr_domain_is(a, "localhost");
}

static bool is_from_field(const struct msg_field *f)
{
	return msg_name_is(f, "From") || msg_name_is(f, "Resent-From");
}

/*
 * The end of every field we refold (qualify, rewrite): a line still over
 * MSG_LINE_MAX refuses the message naming the field, else b replaces field
 * i. rc carries earlier buffer failures through.
 */
static int put_refolded(struct msg_headers *h, size_t i, struct buf *b, size_t longest,
    const char *doing, int rc, char *err, size_t errlen)
{
	char label[64];

	if (rc != 0)
		return rc;
	if (longest > MSG_LINE_MAX) {
		msg_field_label(&h->v[i], label, sizeof(label));
		snprintf(err, errlen, "address in %s: too long to %s (a header line would "
		    "exceed %d octets)", label, doing, MSG_LINE_MAX);
		return EX_DATAERR;
	}
	return msg_replace_text(h, i, b);
}

/*
 * Insert "@domain" after each bare name, nothing else changed, except that
 * a line this makes longer than FOLD_WIDTH is folded: to FOLD_WIDTH if it
 * was within it before, else only as far as MSG_LINE_MAX needs. 0, -1 (the
 * header section would be too large), or EX_DATAERR when an address is too
 * long to qualify within MSG_LINE_MAX.
 */
static int qualify_field(struct msg_headers *h, size_t i, const struct addrlist *l,
    const char *domain, char *err, size_t errlen)
{
	const struct msg_field *f = &h->v[i];
	size_t vlen, voff, k = 0, le, longest = 0;
	const char *v = msg_value(h, i, &vlen);
	struct fold_scan st = { 0 };
	struct buf b, line;
	int rc = 0;

	voff = (size_t)(v - f->text);
	buf_init(&b, MSG_HEADER_MAX);
	buf_init(&line, MSG_HEADER_MAX);
	/* Line by line: every stored field ends in LF (msg_read_headers). */
	for (size_t ls = 0; ls < f->len && rc == 0; ls = le + 1) {
		size_t done = ls, width = SIZE_MAX, got;
		bool touched = false;

		le = (size_t)((const char *)memchr(f->text + ls, '\n', f->len - ls) - f->text);
		buf_reset(&line);
		for (; k < l->n && rc == 0; k++) {
			size_t at = voff + l->v[k].qualify_at;

			if (l->v[k].domain != NULL || at < done)
				continue;
			if (at > le)
				break;
			rc |= buf_append(&line, f->text + done, at - done);
			rc |= buf_appendf(&line, "@%s", domain);
			done = at;
			touched = true;
		}
		rc |= buf_append(&line, f->text + done, le - done);
		if (touched && line.len > FOLD_WIDTH)
			width = le - ls <= FOLD_WIDTH ? FOLD_WIDTH : MSG_LINE_MAX;
		got = fold_line(&b, line.data != NULL ? line.data : "", line.len,
		    ls == 0 ? voff : 0, &st, width, &rc);
		if (got > longest)
			longest = got;
		rc |= buf_appends(&b, "\n");
	}
	rc = put_refolded(h, i, &b, longest, "qualify", rc, err, errlen);
	buf_free(&line);
	buf_free(&b);
	return rc;
}

/* From_rewrite: rebuild the field with local addresses replaced; display
 * names are kept, comments and groups are not (the field is regenerated),
 * folded between addresses. 0, -1 (too large) or EX_DATAERR. */
static int rewrite_from(struct msg_headers *h, size_t i, const struct addrlist *l,
    const struct msg_fix *fx, char *err, size_t errlen)
{
	const struct msg_field *f = &h->v[i];
	struct fold_scan st = { 0 };
	struct buf b, line;
	size_t longest = 0;
	int rc = 0;

	buf_init(&line, MSG_HEADER_MAX);
	buf_init(&b, MSG_HEADER_MAX);
	rc |= buf_append(&line, f->text, f->namelen);
	rc |= buf_appends(&line, ": ");
	for (size_t k = 0; k < l->n; k++) {
		const struct addr *a = &l->v[k];
		char *spec = is_local(a, fx) ? xstrdup(fx->from_rewrite) : addr_spec(a);
		char *mb = msg_mailbox(a->display, spec);

		if (k > 0)
			rc |= buf_appends(&line, ", ");
		rc |= buf_appends(&line, mb);
		free(mb);
		free(spec);
	}
	if (rc == 0) {
		longest = fold_line(&b, line.data, line.len, f->namelen + 1, &st, FOLD_WIDTH, &rc);
		rc |= buf_appends(&b, "\n");
	}
	rc = put_refolded(h, i, &b, longest, "rewrite", rc, err, errlen);
	buf_free(&line);
	buf_free(&b);
	return rc;
}

static int fix_address_field(struct msg_headers *h, size_t i, const struct msg_fix *fx,
    char *err, size_t errlen)
{
	struct addrlist l = { 0 };
	bool bare = false, local = false;
	size_t vlen;
	const char *v = msg_value(h, i, &vlen);
	char why[256];
	int rc = 0;

	if (addr_list_parse(v, vlen, &l, why, sizeof(why)) != 0) {
		/* Not ours to judge: the field goes out as written. */
		addr_list_free(&l);
		return 0;
	}
	for (size_t k = 0; k < l.n; k++) {
		bare |= l.v[k].domain == NULL;
		local |= is_local(&l.v[k], fx);
	}
	if (fx->from_rewrite != NULL && local && is_from_field(&h->v[i]))
		rc = rewrite_from(h, i, &l, fx, err, errlen);
	else if (bare && fx->default_domain != NULL)
		rc = qualify_field(h, i, &l, fx->default_domain, err, errlen);
	addr_list_free(&l);
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

/*
 * Add the From: we generate folded like the fields we rewrite: a long -F or
 * passwd name must not make a line over MSG_LINE_MAX. 0, -1 when the
 * header section is full, or EX_DATAERR with err.
 */
static int add_from_folded(struct msg_headers *h, const char *name, const char *value,
    long *pos, char *err, size_t errlen)
{
	struct fold_scan st = { 0 };
	struct buf line, b;
	size_t longest = 0;
	int rc = 0;

	buf_init(&line, MSG_HEADER_MAX);
	buf_init(&b, MSG_HEADER_MAX);
	rc |= buf_appendf(&line, "%s: %s", name, value);
	if (rc == 0) {
		longest = fold_line(&b, line.data, line.len, strlen(name) + 1, &st, FOLD_WIDTH, &rc);
		rc |= buf_appends(&b, "\n");
	}
	if (rc == 0 && longest > MSG_LINE_MAX) {
		snprintf(err, errlen, "the %s: sendmail would add is too long (a header line would "
		    "exceed %d octets): shorten the -F name", name, MSG_LINE_MAX);
		rc = EX_DATAERR;
	} else if (rc == 0) {
		rc = msg_insert_field(h, xstrdup(b.data), strlen(name), *pos);
		if (rc == 0 && *pos >= 0)
			(*pos)++;
	}
	buf_free(&line);
	buf_free(&b);
	return rc == EX_DATAERR ? rc : rc != 0 ? -1 : 0;
}

/*
 * Add the From (fromname), Message-ID (idname) and Date (datename) fields
 * fx gives values for, each unless a field of that name is present, at
 * *pos. 0, -1 when the header section is full, or EX_DATAERR with err.
 */
static int add_missing(struct msg_headers *h, const struct msg_fix *fx, const char *fromname,
    const char *idname, const char *datename, long *pos, char *err, size_t errlen)
{
	int rc = 0;

	if (fx->from != NULL && !msg_has(h, fromname))
		rc = add_from_folded(h, fromname, fx->from, pos, err, errlen);
	if (rc == 0 && fx->msgid != NULL && !msg_has(h, idname))
		rc = add_at(h, idname, fx->msgid, pos);
	if (rc == 0 && fx->date != NULL && !msg_has(h, datename))
		rc = add_at(h, datename, fx->date, pos);
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
	/* Fold what the caller wrote too long first: the fix-ups below then
	 * see lines within the limit, as they do for every other field. */
	for (size_t i = 0; i < h->n && rc == 0; i++)
		if (fold_has_long_line(&h->v[i]))
			rc = fold_long_field(h, i, err, errlen);
	for (size_t i = 0; i < h->n && rc == 0; i++)
		if (msg_is_address_field(&h->v[i]))
			rc = fix_address_field(h, i, fx, err, errlen);
	if (rc == EX_DATAERR)
		return rc;	/* err says which field and why */
	if (rc != 0)
		goto too_large;
	for (size_t i = 0; i < h->n && resent; i++)
		if (msg_is_resent_name(&h->v[i])) {
			first_resent = (long)i;
			break;
		}
	/* Added Resent- fields go before the existing block (RFC 5322
	 * §3.6.6 keeps each resend's fields together, newest first). */
	if (resent) {
		rc = add_missing(h, fx, "Resent-From", "Resent-Message-ID", "Resent-Date",
		    &first_resent, err, errlen);
		if (rc == EX_DATAERR)
			return rc;
	}
	/* A resend still needs the plain ones (RFC 5322 §3.6: From and Date
	 * are required in every message): added at the end when missing. */
	if (rc == 0) {
		long end = -1;

		rc = add_missing(h, fx, "From", "Message-ID", "Date", &end, err, errlen);
		if (rc == EX_DATAERR)
			return rc;
	}
	if (rc == 0)
		return 0;
too_large:
	snprintf(err, errlen, "header section too large (over %d bytes)", MSG_HEADER_MAX);
	return EX_DATAERR;
}
