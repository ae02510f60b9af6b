/* One command line out of an input buffer: see smtp_line.h. */
#include <stdio.h>
#include <string.h>

#include "smtp_line.h"

void smtp_line_init(struct smtp_line *l, char *line, size_t cap)
{
	l->line = line;
	l->cap = cap;
	l->n = 0;
	l->toolong = false;
}

size_t smtp_line_take(struct smtp_line *l, const char *p, size_t avail, bool *done)
{
	const char *nl = avail > 0 ? memchr(p, '\n', avail) : NULL;
	size_t take = nl != NULL ? (size_t)(nl - p) + 1 : avail;

	if (!l->toolong && l->n + take > l->cap)
		l->toolong = true;
	if (!l->toolong) {
		memcpy(l->line + l->n, p, take);
		l->n += take;
	}
	*done = nl != NULL;
	return take;
}

int smtp_line_end(struct smtp_line *l, size_t *len)
{
	size_t n = l->n;

	if (l->toolong)
		return -1;
	n--;			/* the LF */
	if (n > 0 && l->line[n - 1] == '\r')
		n--;
	l->line[n] = '\0';
	*len = n;
	return 0;
}

size_t smtp_line_vreply(char *line, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(line, cap - 2, fmt, ap);

	if (n < 0)
		n = 0;
	if ((size_t)n > cap - 3)
		n = (int)(cap - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	return (size_t)n;
}
