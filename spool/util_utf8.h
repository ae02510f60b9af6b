/*
 * "Is this UTF-8": one definition (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), shared by the address parser, the
 * envelope check and the JSON/text escaping of what mailq shows.
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

#endif
