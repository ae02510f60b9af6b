/*
 * Quoted-printable encoding (RFC 2045 §6.7), streaming: the input is fed in
 * chunks of any size, LF is a hard line break and every other byte is data
 * (a bare CR becomes =0D, a NUL =00). Output lines are at most 76 octets and
 * end in LF (relayd turns them into CRLF on the wire).
 */
#ifndef NULLRELAY_QP_H
#define NULLRELAY_QP_H

#include <stddef.h>

struct qp_enc {
	unsigned col;	/* octets on the current output line */
	int ws;		/* a space or tab held back until we know it is not
			 * at the end of a line (it must be encoded there), or -1 */
};

void qp_enc_init(struct qp_enc *q);
/* Room out must have for n input bytes (feed) or for the end (n = 0). */
size_t qp_enc_bound(size_t n);
/* Encode n bytes into out; returns the bytes written. */
size_t qp_enc_feed(struct qp_enc *q, const void *in, size_t n, char *out);
/* Flush what is held back at the end of the data; returns the bytes written. */
size_t qp_enc_end(struct qp_enc *q, char *out);

#endif
