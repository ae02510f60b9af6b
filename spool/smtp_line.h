/*
 * Taking one command line out of an input buffer, shared by the two SMTP
 * servers: relayd's listener (listen_conn.c) and sendmail -bs (sm_bs.c).
 * Each has its own buffer and way to refill it; the line rule is one: up
 * to the LF, the CR before it dropped, a line longer than the caller's
 * limit consumed whole and refused.
 */
#ifndef NULLRELAY_SMTP_LINE_H
#define NULLRELAY_SMTP_LINE_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>

/* A line being taken, across refills of the buffer. */
struct smtp_line {
	char *line;		/* the caller's, cap bytes */
	size_t cap;
	size_t n;		/* bytes taken so far */
	bool toolong;
};

void smtp_line_init(struct smtp_line *l, char *line, size_t cap);

/*
 * Take bytes of p[0..avail) up to and including the first LF. Returns how
 * many were taken (the caller consumes them); *done is true when the LF was
 * among them.
 */
size_t smtp_line_take(struct smtp_line *l, const char *p, size_t avail, bool *done);

/* After *done: the line without its LF or CRLF, NUL-terminated, its length
 * in *len. 0, or -1 when it was longer than cap. */
int smtp_line_end(struct smtp_line *l, size_t *len);

/*
 * A reply line for the client: fmt formatted into line (cap >= 3 bytes)
 * and CRLF appended; a reason too long for the line is cut so that the
 * code and the first words lead. Returns the length with the CRLF.
 */
size_t smtp_line_vreply(char *line, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
