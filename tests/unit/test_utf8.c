/*
 * Unit tests for spool/util_utf8.c: the one definition of "is this UTF-8"
 * (RFC 3629) and "is this 8-bit", and that the streaming form used on
 * message bodies judges every byte string exactly as the string form does.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "check.h"
#include "msg_limits.h"
#include "spool_envelope.h"
#include "util_utf8.h"

/* The stream's verdict on all of s: valid UTF-8 or not. */
static bool stream_valid(const unsigned char *s, size_t n)
{
	struct utf8_stream st = { 0 };
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		switch (utf8_stream_byte(&st, s[i])) {
		case UTF8_OK:
			break;
		case UTF8_CUT:
			ok = false;
			i--;	/* the byte is looked at again, as msg_read.c does */
			break;
		case UTF8_BAD:
			ok = false;
			break;
		}
	}
	if (utf8_stream_end(&st))
		ok = false;
	return ok;
}

static void test_seq(void)
{
	unsigned long cp = 0;

	CHECK_INT(utf8_seq("", &cp), 0);
	CHECK_INT(utf8_seq("a", &cp), 1);
	CHECK_INT(cp, 'a');
	CHECK_INT(utf8_seq("\xc3\xa9", &cp), 2);
	CHECK_INT(cp, 0xe9);
	CHECK_INT(utf8_seq("\xe2\x82\xac", &cp), 3);
	CHECK_INT(cp, 0x20ac);
	CHECK_INT(utf8_seq("\xf0\x9f\x98\x80", &cp), 4);
	CHECK_INT(cp, 0x1f600);
	CHECK_INT(utf8_seq("\xf4\x8f\xbf\xbf", &cp), 4);
	CHECK_INT(cp, 0x10ffff);
	CHECK_INT(utf8_seq("\xef\xbf\xbf", &cp), 3);	/* U+FFFF: allowed */
	/* Refused: stray continuation, overlong forms, surrogates, above
	 * U+10FFFF, leads that start nothing, a sequence cut by the end. */
	CHECK_INT(utf8_seq("\x80", NULL), 0);
	CHECK_INT(utf8_seq("\xc0\xaf", NULL), 0);
	CHECK_INT(utf8_seq("\xc1\xbf", NULL), 0);
	CHECK_INT(utf8_seq("\xe0\x80\xaf", NULL), 0);
	CHECK_INT(utf8_seq("\xe0\x9f\xbf", NULL), 0);
	CHECK_INT(utf8_seq("\xe0\xa0\x80", NULL), 3);	/* U+0800, the first */
	CHECK_INT(utf8_seq("\xed\xa0\x80", NULL), 0);	/* U+D800 */
	CHECK_INT(utf8_seq("\xed\xbf\xbf", NULL), 0);	/* U+DFFF */
	CHECK_INT(utf8_seq("\xed\x9f\xbf", NULL), 3);	/* U+D7FF */
	CHECK_INT(utf8_seq("\xf0\x8f\xbf\xbf", NULL), 0);
	CHECK_INT(utf8_seq("\xf0\x90\x80\x80", NULL), 4);	/* U+10000 */
	CHECK_INT(utf8_seq("\xf4\x90\x80\x80", NULL), 0);
	CHECK_INT(utf8_seq("\xf5\x80\x80\x80", NULL), 0);
	CHECK_INT(utf8_seq("\xff", NULL), 0);
	CHECK_INT(utf8_seq("\xe2\x82", NULL), 0);
	CHECK_INT(utf8_seq("\xe2\x82" "a", NULL), 0);
}

static void test_valid_printable(void)
{
	CHECK(utf8_valid(""));
	CHECK(utf8_valid("j\xc3\xb6rg@example.org"));
	CHECK(!utf8_valid("j\xf6rg"));
	CHECK(utf8_printable("j\xc3\xb6rg"));
	CHECK(!utf8_printable("a\tb"));
	CHECK(!utf8_printable("a\x7f"));
	CHECK(!utf8_printable("a\xc2\x85"));	/* NEL, a C1 control */
	CHECK(utf8_printable("a\xc2\xa0"));	/* NBSP is text */
}

static void test_has_8bit(void)
{
	CHECK(!utf8_has_8bit(NULL));
	CHECK(!utf8_has_8bit(""));
	CHECK(!utf8_has_8bit("root@example.org"));
	CHECK(utf8_has_8bit("j\xc3\xb6rg@example.org"));
	CHECK(utf8_has_8bit("x\xff"));	/* 8-bit even when not UTF-8 */
}

/* Every string of one, two and three bytes (no NUL): the stream and
 * utf8_valid agree, so the body scan and the address checks are one rule. */
static void test_stream_agrees(void)
{
	unsigned char s[4];
	long disagree = 0, tried = 0;

	for (unsigned a = 1; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			for (unsigned c = 0; c < 256; c++) {
				size_t n = b == 0 ? 1 : c == 0 ? 2 : 3;

				if ((b == 0 && c != 0) || (a < 0x80 && b < 0x80 && c < 0x80 && n > 1))
					continue;
				s[0] = (unsigned char)a;
				s[1] = (unsigned char)b;
				s[2] = (unsigned char)c;
				s[3] = '\0';
				tried++;
				if (stream_valid(s, n) != utf8_valid((const char *)s)) {
					if (disagree++ < 5)
						printf("disagree on %02x %02x %02x\n", a, b, c);
				}
			}
		}
	}
	CHECK_INT(disagree, 0);
	CHECK(tried > 8000000);
	/* Four bytes: the edges of the four-byte range. */
	CHECK(stream_valid((const unsigned char *)"\xf0\x90\x80\x80", 4));
	CHECK(stream_valid((const unsigned char *)"\xf4\x8f\xbf\xbf", 4));
	CHECK(!stream_valid((const unsigned char *)"\xf4\x90\x80\x80", 4));
	CHECK(!stream_valid((const unsigned char *)"\xf0\x8f\xbf\xbf", 4));
	/* A sequence cut by a line end is bad; the next line starts afresh. */
	CHECK(!stream_valid((const unsigned char *)"\xc3", 1));
	CHECK(stream_valid((const unsigned char *)"\xc3\xa9", 2));
}

/* The other rules this branch gave one definition each (issue 13). */
static void test_one_definition(void)
{
	CHECK_INT(MSG_LINE_MAX, 998);
	CHECK_INT(ADDR_MAX_LEN, MSG_LINE_MAX);
	CHECK_INT(ENV_ENVID_MAX, 100);
	CHECK(envelope_envid_ok("a+b=c"));	/* RFC 3461: xtext carries them */
	CHECK(envelope_envid_ok("!~"));
	CHECK(!envelope_envid_ok("a b"));
	CHECK(!envelope_envid_ok("a\x7f"));
	CHECK(!envelope_envid_ok(NULL));
}

int main(void)
{
	test_seq();
	test_valid_printable();
	test_has_8bit();
	test_stream_agrees();
	test_one_definition();
	return check_summary("test_utf8");
}
