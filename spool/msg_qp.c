/* Quoted-printable encoder: see msg_qp.h. */
#include "msg_qp.h"

/* Content octets per line before a soft break; with the "=" that makes 76. */
#define QP_COLS 75

static const char hex[] = "0123456789ABCDEF";

void qp_enc_init(struct qp_enc *q)
{
	q->col = 0;
	q->ws = -1;
}

size_t qp_enc_bound(size_t n)
{
	/* Worst case: every byte encoded (3) plus a soft break (2) at least
	 * every 24 input bytes: under 4 per byte, plus the held-back byte. */
	return n * 4 + 16;
}

static char *soft_break(struct qp_enc *q, char *o, unsigned need)
{
	if (q->col + need > QP_COLS) {
		*o++ = '=';
		*o++ = '\n';
		q->col = 0;
	}
	return o;
}

static char *put_lit(struct qp_enc *q, char *o, unsigned char c)
{
	o = soft_break(q, o, 1);
	*o++ = (char)c;
	q->col++;
	return o;
}

static char *put_enc(struct qp_enc *q, char *o, unsigned char c)
{
	o = soft_break(q, o, 3);
	*o++ = '=';
	*o++ = hex[c >> 4];
	*o++ = hex[c & 15];
	q->col += 3;
	return o;
}

size_t qp_enc_feed(struct qp_enc *q, const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	char *o = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (q->ws >= 0) {
			/* Whitespace before a line break must be encoded or
			 * a transport could strip it. */
			if (c == '\n')
				o = put_enc(q, o, (unsigned char)q->ws);
			else
				o = put_lit(q, o, (unsigned char)q->ws);
			q->ws = -1;
		}
		if (c == '\n') {
			*o++ = '\n';
			q->col = 0;
		} else if (c == ' ' || c == '\t')
			q->ws = c;
		else if (c >= 33 && c <= 126 && c != '=')
			o = put_lit(q, o, c);
		else
			o = put_enc(q, o, c);
	}
	return (size_t)(o - out);
}

size_t qp_enc_end(struct qp_enc *q, char *out)
{
	char *o = out;

	if (q->ws >= 0) {
		o = put_enc(q, o, (unsigned char)q->ws);
		q->ws = -1;
	}
	return (size_t)(o - out);
}
