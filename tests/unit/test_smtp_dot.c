/*
 * Unit tests: the DATA body on the wire (relayd/smtp_dot.c): CRLF, dots
 * doubled at the start of lines, the final dot, the 998-octet limit. Each
 * case is run whole, cut in two at every place, and one byte at a time, so
 * a dot or a CR LF that falls on a chunk boundary is covered.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smtp_dot.h"

struct dot_case {
	const char *in, *out;	/* out NULL: refused (line too long) */
};

static const struct dot_case cases[] = {
	{ "", ".\r\n" },			/* empty message: only the final dot */
	{ "a\n", "a\r\n.\r\n" },
	{ ".\n", "..\r\n.\r\n" },		/* a lone dot is stuffed */
	{ ".", "..\r\n.\r\n" },			/* ... also without its newline */
	{ "..\n", "...\r\n.\r\n" },		/* ".." lines */
	{ "a\n..\nb\n", "a\r\n...\r\nb\r\n.\r\n" },
	{ ".a\n.b\n", "..a\r\n..b\r\n.\r\n" },
	{ "a.\nb.c\n", "a.\r\nb.c\r\n.\r\n" },	/* not at the start: left alone */
	{ "a\n.", "a\r\n..\r\n.\r\n" },
	{ "last line", "last line\r\n.\r\n" },	/* final line without newline */
	{ "a\r\nb\r\n", "a\r\nb\r\n.\r\n" },	/* CRLF already: not doubled */
	{ "a\r\n.\r\n", "a\r\n..\r\n.\r\n" },
	{ "a\nb\r\nc", "a\r\nb\r\nc\r\n.\r\n" },	/* LF and CRLF mixed */
	{ "a\rb\n", "a\rb\r\n.\r\n" },		/* a lone CR passes as it is */
	{ "\n\n", "\r\n\r\n.\r\n" },		/* empty lines */
	{ "\n.\n", "\r\n..\r\n.\r\n" },
};

/* Run in through smtp_dot in chunks of `step` bytes, the first chunk `cut`
 * bytes long. The output, NUL-terminated (malloc'd), or NULL when refused. */
static char *run(const char *in, size_t len, size_t cut, size_t step)
{
	char *out = malloc(2 * len + SMTP_DOT_END_MAX + 1);
	struct smtp_dot d;
	size_t i = 0, o = 0;

	smtp_dot_init(&d);
	/* A first chunk of 0 bytes is a call with nothing; step >= 1. */
	for (bool first = true; first || i < len; first = false) {
		size_t n = first ? cut : step;
		ssize_t w;

		if (n > len - i)
			n = len - i;
		w = smtp_dot_stuff(&d, in + i, n, out + o);
		if (w < 0) {
			free(out);
			return NULL;
		}
		CHECK((size_t)w <= 2 * n);
		o += (size_t)w;
		i += n;
	}
	o += smtp_dot_end(&d, out + o);
	out[o] = '\0';
	return out;
}

static void check_all_cuts(const char *in, const char *want)
{
	size_t len = strlen(in), cut;
	char *got;

	for (cut = 0; cut <= len; cut++) {
		got = run(in, len, cut, len ? len : 1);
		if (want == NULL)
			CHECK(got == NULL);
		else
			CHECK_STR(got != NULL ? got : "(refused)", want);
		free(got);
	}
	got = run(in, len, 1, 1);
	if (want == NULL)
		CHECK(got == NULL);
	else
		CHECK_STR(got != NULL ? got : "(refused)", want);
	free(got);
}

static void test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_all_cuts(cases[i].in, cases[i].out);
}

/* 998 octets fit (with LF, with CRLF, or last); 999 do not. */
static void test_line_limit(void)
{
	size_t max = MSG_LINE_MAX;
	char *in = malloc(max + 8), *want = malloc(max + 16);

	memset(in, 'x', max + 1);
	memcpy(want, in, max);

	memcpy(in + max, "\n", 2);
	memcpy(want + max, "\r\n.\r\n", 6);
	check_all_cuts(in, want);

	memcpy(in + max, "\r\n", 3);
	check_all_cuts(in, want);

	in[max] = '\0';
	check_all_cuts(in, want);

	in[max] = 'x';
	memcpy(in + max + 1, "\n", 2);
	check_all_cuts(in, NULL);

	/* A CR that does not end the line counts as an octet of it. */
	memcpy(in + max, "\rx\n", 4);
	check_all_cuts(in, NULL);

	/* The count starts again on each line; a stuffed dot is not counted. */
	in[0] = '.';
	memcpy(in + max, "\nab\n", 5);
	memcpy(want, in, max);
	want[0] = '.';
	memmove(want + 1, want, max);
	memcpy(want + max + 1, "\r\nab\r\n.\r\n", 10);
	check_all_cuts(in, want);
	free(in);
	free(want);
}

int main(void)
{
	test_table();
	test_line_limit();
	return check_summary("test_smtp_dot");
}
