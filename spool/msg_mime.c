/*
 * When the body cannot travel as it is (a line over 998 octets, a NUL, a bare
 * CR): decide from the top-level MIME fields whether it may be re-encoded as
 * quoted-printable, set the fields that needs, and do the re-encoding as a
 * second pass over what the first pass stored (msg.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "msg.h"
#include "msg_qp.h"
#include "util.h"

#define QP_CHUNK 65536

/* Copy the first token of a MIME field value (type/subtype or an encoding),
 * skipping white space, folding and comments, lower-cased. */
static void first_token(const char *v, size_t n, char *out, size_t outlen)
{
	size_t i = 0, o = 0;
	int depth = 0;

	for (; i < n; i++) {
		char c = v[i];

		if (depth > 0) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(')
			depth++;
		else if (c != ' ' && c != '\t' && c != '\n')
			break;
	}
	for (; i < n && o + 1 < outlen; i++) {
		char c = v[i];

		if (c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '(')
			break;
		out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[o] = '\0';
}

static void field_token(const struct msg_headers *h, const char *name, char *out, size_t outlen)
{
	long i = msg_find(h, name);
	const char *v;
	size_t n;

	out[0] = '\0';
	if (i < 0)
		return;
	v = msg_value(h, (size_t)i, &n);
	first_token(v, n, out, outlen);
}

static const char *problem_text(enum msg_problem p)
{
	switch (p) {
	case MSG_LONG_LINE:
		return "is longer than 998 octets";
	case MSG_NUL:
		return "holds a NUL byte";
	case MSG_BARE_CR:
		return "holds a bare CR (a carriage return not followed by a line feed)";
	case MSG_OK:
		break;
	}
	return "is fine";
}

int msg_reencode_needed(const struct msg_headers *h, const struct msg_body_info *bi, char *err,
    size_t errlen)
{
	unsigned long long line = (unsigned long long)bi->first_line;
	const char *what = problem_text(bi->first);
	char type[128], cte[128];

	if (!bi->long_line && !bi->nul && !bi->bare_cr)
		return 0;
	field_token(h, "Content-Type", type, sizeof(type));
	field_token(h, "Content-Transfer-Encoding", cte, sizeof(cte));
	if (strncmp(type, "multipart/", 10) == 0) {
		snprintf(err, errlen, "line %llu %s inside a multipart message; encode it before sending",
		    line, what);
		return EX_DATAERR;
	}
	if (type[0] != '\0' && strncmp(type, "text/", 5) != 0) {
		snprintf(err, errlen,
		    "line %llu %s inside a %s message, which cannot be re-encoded; encode it before sending",
		    line, what, type);
		return EX_DATAERR;
	}
	if (cte[0] != '\0' && strcmp(cte, "7bit") != 0 && strcmp(cte, "8bit") != 0 &&
	    strcmp(cte, "binary") != 0) {
		snprintf(err, errlen,
		    "line %llu %s in a message already encoded as %s; encode it correctly before sending",
		    line, what, cte);
		return EX_DATAERR;
	}
	return 1;
}

int msg_set_qp_headers(struct msg_headers *h, const struct msg_body_info *bi)
{
	const char *charset = !bi->eightbit ? "us-ascii" : bi->utf8_bad ? "unknown-8bit" : "utf-8";
	char ct[64];
	int rc = 0;

	msg_remove(h, "MIME-Version");
	msg_remove(h, "Content-Transfer-Encoding");
	rc |= msg_add(h, "MIME-Version", "1.0", -1);
	if (!msg_has(h, "Content-Type")) {
		snprintf(ct, sizeof(ct), "text/plain; charset=%s", charset);
		rc |= msg_add(h, "Content-Type", ct, -1);
	}
	rc |= msg_add(h, "Content-Transfer-Encoding", "quoted-printable", -1);
	return rc ? -1 : 0;
}

int msg_qp_body(int fd, off_t off, uint64_t len, const struct msg_sink *out, uint64_t base,
    uint64_t limit, uint64_t *written, char *err, size_t errlen)
{
	char *in = xmalloc(QP_CHUNK), *enc = xmalloc(qp_enc_bound(QP_CHUNK));
	struct qp_enc q;
	uint64_t done = 0, total = 0;
	int rc = 0;

	qp_enc_init(&q);
	while (rc == 0) {
		size_t want = len - done < QP_CHUNK ? (size_t)(len - done) : QP_CHUNK, n;
		ssize_t r = 0;

		if (want > 0) {
			do
				r = pread(fd, in, want, off + (off_t)done);
			while (r < 0 && errno == EINTR);
			if (r <= 0) {
				snprintf(err, errlen, "cannot read back the spool file: %s",
				    r < 0 ? strerror(errno) : "it got shorter");
				rc = EX_IOERR;
				break;
			}
			done += (uint64_t)r;
			n = qp_enc_feed(&q, in, (size_t)r, enc);
		} else
			n = qp_enc_end(&q, enc);
		total += n;
		if (limit > 0 && base + total > limit) {
			snprintf(err, errlen, "message exceeds max_message_size (%llu bytes)",
			    (unsigned long long)limit);
			rc = EX_NOPERM;
			break;
		}
		if (n > 0)
			rc = out->write(out->ctx, enc, n, err, errlen);
		if (want == 0)
			break;
	}
	free(in);
	free(enc);
	*written = total;
	return rc;
}
