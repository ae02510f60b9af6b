/*
 * The message at submission (SPEC §4): reading it line by line with any mix
 * of LF and CRLF, the lone-dot rule, the header section (held in memory,
 * capped) and its fix-ups, the body streamed to a sink with the facts that
 * decide whether it must be re-encoded as quoted-printable, and the
 * re-encoding pass itself. Nothing here knows about the spool: the caller
 * passes a sink (sm_submit.c uses the drop file; the unit tests use memory).
 */
#ifndef NULLRELAY_MESSAGE_H
#define NULLRELAY_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"

#define MSG_LINE_MAX 998		/* RFC 5322 §2.1.1, without the line ending */
#define MSG_HEADER_MAX (1024 * 1024)	/* cap on the header section in memory */

/* Where message bytes go. write returns 0 or a sysexits code with err. */
struct msg_sink {
	int (*write)(void *ctx, const void *p, size_t n, char *err, size_t errlen);
	void *ctx;
};

/* ---- Input ---- */

/* A buffered reader of the submitted message (opaque, ~130 KiB). */
struct msg_in;

/* ignore_dots: -i/-oi, a line holding only "." is an ordinary line. */
struct msg_in *msg_in_new(int fd, bool ignore_dots);
void msg_in_free(struct msg_in *in);
/* True once the end of the message was seen (end of input or a lone "."). */
bool msg_in_done(const struct msg_in *in);

/* ---- Header section ---- */

struct msg_field {
	char *text;	/* "Name: value\n" with any continuation lines, LF endings */
	size_t len;
	size_t namelen;	/* the name is text[0..namelen) */
};

struct msg_headers {
	struct msg_field *v;
	size_t n, cap;
	size_t bytes;		/* sum of the lengths, capped at MSG_HEADER_MAX */
	bool from_line_dropped;	/* a leading mbox "From " line was dropped */
};

void msg_headers_init(struct msg_headers *h);
void msg_headers_free(struct msg_headers *h);

/*
 * Read the header section: drops a leading mbox "From " line, stops after
 * the blank line, at the end of the message, or at the first line that is
 * neither a header field nor a continuation (that line is kept as the start
 * of the body). A line may be longer than MSG_LINE_MAX here: msg_fixup
 * folds it. 0; EX_DATAERR (a header line holding a NUL or a bare CR, or a
 * header section over MSG_HEADER_MAX); EX_NOINPUT on a read error. err says
 * which line and why.
 */
int msg_read_headers(struct msg_in *in, struct msg_headers *h, char *err, size_t errlen);

/* Case-insensitive field lookup: index of the first field, or -1. */
long msg_find(const struct msg_headers *h, const char *name);
bool msg_has(const struct msg_headers *h, const char *name);
/* The value of field i: after the colon up to (not including) the final LF. */
const char *msg_value(const struct msg_headers *h, size_t i, size_t *len);
/* Remove every field with that name; returns how many. */
size_t msg_remove(struct msg_headers *h, const char *name);
/* Append "Name: value\n", or insert it before field `before` (-1 = append).
 * 0, or -1 when the header section would exceed MSG_HEADER_MAX. */
int msg_add(struct msg_headers *h, const char *name, const char *value, long before);
/* True if any field's name starts with "Resent-". */
bool msg_is_resent(const struct msg_headers *h);

/*
 * -t: append the addresses of every To/Cc/Bcc, or only Resent-To/-Cc/-Bcc
 * when one of those is present, to out (as written: unqualified names stay
 * unqualified). 0, or EX_DATAERR with err naming the field.
 */
int msg_rcpts(const struct msg_headers *h, struct addrlist *out, char *err, size_t errlen);

struct msg_fix {
	const char *default_domain;	/* appended to bare names in address fields */
	const char *hostname;		/* with "localhost": the local domains */
	const char *date;		/* value for a missing Date:/Resent-Date: */
	const char *msgid;		/* value for a missing Message-ID: */
	const char *from;		/* value for a missing From: ("Name <a@x>") */
	const char *from_rewrite;	/* NULL, or the address that replaces
					 * local addresses in From:/Resent-From: */
};

/*
 * The header fix-ups of SPEC §4: remove Bcc, Resent-Bcc, Return-Path and
 * Content-Length; fold each line over MSG_LINE_MAX as written before white
 * space already in it (only as far as the limit needs; unfolding gives back
 * the caller's text byte for byte), or refuse the field if it has none
 * where a fold is needed; qualify bare names in From/Sender/Reply-To/To/Cc (and
 * their Resent- forms) by inserting "@domain" in place, everything else
 * byte-identical (a field that does not parse is left as it is) except
 * that a line this makes longer than 78 octets is folded (to 78 if it was
 * within 78, else only as MSG_LINE_MAX needs) before existing white space
 * or after a comma between addresses; apply from_rewrite (the rebuilt
 * field folded between addresses); add From, Message-ID and Date at the
 * end unless already present, and, when the message has Resent- fields,
 * also Resent-From, Resent-Message-ID and Resent-Date unless present,
 * placed before the first Resent- field. 0, or EX_DATAERR with err saying
 * why: the header section would become too large, a line has no white
 * space to fold at, or an address is too long to qualify or rewrite
 * without a header line over MSG_LINE_MAX.
 */
int msg_fixup(struct msg_headers *h, const struct msg_fix *f, char *err, size_t errlen);

/* Write the fields and the blank line that ends them. 0 or the sink's code. */
int msg_write_headers(const struct msg_headers *h, const struct msg_sink *out, uint64_t *bytes,
    char *err, size_t errlen);

/* "Name <addr>" with the name as an atom phrase, a quoted string or an
 * RFC 2047 encoded word as needed; just "addr" when name is NULL or empty. */
char *msg_mailbox(const char *name, const char *addr);

/* ---- Body ---- */

enum msg_problem { MSG_OK, MSG_LONG_LINE, MSG_NUL, MSG_BARE_CR };

struct msg_body_info {
	uint64_t bytes;		/* body bytes written (LF line endings) */
	uint64_t lines;
	bool eightbit;		/* some byte >= 0x80 */
	bool utf8_bad;		/* ... and not all of it valid UTF-8 */
	bool long_line, nul, bare_cr;
	enum msg_problem first;	/* the first problem seen and its input line */
	uint64_t first_line;
	/* private state */
	uint64_t cur_len;
	unsigned utf8_need;
};

/*
 * Copy the body to out, line endings normalised to LF, a final LF added if
 * missing, until the end of input or a lone "." line (not copied). `base`
 * bytes are already stored (the headers); if base + body exceeds limit
 * (0 = none) stop with EX_NOPERM. 0; EX_NOINPUT on a read error; or the
 * sink's code.
 */
int msg_copy_body(struct msg_in *in, const struct msg_sink *out, uint64_t base, uint64_t limit,
    struct msg_body_info *bi, char *err, size_t errlen);

/*
 * Does the body need re-encoding (a line over 998 octets, a NUL, a bare CR)?
 * 0 no; 1 yes, and the top-level part is text that may be re-encoded as
 * quoted-printable; EX_DATAERR when its structure (multipart, message/rfc822,
 * already base64/quoted-printable) forbids it, with err saying why.
 */
int msg_reencode_needed(const struct msg_headers *h, const struct msg_body_info *bi, char *err,
    size_t errlen);

/* The MIME fields a quoted-printable body needs: MIME-Version: 1.0 and
 * Content-Transfer-Encoding replaced, Content-Type kept or added as
 * text/plain with charset us-ascii, utf-8 or unknown-8bit. 0 or -1 (too big). */
int msg_set_qp_headers(struct msg_headers *h, const struct msg_body_info *bi);

/*
 * Second pass: read len body bytes at off in fd (as written by
 * msg_copy_body) and write them quoted-printable to out. base and limit as
 * for msg_copy_body; *written gets the encoded size. 0, EX_IOERR, EX_NOPERM
 * or the sink's code.
 */
int msg_qp_body(int fd, off_t off, uint64_t len, const struct msg_sink *out, uint64_t base,
    uint64_t limit, uint64_t *written, char *err, size_t errlen);

#endif
