/*
 * The configuration's error messages, made alike by every file of the
 * conf family (conf.c, conf_keys.c, conf_check.c, conf_oauth2_check.c):
 * "PATH:LINE: what", with user-supplied values shown safely. A leaf: it
 * calls none of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf_impl.h"

int conf_error(struct conf_ctx *x, unsigned line, const char *fmt, ...)
{
	char msg[CONF_ERR_MAX];
	va_list ap;

	/* A truncated error message is still the right error: no check needed. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line != 0)
		snprintf(x->err, x->errlen, "%s:%u: %s", x->path, line, msg);
	else
		snprintf(x->err, x->errlen, "%s: %s", x->path, msg);
	return -1;
}

void conf_show(const char *s, char *out, size_t outlen)
{
	size_t i = 0;

	if (outlen < 8) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	/* Control characters would garble the one-line error: show them as '?';
	 * a long value is cut with "..." (the line number finds the rest). */
	for (; *s != '\0' && i + 4 < outlen; s++)
		out[i++] = ((unsigned char)*s < ' ' || *s == 0x7f) ? '?' : *s;
	if (*s != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}
