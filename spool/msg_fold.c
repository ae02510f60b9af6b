/*
 * Folding header lines: see msg_fold.h. A fold only ever puts a line break
 * before existing white space (or, with nothing there, inserts "\n " where
 * the grammar allows white space), so unfolding gives back the same text.
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
size_t fold_line(struct buf *b, const char *s, size_t n, size_t from,
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
int fold_long_field(struct msg_headers *h, size_t i, char *err, size_t errlen)
{
	const struct msg_field *f = &h->v[i];
	size_t longest, orig;
	char label[64];
	struct buf b;
	int rc = 0;

	buf_init(&b, MSG_HEADER_MAX);
	{
		struct fold_scan st = { .exact = true, .plain = !msg_is_address_field(f) };

		longest = fold_long_into(f, &st, &b, &orig, &rc);
	}
	if (rc == 0 && longest > MSG_LINE_MAX && msg_is_address_field(f)) {
		/* Blanks in comments count too, when that is all there is. */
		struct fold_scan st = { .exact = true, .plain = true };

		buf_reset(&b);
		longest = fold_long_into(f, &st, &b, &orig, &rc);
	}
	if (rc == 0 && longest > MSG_LINE_MAX) {
		msg_field_label(f, label, sizeof(label));
		snprintf(err, errlen, "header %s: has a line of %zu octets without white space "
		    "to fold it at (at most %d octets a line); shorten it", label, orig,
		    MSG_LINE_MAX);
		rc = EX_DATAERR;
	} else if (rc == 0)
		rc = msg_replace_text(h, i, &b);
	buf_free(&b);
	return rc;
}

/* True if a physical line of field f is over MSG_LINE_MAX. */
bool fold_has_long_line(const struct msg_field *f)
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
