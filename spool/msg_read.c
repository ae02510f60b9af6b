/*
 * Reading the submitted message (msg.h): the line reader that turns LF
 * and CRLF into LF, keeps a bare CR as data, adds a missing final newline and
 * applies the lone-dot rule; the header section; the body, streamed.
 *
 * Memory stays flat whatever the input: a line is read in pieces of at most
 * PIECE_MAX bytes, the header section is capped, and body pieces go straight
 * to the sink.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "msg.h"
#include "util.h"

#define INBUF_SIZE 65536
#define PIECE_MAX 65536

struct msg_in {
	int fd;
	bool ignore_dots;
	bool eof;	/* read() said end of file */
	bool done;	/* end of message reached */
	bool bol;	/* the next piece starts a line */
	uint64_t lineno;	/* lines completed so far */
	size_t pos, len;
	/* A body piece the header reader read but did not use. */
	bool held, held_eol;
	size_t held_len;
	unsigned char buf[INBUF_SIZE];
	char piece[PIECE_MAX + 1];	/* + room for the LF */
};

struct msg_in *msg_in_new(int fd, bool ignore_dots)
{
	struct msg_in *in = xcalloc(1, sizeof(*in));

	in->fd = fd;
	in->ignore_dots = ignore_dots;
	in->bol = true;
	return in;
}

void msg_in_free(struct msg_in *in)
{
	free(in);
}

bool msg_in_done(const struct msg_in *in)
{
	return in->done;
}

/* 1 if a byte is buffered, 0 at end of file, -1 on a read error. */
static int fill(struct msg_in *in)
{
	ssize_t r;

	if (in->pos < in->len)
		return 1;
	if (in->eof)
		return 0;
	do
		r = read(in->fd, in->buf, sizeof(in->buf));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0) {
		in->eof = true;
		return 0;
	}
	in->pos = 0;
	in->len = (size_t)r;
	return 1;
}

/*
 * The next piece of the current line, at most max bytes, into out (without
 * the line ending). *eol: the line ends here (LF, CRLF, or the end of input,
 * where the missing newline is thereby added; a CR right before the end of
 * input counts as a line ending too). Returns 1, 0 at the end of input at
 * the start of a line, -1 on a read error (errno set).
 */
static int piece(struct msg_in *in, char *out, size_t max, size_t *outlen, bool *eol)
{
	size_t n = 0;
	int f;

	*eol = false;
	while (n < max) {
		const unsigned char *p;
		size_t i, lim;

		if ((f = fill(in)) < 0)
			return -1;
		if (f == 0) {
			if (n == 0 && in->bol)
				return 0;
			*eol = true;
			break;
		}
		p = in->buf + in->pos;
		lim = in->len - in->pos;
		if (lim > max - n)
			lim = max - n;
		for (i = 0; i < lim && p[i] != '\n' && p[i] != '\r'; i++)
			;
		memcpy(out + n, p, i);
		n += i;
		in->pos += i;
		if (i == lim)
			continue;
		in->pos++;
		if (p[i] == '\n') {
			*eol = true;
			break;
		}
		/* A CR: part of CRLF, or data. */
		if ((f = fill(in)) < 0)
			return -1;
		if (f == 0 || in->buf[in->pos] == '\n') {
			if (f != 0)
				in->pos++;
			*eol = true;
			break;
		}
		out[n++] = '\r';
	}
	in->bol = *eol;
	if (*eol)
		in->lineno++;
	*outlen = n;
	return 1;
}

static bool lone_dot(const struct msg_in *in, bool at_bol, const char *p, size_t n, bool eol)
{
	return !in->ignore_dots && at_bol && eol && n == 1 && p[0] == '.';
}

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

/* Length of the field name if line starts a header field ("Name:" with
 * optional white space before the colon, RFC 5322 obs-optional), else 0. */
static size_t field_name_len(const char *s, size_t n)
{
	size_t i, name;

	for (i = 0; i < n && s[i] > 32 && s[i] < 127 && s[i] != ':'; i++)
		;
	name = i;
	if (name == 0)
		return 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && s[i] == ':' ? name : 0;
}

/*
 * Append a piece of a header line: a new field (namelen > 0 and not cont), a
 * continuation line (cont), or more of the line before (more); eol ends the
 * line with its LF. A line may be any length here: one over MSG_LINE_MAX is
 * folded, or refused, by msg_fixup (fold_long_field). -1 past MSG_HEADER_MAX.
 */
static int header_line(struct msg_headers *h, const char *p, size_t n, size_t namelen, bool cont,
    bool more, bool eol)
{
	struct msg_field *f;

	if (h->bytes + n + 1 > MSG_HEADER_MAX)
		return -1;
	h->bytes += n + (eol ? 1 : 0);
	if (cont || more) {
		f = &h->v[h->n - 1];
		f->text = xreallocarray(f->text, f->len + n + 2, 1);
	} else {
		if (h->n == h->cap) {
			h->cap = h->cap ? h->cap * 2 : 32;
			h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
		}
		f = &h->v[h->n++];
		f->text = xmalloc(n + 2);
		f->len = 0;
		f->namelen = namelen;
	}
	memcpy(f->text + f->len, p, n);
	f->len += n;
	if (eol)
		f->text[f->len++] = '\n';
	f->text[f->len] = '\0';
	return 0;
}

/* Skip the rest of a line whose first piece was already read. */
static int skip_line(struct msg_in *in, bool eol)
{
	size_t n;

	while (!eol) {
		int r = piece(in, in->piece, PIECE_MAX, &n, &eol);
		if (r <= 0)
			return r;
	}
	return 1;
}

/* Check and store one piece of header line `no`. 0 or EX_DATAERR with err. */
static int header_piece(struct msg_headers *h, const char *p, size_t n, size_t namelen,
    bool cont, bool more, bool eol, uint64_t no, char *err, size_t errlen)
{
	if (memchr(p, '\0', n) != NULL) {
		snprintf(err, errlen, "header line %llu holds a NUL byte", (unsigned long long)no);
		return EX_DATAERR;
	}
	if (memchr(p, '\r', n) != NULL) {
		snprintf(err, errlen,
		    "header line %llu holds a bare CR (a carriage return not followed by a line feed)",
		    (unsigned long long)no);
		return EX_DATAERR;
	}
	if (header_line(h, p, n, namelen, cont, more, eol) < 0) {
		snprintf(err, errlen, "header section too large (over %d bytes)", MSG_HEADER_MAX);
		return EX_DATAERR;
	}
	return 0;
}

int msg_read_headers(struct msg_in *in, struct msg_headers *h, char *err, size_t errlen)
{
	char *line = in->piece;
	bool first = true;

	while (!in->done) {
		uint64_t no = in->lineno + 1;
		size_t n, namelen = 0;
		bool eol, cont;
		int r = piece(in, line, PIECE_MAX, &n, &eol);

		if (r < 0) {
			snprintf(err, errlen, "cannot read the message: %s", strerror(errno));
			return EX_NOINPUT;
		}
		if (r == 0) {
			in->done = true;
			break;
		}
		if (first && n >= 5 && memcmp(line, "From ", 5) == 0 &&
		    field_name_len(line, n) == 0) {
			/* An mbox separator, not part of the message. */
			first = false;
			h->from_line_dropped = true;
			if (skip_line(in, eol) < 0) {
				snprintf(err, errlen, "cannot read the message: %s",
				    strerror(errno));
				return EX_NOINPUT;
			}
			continue;
		}
		first = false;
		if (lone_dot(in, true, line, n, eol)) {
			in->done = true;
			break;
		}
		if (eol && n == 0)
			break;	/* the blank line: the body follows */
		cont = h->n > 0 && (line[0] == ' ' || line[0] == '\t');
		if (!cont && (namelen = field_name_len(line, n)) == 0) {
			/* Not a header: the body starts here (Postfix does
			 * the same); the blank line is added on output. */
			in->held = true;
			in->held_eol = eol;
			in->held_len = n;
			break;
		}
		/* A line longer than a piece comes in several. */
		for (bool more = false;; more = true) {
			if ((r = header_piece(h, line, n, namelen, cont, more, eol, no, err,
			    errlen)) != 0)
				return r;
			if (eol)
				break;
			if (piece(in, line, PIECE_MAX, &n, &eol) < 0) {
				snprintf(err, errlen, "cannot read the message: %s",
				    strerror(errno));
				return EX_NOINPUT;
			}
		}
	}
	return 0;
}

static void note_problem(struct msg_body_info *bi, enum msg_problem p, uint64_t line)
{
	if (bi->first == MSG_OK) {
		bi->first = p;
		bi->first_line = line;
	}
}

/* Facts about one piece of a body line (the LF not included). */
static void scan(struct msg_body_info *bi, const unsigned char *p, size_t n, uint64_t line)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c < 0x80 && bi->utf8_need == 0) {
			if (c == '\0' && !bi->nul) {
				bi->nul = true;
				note_problem(bi, MSG_NUL, line);
			} else if (c == '\r' && !bi->bare_cr) {
				bi->bare_cr = true;
				note_problem(bi, MSG_BARE_CR, line);
			}
			continue;
		}
		if (c >= 0x80)
			bi->eightbit = true;
		if (bi->utf8_need > 0) {
			if ((c & 0xC0) == 0x80) {
				bi->utf8_need--;
				continue;
			}
			bi->utf8_bad = true;
			bi->utf8_need = 0;
			i--;	/* look at c again as a lead byte */
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			bi->utf8_need = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			bi->utf8_need = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			bi->utf8_need = 3;
		else
			bi->utf8_bad = true;
	}
	bi->cur_len += n;
	if (bi->cur_len > MSG_LINE_MAX && !bi->long_line) {
		bi->long_line = true;
		note_problem(bi, MSG_LONG_LINE, line);
	}
}

static void end_line(struct msg_body_info *bi)
{
	if (bi->utf8_need > 0) {
		bi->utf8_bad = true;	/* a character cut by the line end */
		bi->utf8_need = 0;
	}
	bi->cur_len = 0;
	bi->lines++;
}

int msg_copy_body(struct msg_in *in, const struct msg_sink *out, uint64_t base, uint64_t limit,
    struct msg_body_info *bi, char *err, size_t errlen)
{
	memset(bi, 0, sizeof(*bi));
	while (!in->done) {
		uint64_t no = in->lineno + 1;
		bool at_bol = in->bol, eol;
		size_t n;
		int rc;

		if (in->held) {
			/* From msg_read_headers: it was at the start of a line. */
			in->held = false;
			at_bol = true;
			eol = in->held_eol;
			n = in->held_len;
			no = in->lineno + (eol ? 0 : 1);
		} else {
			int r = piece(in, in->piece, PIECE_MAX, &n, &eol);
			if (r < 0) {
				snprintf(err, errlen, "cannot read the message: %s",
				    strerror(errno));
				return EX_NOINPUT;
			}
			if (r == 0)
				break;
		}
		if (lone_dot(in, at_bol, in->piece, n, eol))
			break;
		scan(bi, (const unsigned char *)in->piece, n, no);
		if (eol) {
			in->piece[n++] = '\n';
			end_line(bi);
		}
		bi->bytes += n;
		if (limit > 0 && base + bi->bytes > limit) {
			snprintf(err, errlen, "message exceeds max_message_size (%llu bytes)",
			    (unsigned long long)limit);
			return EX_NOPERM;
		}
		if ((rc = out->write(out->ctx, in->piece, n, err, errlen)) != 0)
			return rc;
	}
	in->done = true;
	return 0;
}
