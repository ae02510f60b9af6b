/*
 * The DATA body on the wire (RFC 5321 §4.5.2, §2.3.8): the stored message
 * has LF line endings; the smarthost gets CRLF, a dot doubled at the start
 * of every line, and the final ".CRLF". A pure function over chunks of
 * the message, with the line state carried from one chunk to the next, so
 * it can be tested with any cut of the input.
 */
#ifndef NULLRELAY_SMTP_DOT_H
#define NULLRELAY_SMTP_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "msg_limits.h"

/* What smtp_dot_end writes at the most: CRLF and ".CRLF". */
#define SMTP_DOT_END_MAX 5

/* The line state between chunks. */
struct smtp_dot {
	bool bol;		/* at the beginning of a line */
	char prev;		/* the last input byte */
	size_t linelen;		/* octets of the current line so far */
};

void smtp_dot_init(struct smtp_dot *d);

/*
 * Convert in[0..n) into out, which must hold 2 * n bytes (each input byte
 * becomes at most two): LF -> CRLF (a CR already before the LF is kept,
 * not doubled), a '.' at the start of a line doubled. Returns the bytes
 * written to out, or -1 when a line is longer than MSG_LINE_MAX (the
 * CR of a CRLF in the input not counted): the message cannot be sent as it
 * is.
 */
ssize_t smtp_dot_stuff(struct smtp_dot *d, const char *in, size_t n, char *out);

/* After the last chunk: CRLF when the last line has no newline, then the
 * final ".CRLF". Writes at most SMTP_DOT_END_MAX bytes; returns how many. */
size_t smtp_dot_end(const struct smtp_dot *d, char *out);

#endif
