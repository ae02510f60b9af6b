/* UTF-8 validity: see util_utf8.h. */
#include "util_utf8.h"

size_t utf8_seq(const char *str, unsigned long *cpp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	unsigned long cp;
	size_t n, k;

	if (c < 0x80) {
		if (cpp != NULL)
			*cpp = c;
		return c != '\0';
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
	} else {
		return 0;
	}
	/* A NUL is not a continuation byte: we never read past the end. */
	for (k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cpp != NULL)
		*cpp = cp;
	return n + 1;
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
