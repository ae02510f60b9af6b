/*
 * Regression tests for what the fuzz targets found (tests/fuzz/README.md,
 * "Long runs"): each input is the minimised reproducer, kept also as
 * tests/fuzz/corpus/NAME/regress-*, and each test failed before its fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smtp_parse.h"
#include "spool_qmsg.h"

/*
 * fuzz_smtp_parse: a ':' inside a quoted local part was taken as the end of
 * a source route "@a,@b:", so the path handed on began inside the quotes
 * and held an unquoted '>' ("<@x\"a:b>c\"@d>" gave "b>c\"@d").
 */
static void test_route_colon_in_quotes(void)
{
	const char *rest = NULL;
	char *p;

	p = smtp_parse_path("<@x\"a:b>c\"@d>", &rest);
	CHECK(p != NULL);
	if (p != NULL)
		CHECK_STR(p, "@x\"a:b>c\"@d");
	CHECK(rest != NULL && *rest == '\0');
	free(p);
	/* A real source route is still dropped. */
	p = smtp_parse_path("<@a.example,@b.example:bob@example.org> X", &rest);
	CHECK(p != NULL);
	if (p != NULL)
		CHECK_STR(p, "bob@example.org");
	CHECK(rest != NULL && strcmp(rest, " X") == 0);
	free(p);
}

/*
 * fuzz_qmsg: an envelope line after the state lines was refused only after
 * it had been added, so a "rcpt" there grew the recipient count past the
 * states already allocated and qmsg_free on the refusal read and freed
 * beyond them (heap overflow; ASan in make sanitize, free() abort or heap
 * damage without it). A damaged queue/ID.env took relayd down at start.
 */
static void test_qmsg_rcpt_after_state(void)
{
	static const char *const texts[] = {
		QUEUE_STATE_MAGIC "\nsender <>\nrcpt <a@x.org>\nuid 0\narrival 5.000\nsize 10\n"
		    "status 0 failed\nrcpt <b@x.org>\nrcpt <c@x.org>\nrcpt <d@x.org>\n",
		QUEUE_STATE_MAGIC "\nsender <>\nrcpt <a@x.org>\nlast-reply 0 0 - gone\n"
		    "relay 0 h[192.0.2.1]:25\nrcpt <b@x.org>\nuid 0\narrival 5.000\nsize 10\n",
	};
	char err[256];
	struct qmsg m;
	size_t i;
	int k;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
		for (k = 0; k < 64; k++) {
			err[0] = '\0';
			CHECK(qmsg_parse(&m, "0123456789ABCDEF", texts[i], strlen(texts[i]), err,
			    sizeof err) == -1);
			CHECK(strstr(err, "envelope line after the state lines") != NULL);
		}
}

/*
 * fuzz_qmsg: a last-reply with a DSN but code 0 and no text was not written
 * out again (qmsg_format wrote the line only for a code or a text), so the
 * DSN was lost at the next state file write.
 */
static void test_qmsg_dsn_kept(void)
{
	static const char text[] = QUEUE_STATE_MAGIC "\nsender <>\nrcpt <a@x.org>\nuid 1\n"
	    "arrival 5.000\nsize 1\nlast-reply 0 0 4.4.1\n";
	struct qmsg m, again;
	char err[256];
	struct buf b;

	CHECK(qmsg_parse(&m, "0123456789ABCDEF", text, strlen(text), err, sizeof err) == 0);
	buf_init(&b, QUEUE_STATE_MAX);
	CHECK(qmsg_format(&m, &b) == 0);
	CHECK(qmsg_parse(&again, "0123456789ABCDEF", b.data, b.len, err, sizeof err) == 0);
	CHECK_STR(again.rcpts[0].dsn, "4.4.1");
	buf_free(&b);
	qmsg_free(&again);
	qmsg_free(&m);
}

int main(void)
{
	test_qmsg_dsn_kept();
	test_route_colon_in_quotes();
	test_qmsg_rcpt_after_state();
	return check_summary("fuzz_regress");
}
