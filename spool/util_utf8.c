/* UTF-8 validity: see util_utf8.h. */
#include "util_utf8.h"

/*
 * RFC 3629 §4 from the lead byte c: how many continuation bytes follow
 * (0 for ASCII, -1 if c starts nothing) and the range of the first of them,
 * which is where overlong forms, surrogates and code points above U+10FFFF
 * are refused (later continuation bytes are always 80..BF). *cp gets the
 * lead's bits.
 */
static int utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi,
    unsigned long *cp)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0x80) {
		*cp = c;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		*cp = c & 0x1f;
		return 1;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			*lo = 0xa0;	/* E0 80..9F would be overlong */
		else if (c == 0xed)
			*hi = 0x9f;	/* ED A0..BF would be a surrogate */
		*cp = c & 0x0f;
		return 2;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			*lo = 0x90;	/* F0 80..8F would be overlong */
		else if (c == 0xf4)
			*hi = 0x8f;	/* F4 90.. would pass U+10FFFF */
		*cp = c & 0x07;
		return 3;
	}
	return -1;
}

size_t utf8_seq(const char *str, unsigned long *cpp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo, hi;
	unsigned long cp;
	int n, k;

	if (s[0] == '\0' || (n = utf8_lead(s[0], &lo, &hi, &cp)) < 0)
		return 0;
	/* A NUL is not a continuation byte: we never read past the end. */
	for (k = 1; k <= n; k++) {
		if (s[k] < lo || s[k] > hi)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	if (cpp != NULL)
		*cpp = cp;
	return (size_t)n + 1;
}

bool utf8_valid(const char *s)
{
	size_t n;

	while (*s != '\0') {
		if ((n = utf8_seq(s, NULL)) == 0)
			return false;
		s += n;
	}
	return true;
}

bool utf8_printable(const char *s)
{
	unsigned long cp;
	size_t n;

	while (*s != '\0') {
		if ((n = utf8_seq(s, &cp)) == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;
		s += n;
	}
	return true;
}

bool utf8_has_8bit(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

enum utf8_step utf8_stream_byte(struct utf8_stream *st, unsigned char c)
{
	unsigned long cp;
	int n;

	if (st->need > 0) {
		if (c < st->lo || c > st->hi) {
			st->need = 0;
			return UTF8_CUT;
		}
		st->need--;
		st->lo = 0x80;
		st->hi = 0xbf;
		return UTF8_OK;
	}
	if ((n = utf8_lead(c, &st->lo, &st->hi, &cp)) < 0)
		return UTF8_BAD;
	st->need = (unsigned char)n;
	return UTF8_OK;
}

bool utf8_stream_inside(const struct utf8_stream *st)
{
	return st->need > 0;
}

bool utf8_stream_end(struct utf8_stream *st)
{
	bool cut = st->need > 0;

	st->need = 0;
	return cut;
}
