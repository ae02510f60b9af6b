/*
 * The header section (msg.h): lookups, removal, additions, -t
 * recipient extraction and the SPEC §4 fix-ups. Fields are kept as the
 * caller wrote them; a fix-up changes only the bytes it must (qualifying a
 * bare name inserts "@domain" and nothing else, but for the folds that keep
 * the line it lengthens within RFC 5322's limits).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "msg.h"
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
		if (addr_list_parse(v, vlen, out, why, sizeof(why)) != 0) {
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

/*
 * ---- folding (RFC 5322 §2.2.3) ----
 * A line a fix-up makes longer, or a field it regenerates, is folded so no
 * physical line passes MSG_LINE_MAX (the MUST) and, where the text allows,
 * FOLD_WIDTH (the SHOULD). A fold only ever puts a line break before
 * existing white space, so unfolding gives back the same text; where two
 * addresses or a name and its <address> touch with no blank between them,
 * it inserts "\n " (white space the grammar allows there).
 */
#define FOLD_WIDTH 78
#define RFC2047_WORD_MAX 75	/* RFC 2047 §2: octets in one encoded word */
#define RFC2047_Q_FRAME 12	/* of which "=?utf-8?Q?" and "?=" */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A place where a physical line may be folded. */
struct fold_at {
	size_t pos;	/* offset in the line */
	bool insert;	/* insert "\n " at pos; else "\n" before the blank at pos */
	int rank;	/* FOLD_BETWEEN, FOLD_INSIDE or FOLD_LAST */
	bool chosen;
};

/* Folding points by preference: between two addresses; inside one (a
 * name and its <address>, the words of a name); right after the colon,
 * which leaves the field name alone on its line, only to stay within
 * MSG_LINE_MAX. */
enum { FOLD_BETWEEN, FOLD_INSIDE, FOLD_LAST };

/* Where the scan of a structured field is, carried from line to line, and
 * how this field may be folded. */
struct fold_scan {
	bool quote, literal, escape;
	unsigned comment, angle;
	bool plain;	/* any field: every blank is a point, no syntax */
	bool exact;	/* only before existing white space: insert nothing */
};

static void add_point(struct fold_at *v, size_t *nv, size_t pos, bool insert, int rank,
    const struct fold_scan *st)
{
	if (insert && st->exact)
		return;
	/* Positions only grow; a comma and a '<' may name the same one. */
	if (*nv > 0 && v[*nv - 1].pos == pos) {
		if (rank < v[*nv - 1].rank)
			v[*nv - 1].rank = rank;
		return;
	}
	v[*nv].pos = pos;
	v[*nv].insert = insert;
	v[*nv].rank = rank;
	v[*nv].chosen = false;
	(*nv)++;
}

/*
 * The folding points of line s[0..n), scanned from `from` (past the colon
 * on a field's first line): the first blank of a run outside comments,
 * domain literals and angle brackets (in a quoted string too: unfolding
 * restores it), after a comma between addresses with no blank after it,
 * before a '<' with no blank before it; never where a side of the fold
 * would hold only white space. Returns the count, *out allocated.
 */
static size_t fold_points(const char *s, size_t n, size_t from, struct fold_scan *st,
    struct fold_at **out)
{
	struct fold_at *v = xreallocarray(NULL, n + 1, sizeof(*v));
	size_t nv = 0, first = 0, last = n;
	bool comma = false;	/* the last text at the top level was a comma */

	while (first < n && is_wsp(s[first]))
		first++;
	while (last > first && is_wsp(s[last - 1]))
		last--;
	for (size_t i = from; i < n; i++) {
		char c = s[i];
		bool blank = is_wsp(c) && i > first && i < last && !is_wsp(s[i - 1]);
		int rank = i == from && from > 0 ? FOLD_LAST : FOLD_INSIDE;

		if (st->plain) {
			if (blank)
				add_point(v, &nv, i, false, rank, st);
		} else if (st->escape) {
			st->escape = false;
		} else if (st->quote) {
			if (c == '\\')
				st->escape = true;
			else if (c == '"')
				st->quote = false;
			else if (blank && st->angle == 0)
				add_point(v, &nv, i, false, rank, st);
		} else if (st->comment > 0) {
			if (c == '\\')
				st->escape = true;
			else if (c == '(')
				st->comment++;
			else if (c == ')')
				st->comment--;
		} else if (st->literal) {
			if (c == '\\')
				st->escape = true;
			else if (c == ']')
				st->literal = false;
		} else if (is_wsp(c)) {
			if (blank && st->angle == 0)
				add_point(v, &nv, i, false, comma ? FOLD_BETWEEN : rank, st);
		} else {
			comma = false;
			if (c == '"')
				st->quote = true;
			else if (c == '(')
				st->comment = 1;
			else if (c == '[')
				st->literal = true;
			else if (c == '<') {
				if (st->angle++ == 0 && i > first && !is_wsp(s[i - 1]))
					add_point(v, &nv, i, true, rank, st);
			} else if (c == '>' && st->angle > 0)
				st->angle--;
			else if (c == ',' && st->angle == 0) {
				comma = true;
				if (i + 1 < n && !is_wsp(s[i + 1]))
					add_point(v, &nv, i + 1, true, FOLD_BETWEEN, st);
			}
		}
	}
	*out = v;
	return nv;
}

/* Greedy: among v[lo..hi) of rank at most `rank`, choose folds so the
 * piece from start (ins: it begins with an inserted blank) to end is cut
 * into lines of at most width octets where the points allow. */
static void fold_choose(struct fold_at *v, size_t lo, size_t hi, size_t start, bool ins,
    size_t end, int rank, size_t width)
{
	size_t prev = SIZE_MAX;

	for (size_t k = lo; k <= hi; k++) {
		size_t at = k < hi ? v[k].pos : end;

		if (k < hi && v[k].rank > rank)
			continue;
		if (prev != SIZE_MAX && at - start + ins > width) {
			v[prev].chosen = true;
			start = v[prev].pos;
			ins = v[prev].insert;
		}
		prev = k;
	}
}

/* Cut each piece of the line (between the folds chosen so far) that is
 * wider than width at the points of rank at most `rank` inside it. */
static void fold_refine(struct fold_at *v, size_t nv, size_t n, size_t width, int rank)
{
	size_t start = 0, lo = 0;
	bool ins = false;

	for (size_t k = 0; k <= nv; k++) {
		size_t end;

		if (k < nv && !v[k].chosen)
			continue;
		end = k < nv ? v[k].pos : n;
		if (end - start + ins > width)
			fold_choose(v, lo, k, start, ins, end, rank, width);
		if (k < nv) {
			start = v[k].pos;
			ins = v[k].insert;
			lo = k + 1;
		}
	}
}

static void fold_plan(struct fold_at *v, size_t nv, size_t n, size_t width)
{
	fold_refine(v, nv, n, width, FOLD_BETWEEN);
	fold_refine(v, nv, n, width, FOLD_INSIDE);
	fold_refine(v, nv, n, MSG_LINE_MAX, FOLD_LAST);
}

/*
 * Append line s[0..n) (without its LF) to b, folded to width where the
 * points allow (SIZE_MAX: only scanned, for the state of the next line).
 * Returns the longest physical line written; *rc gets -1 if b is full.
 */
static size_t fold_line(struct buf *b, const char *s, size_t n, size_t from,
    struct fold_scan *st, size_t width, int *rc)
{
	struct fold_at *v;
	size_t nv = fold_points(s, n, from, st, &v), done = 0, longest = 0;
	bool ins = false;

	if (n > width)
		fold_plan(v, nv, n, width);
	for (size_t k = 0; k < nv; k++) {
		if (!v[k].chosen)
			continue;
		*rc |= buf_append(b, s + done, v[k].pos - done);
		*rc |= buf_appends(b, v[k].insert ? "\n " : "\n");
		if (v[k].pos - done + ins > longest)
			longest = v[k].pos - done + ins;
		done = v[k].pos;
		ins = v[k].insert;
	}
	*rc |= buf_append(b, s + done, n - done);
	if (n - done + ins > longest)
		longest = n - done + ins;
	free(v);
	return longest;
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
		field_label(&h->v[i], label, sizeof(label));
		snprintf(err, errlen, "address in %s: too long to %s (a header line would "
		    "exceed %d octets)", label, doing, MSG_LINE_MAX);
		return EX_DATAERR;
	}
	return replace_text(h, i, b);
}

/*
 * Field i folded so no line passes MSG_LINE_MAX, with the points st allows,
 * only where a line needs it. Into b; returns the longest line and, in
 * *orig_longest, the longest line as written.
 */
static size_t fold_long_into(const struct msg_field *f, struct fold_scan *st, struct buf *b,
    size_t *orig_longest, int *rc)
{
	size_t le, longest = 0;

	*orig_longest = 0;
	for (size_t ls = 0; ls < f->len && *rc == 0; ls = le + 1) {
		size_t got;

		le = (size_t)((const char *)memchr(f->text + ls, '\n', f->len - ls) - f->text);
		if (le - ls > *orig_longest)
			*orig_longest = le - ls;
		got = fold_line(b, f->text + ls, le - ls, ls == 0 ? f->namelen + 1 : 0, st,
		    le - ls > MSG_LINE_MAX ? MSG_LINE_MAX : SIZE_MAX, rc);
		if (got > longest)
			longest = got;
		*rc |= buf_appends(b, "\n");
	}
	return longest;
}

/*
 * A header line over MSG_LINE_MAX as the caller wrote it (a long Subject:
 * from a script, a long To: list) is folded, RFC 5322 §2.2.3, only before
 * white space already there, so unfolding gives back the caller's value
 * byte for byte; address fields prefer the blanks between addresses. Only
 * a line with no white space to fold at refuses the message, naming the
 * field. 0, -1 (the header section would be too large) or EX_DATAERR.
 */
static int fold_long_field(struct msg_headers *h, size_t i, char *err, size_t errlen)
{
	const struct msg_field *f = &h->v[i];
	size_t longest, orig;
	char label[64];
	struct buf b;
	int rc = 0;

	buf_init(&b, MSG_HEADER_MAX);
	{
		struct fold_scan st = { .exact = true, .plain = !is_address_field(f) };

		longest = fold_long_into(f, &st, &b, &orig, &rc);
	}
	if (rc == 0 && longest > MSG_LINE_MAX && is_address_field(f)) {
		/* Blanks in comments count too, when that is all there is. */
		struct fold_scan st = { .exact = true, .plain = true };

		buf_reset(&b);
		longest = fold_long_into(f, &st, &b, &orig, &rc);
	}
	if (rc == 0 && longest > MSG_LINE_MAX) {
		field_label(f, label, sizeof(label));
		snprintf(err, errlen, "header %s: has a line of %zu octets without white space "
		    "to fold it at (at most %d octets a line); shorten it", label, orig,
		    MSG_LINE_MAX);
		rc = EX_DATAERR;
	} else if (rc == 0)
		rc = replace_text(h, i, &b);
	buf_free(&b);
	return rc;
}

/* True if a physical line of field f is over MSG_LINE_MAX. */
static bool has_long_line(const struct msg_field *f)
{
	size_t ls = 0;

	while (ls < f->len) {
		const char *nl = memchr(f->text + ls, '\n', f->len - ls);
		size_t le = nl != NULL ? (size_t)(nl - f->text) : f->len;

		if (le - ls > MSG_LINE_MAX)
			return true;
		ls = le + 1;
	}
	return false;
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
		rc = insert_field(h, xstrdup(b.data), strlen(name), *pos);
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
		if (has_long_line(&h->v[i]))
			rc = fold_long_field(h, i, err, errlen);
	for (size_t i = 0; i < h->n && rc == 0; i++)
		if (is_address_field(&h->v[i]))
			rc = fix_address_field(h, i, fx, err, errlen);
	if (rc == EX_DATAERR)
		return rc;	/* err says which field and why */
	if (rc != 0)
		goto too_large;
	for (size_t i = 0; i < h->n && resent; i++)
		if (is_resent_name(&h->v[i])) {
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
	/* At most 3 octets per name byte, plus a word break every 50 or so
	 * and the address: the cap is never reached. */
	buf_init(&b, 5 * strlen(name) + strlen(addr) + 64);
	if (ascii) {
		buf_appends(&b, "\"");
		for (const char *p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_appends(&b, "\\");
			buf_append(&b, p, 1);
		}
		buf_appends(&b, "\"");
	} else {
		/* RFC 2047 "Q" encoded words of at most 75 characters, split
		 * between characters (§2, §5) so a long name can be folded;
		 * control characters become '?'. */
		static const char hex[] = "0123456789ABCDEF";
		const unsigned char *p = (const unsigned char *)name;
		size_t word = 0;

		buf_appends(&b, "=?utf-8?Q?");
		while (*p != '\0') {
			char enc[4 * 3];
			size_t elen = 0, clen = 1;

			/* One character: a byte and its continuation bytes. */
			while (clen < 4 && (p[clen] & 0xc0) == 0x80)
				clen++;
			for (size_t j = 0; j < clen; j++) {
				unsigned char c = (p[j] < 0x20 || p[j] == 0x7f) ? '?' : p[j];

				if (c == ' ')
					enc[elen++] = '_';
				else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') || strchr("!*+-/", c) != NULL)
					enc[elen++] = (char)c;
				else {
					enc[elen++] = '=';
					enc[elen++] = hex[c >> 4];
					enc[elen++] = hex[c & 15];
				}
			}
			if (word > 0 && word + elen > RFC2047_WORD_MAX - RFC2047_Q_FRAME) {
				buf_appends(&b, "?= =?utf-8?Q?");
				word = 0;
			}
			buf_append(&b, enc, elen);
			word += elen;
			p += clen;
		}
		buf_appends(&b, "?=");
	}
	buf_appendf(&b, " <%s>", addr);
	s = xstrdup(b.data != NULL ? b.data : addr);
	buf_free(&b);
	return s;
}
