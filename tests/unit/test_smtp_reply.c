/* Unit tests: SMTP reply parsing and EHLO keywords (relayd/smtp_reply.c). */
#include <string.h>

#include "check.h"
#include "smtp_reply.h"

static int parse(const char *s, struct smtp_reply *r)
{
	return smtp_reply_parse(s, strlen(s), r);
}

static void test_single(void)
{
	struct smtp_reply r;

	CHECK_INT(parse("250 2.0.0 Ok: queued as ABC\r\n", &r), 0);
	CHECK_INT(r.code, 250);
	CHECK_STR(r.dsn, "2.0.0");
	CHECK_STR(r.text, "250 2.0.0 Ok: queued as ABC");
	CHECK_INT(smtp_reply_class(&r), SMTP_DONE);

	CHECK_INT(parse("220 mail.example.org ESMTP\n", &r), 0);	/* bare LF accepted */
	CHECK_INT(r.code, 220);
	CHECK_STR(r.dsn, "2.0.0");	/* derived */

	CHECK_INT(parse("354\r\n", &r), 0);	/* code alone */
	CHECK_INT(r.code, 354);
	CHECK_STR(r.text, "354");
	CHECK_INT(smtp_reply_class(&r), SMTP_TEMP);

	CHECK_INT(parse("451 4.3.0 try later\r\n", &r), 0);
	CHECK_STR(r.dsn, "4.3.0");
	CHECK_INT(smtp_reply_class(&r), SMTP_TEMP);

	CHECK_INT(parse("550 5.1.1 <x@y>: no such user\r\n", &r), 0);
	CHECK_STR(r.dsn, "5.1.1");
	CHECK_INT(smtp_reply_class(&r), SMTP_PERM);
}

static void test_enhanced(void)
{
	struct smtp_reply r;

	/* Class of the enhanced code must match the reply code. */
	CHECK_INT(parse("550 4.1.1 odd\r\n", &r), 0);
	CHECK_STR(r.dsn, "5.0.0");
	/* Three-digit subject and detail. */
	CHECK_INT(parse("452 4.5.3 Too many recipients\r\n", &r), 0);
	CHECK_STR(r.dsn, "4.5.3");
	CHECK_INT(parse("554 5.123.456 x\r\n", &r), 0);
	CHECK_STR(r.dsn, "5.123.456");
	/* Not enhanced codes. */
	CHECK_INT(parse("554 5.1234.1 x\r\n", &r), 0);
	CHECK_STR(r.dsn, "5.0.0");
	CHECK_INT(parse("250 2.0.0Ok\r\n", &r), 0);
	CHECK_STR(r.dsn, "2.0.0");
	CHECK_INT(parse("250 2.1\r\n", &r), 0);
	CHECK_STR(r.dsn, "2.0.0");
	CHECK_INT(parse("250 2.1.5\r\n", &r), 0);	/* code at end of line */
	CHECK_STR(r.dsn, "2.1.5");
}

static void test_multiline(void)
{
	struct smtp_reply r;
	const char *ehlo = "250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
	    "250 8BITMIME\r\n";

	CHECK_INT(parse(ehlo, &r), 0);
	CHECK_INT(r.code, 250);
	CHECK_STR(r.text, "250-mx.example.org Hello 250-PIPELINING 250-SIZE 1000 250 8BITMIME");

	CHECK_INT(parse("550-5.1.1 first\r\n550 5.1.1 second\r\n", &r), 0);
	CHECK_STR(r.dsn, "5.1.1");
	CHECK_STR(r.text, "550-5.1.1 first 550 5.1.1 second");

	/* A continuation with another code is malformed. */
	CHECK_INT(parse("250-a\r\n251 b\r\n", &r), -1);
	CHECK_INT(r.code, 0);
	/* Incomplete. */
	CHECK_INT(parse("250-a\r\n250-b\r\n", &r), -1);
	CHECK_INT(parse("", &r), -1);

	/* Line by line, as the session feeds them. */
	smtp_reply_init(&r);
	CHECK_INT(smtp_reply_add_line(&r, "250-a", 5), 1);
	CHECK_INT(smtp_reply_add_line(&r, "250-b", 5), 1);
	CHECK_INT(smtp_reply_add_line(&r, "250 c", 5), 0);
	smtp_reply_finish(&r);
	CHECK_STR(r.text, "250-a 250-b 250 c");
}

static void test_garbage(void)
{
	struct smtp_reply r;
	char big[3000];
	size_t i;

	CHECK_INT(parse("hello\r\n", &r), -1);
	CHECK(strstr(r.text, "malformed reply") == r.text);
	CHECK_INT(parse("25\r\n", &r), -1);
	CHECK_INT(parse("2500 x\r\n", &r), -1);
	CHECK_INT(parse("250x\r\n", &r), -1);
	CHECK_INT(parse("650 x\r\n", &r), -1);
	CHECK_INT(parse("050 x\r\n", &r), -1);
	CHECK_INT(parse("\r\n", &r), -1);
	CHECK_INT(smtp_reply_class(&r), SMTP_TEMP);

	/* Control characters and 8-bit bytes are replaced in the kept text. */
	CHECK_INT(parse("250 a\tb\x1b[31mc\xc3\xa9\r\n", &r), 0);
	CHECK_STR(r.text, "250 a?b?[31mc??");

	/* Overlong text is cut with a visible "..." and stays terminated. */
	memcpy(big, "250-", 4);
	for (i = 4; i < 1500; i++)
		big[i] = 'x';
	memcpy(big + 1500, "\r\n250 tail\r\n", 13);
	CHECK_INT(parse(big, &r), 0);
	CHECK_INT(strlen(r.text), sizeof(r.text) - 1);
	CHECK(strcmp(r.text + strlen(r.text) - 3, "...") == 0);
	CHECK_INT(r.code, 250);

	/* A reason of our own. */
	smtp_reply_set(&r, "4.4.2", "lost connection with %s while %s", "h[1.2.3.4]:25", "x\r\n");
	CHECK_INT(r.code, 0);
	CHECK_STR(r.dsn, "4.4.2");
	CHECK_STR(r.text, "lost connection with h[1.2.3.4]:25 while x??");
	CHECK_INT(smtp_reply_class(&r), SMTP_TEMP);
}

static void ext_lines(struct smtp_ext *e, const char *const *lines)
{
	memset(e, 0, sizeof(*e));
	for (; *lines != NULL; lines++)
		smtp_ext_parse_line(e, *lines, strlen(*lines));
}

static void test_ext(void)
{
	struct smtp_ext e;
	const char *const all[] = { "PIPELINING", "SIZE 35882577", "8BITMIME", "smtputf8",
		"DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH PLAIN LOGIN xoauth2", "CHUNKING",
		NULL };
	const char *const old[] = { "AUTH=LOGIN PLAIN", "SIZE", "STARTTLSX", "DSNX", NULL };
	const char *const big[] = { "SIZE 99999999999999999999999", "AUTH OAUTHBEARER", NULL };

	ext_lines(&e, all);
	CHECK(e.pipelining && e.eightbitmime && e.smtputf8 && e.dsn && e.enhanced && e.starttls);
	CHECK(e.size);
	CHECK(e.size_max == 35882577);
	CHECK_INT(e.auth, (1 << AUTH_PLAIN) | (1 << AUTH_LOGIN) | (1 << AUTH_XOAUTH2));

	ext_lines(&e, old);
	CHECK_INT(e.auth, (1 << AUTH_PLAIN) | (1 << AUTH_LOGIN));
	CHECK(e.size && e.size_max == 0);
	CHECK(!e.starttls && !e.dsn);

	ext_lines(&e, big);
	CHECK(e.size && e.size_max == 0);	/* absurd limit: treated as none */
	CHECK_INT(e.auth, 1 << AUTH_OAUTHBEARER);
}

int main(void)
{
	test_single();
	test_enhanced();
	test_multiline();
	test_garbage();
	test_ext();
	return check_summary("test_smtp_reply");
}
