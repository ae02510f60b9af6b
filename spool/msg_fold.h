/*
 * Folding header lines (RFC 5322 §2.2.3), for the fix-ups (msg_fixup.c).
 * A line a fix-up makes longer, or a field it regenerates, is folded so no
 * physical line passes MSG_LINE_MAX (the MUST) and, where the text allows,
 * FOLD_WIDTH (the SHOULD). A fold only ever puts a line break before
 * existing white space, so unfolding gives back the same text; where two
 * addresses or a name and its <address> touch with no blank between them,
 * it inserts "\n " (white space the grammar allows there).
 */
#ifndef NULLRELAY_MSG_FOLD_H
#define NULLRELAY_MSG_FOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "msg.h"
#include "util.h"

#define FOLD_WIDTH 78	/* the SHOULD of RFC 5322 §2.1.1 */

/* Where the scan of a structured field is, carried from line to line, and
 * how this field may be folded. Zero-initialise for a structured field. */
struct fold_scan {
	bool quote, literal, escape;
	unsigned comment, angle;
	bool plain;	/* any field: every blank is a point, no syntax */
	bool exact;	/* only before existing white space: insert nothing */
};

/*
 * Append line s[0..n) (without its LF) to b, folded to width where the
 * points allow (SIZE_MAX: only scanned, for the state of the next line);
 * `from` is where the scan starts (past the colon on a field's first line).
 * Returns the longest physical line written; *rc gets -1 if b is full.
 */
size_t fold_line(struct buf *b, const char *s, size_t n, size_t from,
    struct fold_scan *st, size_t width, int *rc);

/* True if a physical line of field f is over MSG_LINE_MAX. */
bool fold_has_long_line(const struct msg_field *f);

/*
 * A header line over MSG_LINE_MAX as the caller wrote it (a long Subject:
 * from a script, a long To: list) is folded, RFC 5322 §2.2.3, only before
 * white space already there, so unfolding gives back the caller's value
 * byte for byte; address fields prefer the blanks between addresses. Only
 * a line with no white space to fold at refuses the message, naming the
 * field. 0, -1 (the header section would be too large) or EX_DATAERR.
 */
int fold_long_field(struct msg_headers *h, size_t i, char *err, size_t errlen);

#endif
