/*
 * "Is this UTF-8", "is this 8-bit": one definition each (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), shared by the
 * address parser, the envelope check, the body scan at submission, the
 * bounce writer and the JSON/text escaping of what mailq shows.
 */
#ifndef NULLRELAY_UTF8_H
#define NULLRELAY_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at s (NUL-terminated), or 0 if
 * s does not start one (a stray continuation byte, an overlong form, ...).
 * *cp, when not NULL, gets the code point. */
size_t utf8_seq(const char *s, unsigned long *cp);

/* True if all of s is valid UTF-8. */
bool utf8_valid(const char *s);

/* True if s is valid UTF-8 with no C0 or C1 control character and no DEL:
 * text that may reach a terminal (mailq), a log line or JSON as it is. */
bool utf8_printable(const char *s);

/* True if s (NULL: false) holds a byte over 0x7f: not ASCII. For an address
 * this is "needs SMTPUTF8" (RFC 6531); for a header or body, "8-bit". */
bool utf8_has_8bit(const char *s);

/*
 * The same rule over a stream that arrives in pieces (a body line read in
 * chunks): zero-initialise, then feed each byte.
 */
struct utf8_stream {
	unsigned char need;	/* continuation bytes still expected */
	unsigned char lo, hi;	/* the range the next one must fall in */
};

enum utf8_step {
	UTF8_OK,	/* c is ASCII, or starts, continues or ends a sequence */
	UTF8_BAD,	/* c can start no sequence (stream reset) */
	UTF8_CUT	/* the sequence in progress ended before c, which was not
			 * looked at: feed c again (stream reset) */
};

enum utf8_step utf8_stream_byte(struct utf8_stream *st, unsigned char c);
/* True if the stream is inside a sequence (a byte over 0x7f is expected). */
bool utf8_stream_inside(const struct utf8_stream *st);
/* End of the text (a line end): true if a sequence was cut by it. Resets. */
bool utf8_stream_end(struct utf8_stream *st);

#endif
