/*
 * RFC 3464 delivery status notifications: see bounce.h for the shape.
 *
 * Two passes over the original, both in fixed-size chunks: the first finds
 * the end of its header section, whether it holds 8-bit bytes, and whether
 * a line of it could be mistaken for our MIME boundary (then we draw another
 * boundary); the second copies it into the report. Everything we generate
 * is sanitized (no control characters, non-ASCII → '?' outside addresses)
 * and folded at spaces so that no line exceeds 998 octets.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "util.h"

#define CHUNK 65536
#define LINE_SOFT 76		/* fold before this when a space allows it */
#define LINE_HARD 990		/* never let a piece grow past this */
#define FIELD_MAX (64 * 1024)	/* one generated part's header text */

struct out {
	bounce_emit_fn emit;
	void *ctx;
	uint64_t size;
};

/* What the first pass learned about the original. */
struct scan {
	uint64_t hdr_len;	/* bytes of the header section, its last LF included */
	bool eight_full;	/* a byte >= 0x80 anywhere */
	bool eight_hdrs;	/* ... in the header section */
	bool collision;		/* a line starts with "--" boundary */
};

static int out_write(struct out *o, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (o->emit(o->ctx, p, n) == -1)
		return -1;
	o->size += n;
	return 0;
}

int bounce_emit_fd(void *ctx, const void *p, size_t n)
{
	return io_write_all(*(const int *)ctx, p, n);
}

/*
 * Decode one UTF-8 sequence at s (n bytes available): its length, or 0 if
 * it is not well-formed (overlong, surrogate, out of range, truncated).
 */
static size_t utf8_len(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len, i;
	unsigned long c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* (spool_envelope.h has the one definition of "needs SMTPUTF8".) */
static bool is_ascii(const char *s)
{
	return !envelope_addr_utf8(s);
}

/*
 * s made safe for a header or text line: control characters (CR, LF, TAB
 * included) become spaces; each UTF-8 character becomes '?' unless
 * keep_utf8, each byte that is not valid UTF-8 becomes '?'. Returns -1 if
 * b's cap is reached.
 */
static int clean(struct buf *b, const char *s, bool keep_utf8)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	while (i < n) {
		unsigned long cp;
		size_t l;

		if (p[i] < 0x20 || p[i] == 0x7f) {
			if (buf_append(b, " ", 1) == -1)
				return -1;
			i++;
		} else if (p[i] < 0x80) {
			if (buf_append(b, p + i, 1) == -1)
				return -1;
			i++;
		} else if ((l = utf8_len(p + i, n - i, &cp)) > 0) {
			/* One '?' per character, not per byte. */
			if (buf_append(b, keep_utf8 ? (const void *)(p + i) : "?",
			    keep_utf8 ? l : 1) == -1)
				return -1;
			i += l;
		} else {
			if (buf_append(b, "?", 1) == -1)
				return -1;
			i++;
		}
	}
	return 0;
}

/*
 * An address for a delivery-status field: "rfc822; addr" when it is ASCII,
 * else RFC 6533's "utf-8; " utf-8-addr-xtext (each non-ASCII character and
 * '+', '=', '\' as \x{HEX}; ill-formed bytes as U+FFFD).
 */
static int dsn_addr(struct buf *b, const char *addr)
{
	const unsigned char *p = (const unsigned char *)addr;
	size_t n = strlen(addr), i = 0;

	if (is_ascii(addr)) {
		if (buf_appends(b, "rfc822; ") == -1)
			return -1;
		return clean(b, addr, false);
	}
	if (buf_appends(b, "utf-8; ") == -1)
		return -1;
	while (i < n) {
		unsigned long cp;
		size_t l = utf8_len(p + i, n - i, &cp);

		if (l == 0) {
			cp = 0xfffd;
			l = 1;
		}
		if (cp > 0x20 && cp < 0x7f && cp != '+' && cp != '=' && cp != '\\') {
			if (buf_append(b, p + i, 1) == -1)
				return -1;
		} else if (buf_appendf(b, "\\x{%lX}", cp < 0x20 ? 0xfffdUL : cp) == -1)
			return -1;
		i += l;
	}
	return 0;
}

/*
 * Append "Name: value\n" to b, folding at spaces so lines stay under
 * LINE_SOFT where the words allow and never exceed LINE_HARD: a word longer
 * than that is split (the only change folding can make to the text). Runs
 * of spaces collapse to one.
 */
static int fold_field(struct buf *b, const char *name, const char *value)
{
	size_t col, n;
	const char *p = value;
	bool first = true;

	if (buf_appendf(b, "%s:", name) == -1)
		return -1;
	col = strlen(name) + 1;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, " ");
		while (n > 0) {
			size_t take = n;

			if (!first && col + 1 + take > LINE_SOFT) {
				if (buf_appends(b, "\n") == -1)
					return -1;
				col = 0;
			}
			if (col + 1 + take > LINE_HARD)
				take = LINE_HARD - col - 1;
			if (buf_append(b, " ", 1) == -1 || buf_append(b, p, take) == -1)
				return -1;
			col += 1 + take;
			p += take;
			n -= take;
			first = false;
		}
	}
	return buf_appends(b, "\n");
}

/* fold_field for a value that needs clean() first. */
static int field_clean(struct buf *b, const char *name, const char *value, bool keep_utf8)
{
	struct buf v;
	int r;

	buf_init(&v, FIELD_MAX);
	r = clean(&v, value, keep_utf8) == -1 ? -1 : fold_field(b, name, v.data ? v.data : "");
	buf_free(&v);
	return r;
}

static int field_date(struct buf *b, const char *name, time_t t)
{
	char d[64];

	time_rfc5322_date(t, d, sizeof(d));
	return buf_appendf(b, "%s: %s\n", name, d);
}

/*
 * Plain text wrapped at LINE_SOFT (continuation lines indented by four
 * spaces, as Postfix does), for the human-readable part.
 */
static int wrap_text(struct buf *b, const char *text)
{
	size_t col = 0, n;
	const char *p = text;
	bool first = true;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, " ");
		while (n > 0) {
			size_t take = n;

			if (!first && col + 1 + take > LINE_SOFT) {
				if (buf_appends(b, "\n    ") == -1)
					return -1;
				col = 4;
			} else if (!first) {
				if (buf_append(b, " ", 1) == -1)
					return -1;
				col++;
			}
			if (col + take > LINE_HARD)
				take = LINE_HARD - col;
			if (buf_append(b, p, take) == -1)
				return -1;
			col += take;
			p += take;
			n -= take;
			first = false;
		}
	}
	return buf_appends(b, "\n");
}

/* "5.1.1": class 2, 4 or 5, then two numbers of 1 to 3 digits. */
static bool status_ok(const char *s)
{
	int part;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (part = 0; part < 2; part++) {
		size_t d = strspn(s, "0123456789");

		if (d < 1 || d > 3)
			return false;
		s += d;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* A diagnostic that starts like an SMTP reply ("550 ...", "550-..."). */
static bool is_smtp_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9' && (s[3] == '\0' || s[3] == ' ' || s[3] == '-');
}

/* The host name of "host[addr]:port" (qrcpt.relay) or of a bare name. */
static int mta_name(struct buf *b, const char *mta)
{
	size_t n = strcspn(mta, "[");
	char *h = xstrndup(mta, n);
	int r = clean(b, h, false);

	free(h);
	return r;
}

static const char *status_of(const struct bounce_info *b, const struct bounce_rcpt *r)
{
	if (status_ok(r->status))
		return r->status;
	return b->kind == BOUNCE_DELAYED ? "4.0.0" : "5.0.0";
}

/* Part 1: what happened, in plain English. */
static int human_part(struct buf *b, const struct bounce_info *bi, bool hdrs_only, bool utf8)
{
	struct buf line;
	size_t i;
	int r = 0;

	if (buf_appends(b, "Content-Description: Notification\n") == -1 ||
	    buf_appendf(b, "Content-Type: text/plain; charset=%s\n", utf8 ? "utf-8" : "us-ascii") == -1 ||
	    buf_appendf(b, "Content-Transfer-Encoding: %s\n\n", utf8 ? "8bit" : "7bit") == -1 ||
	    buf_appends(b, "This is the mail system at host ") == -1 ||
	    clean(b, bi->hostname, false) == -1 || buf_appends(b, ".\n\n") == -1)
		return -1;
	if (bi->kind == BOUNCE_DELAYED) {
		time_t now = bi->now, age = now > bi->arrival && bi->arrival != 0 ? now - bi->arrival : 0;

		if (buf_appends(b,
		    "####################################################################\n"
		    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
		    "####################################################################\n\n") == -1)
			return -1;
		if (age >= 3600)
			r = buf_appendf(b, "Your message could not be delivered for %.1f hours.\n",
			    (double)age / 3600.0);
		else if (age > 0)
			r = buf_appendf(b, "Your message could not be delivered for %lld minutes.\n",
			    (long long)(age / 60));
		else
			r = buf_appends(b, "Your message could not be delivered yet.\n");
		if (r == -1)
			return -1;
		if (bi->will_retry_until != 0) {
			char d[64];

			time_rfc5322_date(bi->will_retry_until, d, sizeof(d));
			if (buf_appendf(b, "The mail system will keep trying until %s.\n", d) == -1)
				return -1;
		}
		if (buf_appends(b, "The headers of your message are attached below.\n\n") == -1)
			return -1;
	} else if (buf_appendf(b, "I'm sorry to have to inform you that your message could not\n"
	    "be delivered to one or more recipients. %s\n\n",
	    hdrs_only ? "Its headers are attached below." : "It's attached below.") == -1)
		return -1;

	buf_init(&line, FIELD_MAX);
	for (i = 0; i < bi->nrcpts && r == 0; i++) {
		const struct bounce_rcpt *rc = &bi->rcpts[i];

		buf_reset(&line);
		r = buf_append(&line, "<", 1);
		if (r == 0)
			r = clean(&line, rc->final_rcpt, true);
		if (r == 0)
			r = buf_appends(&line, ">:");
		if (r == 0 && rc->remote_mta != NULL && rc->diagnostic != NULL) {
			r = buf_appends(&line, " host ");
			if (r == 0)
				r = mta_name(&line, rc->remote_mta);
			if (r == 0)
				r = buf_appends(&line, " said:");
		}
		if (r == 0 && rc->diagnostic != NULL) {
			r = buf_append(&line, " ", 1);
			if (r == 0)
				r = clean(&line, rc->diagnostic, false);
		} else if (r == 0)
			r = buf_appendf(&line, " %s (status %s)",
			    bi->kind == BOUNCE_DELAYED ? "delivery temporarily delayed" :
			    "delivery failed", status_of(bi, rc));
		if (r == 0)
			r = wrap_text(b, line.data) == -1 || buf_appends(b, "\n") == -1 ? -1 : 0;
	}
	buf_free(&line);
	return r;
}

/* Part 2: the machine-readable report. */
static int status_part(struct buf *b, const struct bounce_info *bi)
{
	size_t i;

	if (buf_appends(b, "Content-Description: Delivery report\n") == -1 ||
	    buf_appends(b, "Content-Type: message/delivery-status\n") == -1 ||
	    buf_appends(b, "\n") == -1)
		return -1;
	if (bi->envid != NULL && bi->envid[0] != '\0' &&
	    field_clean(b, "Original-Envelope-Id", bi->envid, false) == -1)
		return -1;
	{
		struct buf v;
		int r;

		buf_init(&v, FIELD_MAX);
		r = buf_appends(&v, "dns; ") == -1 || clean(&v, bi->hostname, false) == -1 ?
		    -1 : fold_field(b, "Reporting-MTA", v.data);
		buf_free(&v);
		if (r == -1)
			return -1;
	}
	if (bi->arrival != 0 && field_date(b, "Arrival-Date", bi->arrival) == -1)
		return -1;
	if (field_clean(b, "X-Nullrelay-Queue-ID", bi->queue_id, false) == -1)
		return -1;

	for (i = 0; i < bi->nrcpts; i++) {
		const struct bounce_rcpt *rc = &bi->rcpts[i];
		struct buf v;
		int r = 0;

		if (buf_appends(b, "\n") == -1)
			return -1;
		buf_init(&v, FIELD_MAX);
		if (rc->orcpt != NULL && rc->orcpt[0] != '\0') {
			r = dsn_addr(&v, rc->orcpt) == -1 ? -1 :
			    fold_field(b, "Original-Recipient", v.data);
			buf_reset(&v);
		}
		if (r == 0)
			r = dsn_addr(&v, rc->final_rcpt) == -1 ? -1 :
			    fold_field(b, "Final-Recipient", v.data);
		buf_reset(&v);
		if (r == 0)
			r = buf_appendf(b, "Action: %s\nStatus: %s\n",
			    bi->kind == BOUNCE_DELAYED ? "delayed" : "failed", status_of(bi, rc));
		if (r == 0 && rc->remote_mta != NULL && rc->remote_mta[0] != '\0' &&
		    rc->remote_mta[0] != '[') {
			r = buf_appends(&v, "dns; ") == -1 || mta_name(&v, rc->remote_mta) == -1 ?
			    -1 : fold_field(b, "Remote-MTA", v.data);
			buf_reset(&v);
		}
		if (r == 0 && rc->diagnostic != NULL && rc->diagnostic[0] != '\0') {
			r = buf_appends(&v, is_smtp_reply(rc->diagnostic) ? "smtp; " :
			    "X-Nullrelay; ") == -1 || clean(&v, rc->diagnostic, false) == -1 ?
			    -1 : fold_field(b, "Diagnostic-Code", v.data);
			buf_reset(&v);
		}
		buf_free(&v);
		if (r == 0 && rc->last_attempt != 0)
			r = field_date(b, "Last-Attempt-Date", rc->last_attempt);
		if (r == 0 && bi->kind == BOUNCE_DELAYED && bi->will_retry_until != 0)
			r = field_date(b, "Will-Retry-Until", bi->will_retry_until);
		if (r == -1)
			return -1;
	}
	return 0;
}

/*
 * First pass: header length, 8-bit bytes, and any line starting with
 * "--" boundary (a byte-wise state machine, so chunk edges do not matter).
 */
static int scan_original(int fd, off_t off, uint64_t len, const char *boundary,
    struct scan *sc, char *err, size_t errlen)
{
	char pat[128];
	unsigned char *chunk = xmalloc(CHUNK);
	uint64_t pos = 0;
	size_t plen, pm = 0;
	bool at_start = true, matching = true, hdr_done = false;
	unsigned char prev = '\n';

	snprintf(pat, sizeof(pat), "--%s", boundary);
	plen = strlen(pat);
	memset(sc, 0, sizeof(*sc));
	while (pos < len) {
		size_t want = len - pos > CHUNK ? CHUNK : (size_t)(len - pos), i;
		ssize_t got = pread(fd, chunk, want, off + (off_t)pos);

		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0) {
			err_format(err, errlen, "cannot read the original message: %s",
			    got == 0 ? "shorter than its recorded length" : strerror(errno));
			free(chunk);
			return -1;
		}
		for (i = 0; i < (size_t)got; i++) {
			unsigned char c = chunk[i];

			if (c >= 0x80) {
				sc->eight_full = true;
				if (!hdr_done)
					sc->eight_hdrs = true;
			}
			if (!hdr_done && c == '\n' && prev == '\n') {
				hdr_done = true;
				sc->hdr_len = pos + i;	/* the blank line is left out */
			}
			if (at_start) {
				at_start = false;
				matching = true;
				pm = 0;
			}
			if (matching && pm < plen) {
				if (c == (unsigned char)pat[pm]) {
					if (++pm == plen)
						sc->collision = true;
				} else
					matching = false;
			}
			if (c == '\n')
				at_start = true;
			prev = c;
		}
		pos += (uint64_t)got;
	}
	if (!hdr_done)
		sc->hdr_len = len;
	free(chunk);
	return 0;
}

/* Second pass: copy [off, off + n) to the sink. */
static int copy_original(struct out *o, int fd, off_t off, uint64_t n, char *err, size_t errlen)
{
	unsigned char *chunk = xmalloc(CHUNK);
	uint64_t pos = 0;

	while (pos < n) {
		size_t want = n - pos > CHUNK ? CHUNK : (size_t)(n - pos);
		ssize_t got = pread(fd, chunk, want, off + (off_t)pos);

		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0) {
			err_format(err, errlen, "cannot read the original message: %s",
			    got == 0 ? "shorter than its recorded length" : strerror(errno));
			free(chunk);
			return -1;
		}
		if (out_write(o, chunk, (size_t)got) == -1) {
			err_format(err, errlen, "output failed%s%s", errno ? ": " : "",
			    errno ? strerror(errno) : "");
			free(chunk);
			return -1;
		}
		pos += (uint64_t)got;
	}
	free(chunk);
	return 0;
}

static void hexrand(char *out, size_t nbytes)
{
	unsigned char r[32];
	size_t i;

	if (nbytes > sizeof(r))
		nbytes = sizeof(r);
	random_bytes(r, nbytes);
	for (i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static int check_args(const struct bounce_info *b, int fd, char *err, size_t errlen)
{
	size_t i;

	if (b->hostname == NULL || b->hostname[0] == '\0')
		return err_format(err, errlen, "bounce: no hostname"), -1;
	if (b->queue_id == NULL || b->queue_id[0] == '\0')
		return err_format(err, errlen, "bounce: no queue id"), -1;
	if (b->to == NULL || b->to[0] == '\0')
		return err_format(err, errlen, "bounce: no recipient (null sender)"), -1;
	if (b->nrcpts == 0 || b->rcpts == NULL)
		return err_format(err, errlen, "bounce: no recipients to report"), -1;
	for (i = 0; i < b->nrcpts; i++)
		if (b->rcpts[i].final_rcpt == NULL || b->rcpts[i].final_rcpt[0] == '\0')
			return err_format(err, errlen, "bounce: recipient %zu has no address", i + 1), -1;
	if (fd < 0)
		return err_format(err, errlen, "bounce: no original message"), -1;
	return 0;
}

/* The top-level header section of the report. */
static int top_header(struct buf *h, const struct bounce_info *bi, const char *qid,
    const char *boundary, bool eight)
{
	char rnd[33], date[64];

	time_rfc5322_date(bi->now, date, sizeof(date));
	hexrand(rnd, 8);
	if (buf_appendf(h, "Date: %s\n", date) == -1 ||
	    buf_appends(h, "From: Mail Delivery System <MAILER-DAEMON@") == -1 ||
	    clean(h, bi->hostname, false) == -1 || buf_appends(h, ">\n") == -1 ||
	    buf_appends(h, "To: <") == -1 || clean(h, bi->to, true) == -1 ||
	    buf_appends(h, ">\n") == -1 ||
	    buf_appendf(h, "Subject: %s\n", bi->kind == BOUNCE_DELAYED ?
	    "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender") == -1 ||
	    buf_appendf(h, "Message-ID: <%s.%s@", qid, rnd) == -1 ||
	    clean(h, bi->hostname, false) == -1 || buf_appends(h, ">\n") == -1 ||
	    buf_appends(h, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n") == -1 ||
	    buf_appendf(h, "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n", boundary) == -1 ||
	    (eight && buf_appends(h, "Content-Transfer-Encoding: 8bit\n") == -1) ||
	    buf_appends(h, "\nThis is a MIME-encapsulated message.\n\n") == -1)
		return -1;
	return 0;
}

int bounce_write(const struct bounce_info *b, int orig_fd, off_t off, uint64_t len,
    bounce_emit_fn emit, void *ctx, struct bounce_result *res, char *err, size_t errlen)
{
	struct bounce_info bi = *b;
	struct out o = { emit, ctx, 0 };
	struct scan sc;
	struct buf h;
	char qid[17], boundary[64], rnd[33];
	size_t i, j;
	bool hdrs_only, utf8, eight, part8;
	uint64_t attach;
	int tries;

	if (check_args(b, orig_fd, err, errlen) == -1)
		return -1;
	if (bi.now == 0)
		bi.now = time(NULL);
	/* The id goes into the boundary and Message-ID: letters and digits only. */
	for (i = j = 0; b->queue_id[i] != '\0' && j < sizeof(qid) - 1; i++)
		if ((b->queue_id[i] >= '0' && b->queue_id[i] <= '9') ||
		    (b->queue_id[i] >= 'A' && b->queue_id[i] <= 'Z') ||
		    (b->queue_id[i] >= 'a' && b->queue_id[i] <= 'z'))
			qid[j++] = b->queue_id[i];
	qid[j] = '\0';
	if (j == 0)
		strlcpy(qid, "0", sizeof(qid));

	/* 128 random bits make a collision absurd; check anyway, it is free. */
	for (tries = 0;; tries++) {
		if (tries == 8) {
			err_format(err, errlen, "bounce: cannot find a MIME boundary absent from the message");
			return -1;
		}
		hexrand(rnd, 16);
		snprintf(boundary, sizeof(boundary), "%s/%s", qid, rnd);
		if (scan_original(orig_fd, off, len, boundary, &sc, err, errlen) == -1)
			return -1;
		if (!sc.collision)
			break;
	}

	hdrs_only = b->kind == BOUNCE_DELAYED || b->ret == RET_HDRS || len > BOUNCE_FULL_MAX;
	attach = hdrs_only ? sc.hdr_len : len;
	part8 = hdrs_only ? sc.eight_hdrs : sc.eight_full;
	utf8 = !is_ascii(b->to);
	for (i = 0; i < b->nrcpts && !utf8; i++)
		if (!is_ascii(b->rcpts[i].final_rcpt))
			utf8 = true;
	eight = part8 || utf8;

	buf_init(&h, 4 * 1024 * 1024 + (size_t)b->nrcpts * 4096);
	if (top_header(&h, &bi, qid, boundary, eight) == -1 ||
	    buf_appendf(&h, "--%s\n", boundary) == -1 ||
	    human_part(&h, &bi, hdrs_only, utf8) == -1 ||
	    buf_appendf(&h, "\n--%s\n", boundary) == -1 ||
	    status_part(&h, &bi) == -1 ||
	    buf_appendf(&h, "\n--%s\n", boundary) == -1 ||
	    buf_appendf(&h, "Content-Description: %s\n", b->kind == BOUNCE_DELAYED ?
	    "Delayed Message Headers" : hdrs_only ? "Undelivered Message Headers" :
	    "Undelivered Message") == -1 ||
	    buf_appendf(&h, "Content-Type: %s\n", hdrs_only ? "text/rfc822-headers" :
	    "message/rfc822") == -1 ||
	    (part8 && buf_appends(&h, "Content-Transfer-Encoding: 8bit\n") == -1) ||
	    buf_appends(&h, "\n") == -1) {
		err_format(err, errlen, "bounce: report too large");
		buf_free(&h);
		return -1;
	}
	errno = 0;
	if (out_write(&o, h.data, h.len) == -1) {
		err_format(err, errlen, "output failed%s%s", errno ? ": " : "",
		    errno ? strerror(errno) : "");
		buf_free(&h);
		return -1;
	}
	buf_free(&h);
	errno = 0;
	if (copy_original(&o, orig_fd, off, attach, err, errlen) == -1)
		return -1;

	/*
	 * The LF before a delimiter belongs to the delimiter (RFC 2046 5.1.1),
	 * so an original ending in LF keeps it; one without gets none added.
	 */
	buf_init(&h, 256);
	if (buf_appendf(&h, "\n--%s--\n", boundary) == -1 || out_write(&o, h.data, h.len) == -1) {
		err_format(err, errlen, "output failed%s%s", errno ? ": " : "",
		    errno ? strerror(errno) : "");
		buf_free(&h);
		return -1;
	}
	buf_free(&h);
	if (res != NULL) {
		res->size = o.size;
		res->headers_only = hdrs_only;
		res->eight_bit = eight;
		res->utf8_addrs = !is_ascii(b->to);
	}
	return 0;
}
