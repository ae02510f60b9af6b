/* Dot-stuffing and CRLF for the DATA body: see smtp_dot.h. */
#include <string.h>

#include "smtp_dot.h"

void smtp_dot_init(struct smtp_dot *d)
{
	d->bol = true;
	d->prev = '\n';
	d->linelen = 0;
}

ssize_t smtp_dot_stuff(struct smtp_dot *d, const char *in, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i < n; i++) {
		char ch = in[i];

		if (d->bol && ch == '.')
			out[o++] = '.';
		d->bol = false;
		if (ch == '\n') {
			if (d->prev != '\r')
				out[o++] = '\r';
			out[o++] = '\n';
			d->bol = true;
			d->linelen = 0;
		} else {
			/* One CR more is the CR of a CRLF ending a full line. */
			if (++d->linelen > MSG_LINE_MAX + (ch == '\r' ? 1 : 0))
				return -1;
			out[o++] = ch;
		}
		d->prev = ch;
	}
	return (ssize_t)o;
}

size_t smtp_dot_end(const struct smtp_dot *d, char *out)
{
	size_t o = 0;

	if (!d->bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}
