/*
 * Unit tests for spool/addr_parse.c: RFC 5322 Appendix A, the obsolete forms,
 * what real mail sends (unqualified names, UTF-8, quoted commas), and the
 * inputs that must be refused before they can reach an SMTP command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "check.h"

static struct addrlist L;
static char err[512];
static unsigned ncases;

/* Parse s into a fresh list; on an unexpected failure say why. */
static int parse_len(const char *s, size_t len, int want)
{
	int rc;

	ncases++;
	addr_list_free(&L);
	err[0] = '\0';
	rc = addr_list_parse(s, len, &L, err, sizeof err);
	if (rc != want)
		fprintf(stderr, "  input \"%s\": rc %d, err \"%s\"\n", s, rc, err);
	return rc;
}

#define OK(in, count) do { \
	CHECK_INT(parse_len((in), strlen(in), 0), 0); \
	CHECK_INT(L.n, (count)); \
} while (0)

#define ADDR(i, lo, dom, disp) do { \
	CHECK(L.n > (i)); \
	if (L.n > (i)) { \
		CHECK_STR(L.v[i].local, (lo)); \
		CHECK_STR(L.v[i].domain, (dom)); \
		CHECK_STR(L.v[i].display, (disp)); \
	} \
} while (0)

/* Refused, with a reason that names the problem. */
#define BAD_LEN(in, len, frag) do { \
	CHECK_INT(parse_len((in), (len), -1), -1); \
	CHECK_INT(L.n, 0); \
	if (strstr(err, (frag)) == NULL) \
		fprintf(stderr, "  err \"%s\" lacks \"%s\"\n", err, (frag)); \
	CHECK(strstr(err, (frag)) != NULL); \
} while (0)
#define BAD(in, frag) BAD_LEN((in), strlen(in), (frag))

static void test_rfc5322_a1(void)
{
	/* A.1.1 */
	OK("John Doe <jdoe@machine.example>", 1);
	ADDR(0, "jdoe", "machine.example", "John Doe");
	OK("Mary Smith <mary@example.net>", 1);
	ADDR(0, "mary", "example.net", "Mary Smith");

	/* A.1.2 */
	OK("\"Joe Q. Public\" <john.q.public@example.com>", 1);
	ADDR(0, "john.q.public", "example.com", "Joe Q. Public");
	OK("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 3);
	ADDR(0, "mary", "x.test", "Mary Smith");
	ADDR(1, "jdoe", "example.org", NULL);
	ADDR(2, "one", "y.test", "Who?");
	OK("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 2);
	ADDR(0, "boss", "nil.test", NULL);
	ADDR(1, "sysservices", "example.net", "Giant; \"Big\" Box");

	/* A.1.3 */
	OK("Pete <pete@silly.example>", 1);
	ADDR(0, "pete", "silly.example", "Pete");
	OK("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", 3);
	ADDR(0, "c", "a.test", "Ed Jones");
	ADDR(1, "joe", "where.test", NULL);
	ADDR(2, "jdoe", "one.test", "John");
	OK("Undisclosed recipients:;", 0);
}

static void test_rfc5322_a2_a4(void)
{
	/* A.2 */
	OK("\"Mary Smith: Personal Account\" <smith@home.example>", 1);
	ADDR(0, "smith", "home.example", "Mary Smith: Personal Account");
	OK("John Doe <jdoe@machine.example>", 1);
	ADDR(0, "jdoe", "machine.example", "John Doe");
	/* A.3 */
	OK("Jane Brown <j-brown@other.example>", 1);
	ADDR(0, "j-brown", "other.example", "Jane Brown");
	/* A.4 */
	OK("John Doe <jdoe@node.example>", 1);
	ADDR(0, "jdoe", "node.example", "John Doe");
}

static void test_rfc5322_a5(void)
{
	OK("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 1);
	ADDR(0, "pete", "silly.test", "Pete");
	OK("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
	    "         joe@example.org,\r\n"
	    "  John <jdoe@one.test> (my dear friend); (the end of the group)", 3);
	ADDR(0, "c", "public.example", "Chris Jones");
	ADDR(1, "joe", "example.org", NULL);
	ADDR(2, "jdoe", "one.test", "John");
	OK("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", 0);
}

static void test_rfc5322_a6(void)
{
	/* A.6.1 */
	OK("Joe Q. Public <john.q.public@example.com>", 1);
	ADDR(0, "john.q.public", "example.com", "Joe Q. Public");
	OK("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example", 2);
	ADDR(0, "mary", "example.net", "Mary Smith");
	ADDR(1, "jdoe", "test.example", NULL);
	/* A.6.2 */
	OK("John Doe <jdoe@machine.example>", 1);
	ADDR(0, "jdoe", "machine.example", "John Doe");
	/* A.6.3 */
	OK("John Doe <jdoe@machine(comment).  example>", 1);
	ADDR(0, "jdoe", "machine.example", "John Doe");
	OK("Mary Smith\r\n  \r\n          <mary@example.net>", 1);
	ADDR(0, "mary", "example.net", "Mary Smith");
	OK("Mary Smith\n <mary@example.net>", 1);
	ADDR(0, "mary", "example.net", "Mary Smith");
}

static void test_hard(void)
{
	OK("\"Doe, John\" <jd@x>", 1);
	ADDR(0, "jd", "x", "Doe, John");
	OK("\"Doe, John\" <jd@x>, \"Roe; Jane\" <jr@x>", 2);
	ADDR(1, "jr", "x", "Roe; Jane");
	OK("undisclosed-recipients:;", 0);
	OK("Friends: a@x, b@y;", 2);
	ADDR(0, "a", "x", NULL);
	ADDR(1, "b", "y", NULL);
	OK("Friends: a@x, b@y;, c@z", 3);
	ADDR(2, "c", "z", NULL);
	OK("a@x (a (b) c)", 1);
	ADDR(0, "a", "x", NULL);
	OK("(x (y (z)) \\( ) Name (c) <u(c)@(c)d(c)>(c)", 1);
	ADDR(0, "u", "d", "Name");
	OK("<@a,@b:u@d>", 1);
	ADDR(0, "u", "d", NULL);
	OK("<,@a, ,@b:u@d>", 1);
	ADDR(0, "u", "d", NULL);
	OK("user@[192.0.2.1]", 1);
	ADDR(0, "user", "[192.0.2.1]", NULL);
	OK("Admin <user@[IPv6:2001:db8::1]>", 1);
	ADDR(0, "user", "[IPv6:2001:db8::1]", "Admin");
	OK("a@[ 192.0.2.1 ]", 1);
	ADDR(0, "a", "[192.0.2.1]", NULL);
	OK("a@x,,b@y", 2);
	OK("a@x, b@y,", 2);
	OK(",,, a@x ,,,", 1);
	OK("", 0);
	OK("   ", 0);
	OK("(only a comment)", 0);
	OK("a@Example.ORG", 1);
	ADDR(0, "a", "Example.ORG", NULL);
	OK("a..b@docomo.example", 1);
	ADDR(0, "a..b", "docomo.example", NULL);
	OK("=?UTF-8?B?SsO2cmc=?= <j@x>", 1);
	ADDR(0, "j", "x", "=?UTF-8?B?SsO2cmc=?=");
	OK("\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" <PIRARD@vm1.ulg.ac.be>", 1);
	ADDR(0, "PIRARD", "vm1.ulg.ac.be", "=?ISO-8859-1?Q?Andr=E9?= Pirard");
	OK("\"\" <a@x>", 1);
	ADDR(0, "a", "x", NULL);
	OK("a@x\r\n\t, b@y", 2);
}

static void test_quoted_local(void)
{
	OK("\"john doe\"@x", 1);
	ADDR(0, "\"john doe\"", "x", NULL);
	OK("\"abc\"@x", 1);
	ADDR(0, "abc", "x", NULL);
	OK("\"john\".doe@x", 1);
	ADDR(0, "john.doe", "x", NULL);
	OK("\"a\\\"b\"@x", 1);
	ADDR(0, "\"a\\\"b\"", "x", NULL);
	OK("\"a\\\\b\"@x", 1);
	ADDR(0, "\"a\\\\b\"", "x", NULL);
	OK("\"a\\bc\"@x", 1);
	ADDR(0, "abc", "x", NULL);
	OK("\"a..b\"@x", 1);
	ADDR(0, "\"a..b\"", "x", NULL);
	OK("\"a,b\"@x, c@y", 2);
	ADDR(0, "\"a,b\"", "x", NULL);
	OK("\"\"@x", 1);
	ADDR(0, "\"\"", "x", NULL);
	OK("Someone <\"with space\"@x>", 1);
	ADDR(0, "\"with space\"", "x", "Someone");
	OK("john . doe @ x", 1);
	ADDR(0, "john.doe", "x", NULL);
	OK("\"folded\r\n name\"@x", 1);
	ADDR(0, "\"folded name\"", "x", NULL);
}

static void test_unqualified(void)
{
	OK("root", 1);
	ADDR(0, "root", NULL, NULL);
	CHECK_INT(L.v[0].qualify_at, 4);
	OK("  Logwatch  ", 1);
	ADDR(0, "Logwatch", NULL, NULL);
	CHECK_INT(L.v[0].qualify_at, 10);
	OK("a@x, fail2ban", 2);
	ADDR(1, "fail2ban", NULL, NULL);
	CHECK_INT(L.v[1].qualify_at, 13);
	OK("Name <root>", 1);
	ADDR(0, "root", NULL, "Name");
	CHECK_INT(L.v[0].qualify_at, 10);
	OK("root (the admin), b@y", 2);
	ADDR(0, "root", NULL, NULL);
	CHECK_INT(L.v[0].qualify_at, 4);
	OK("a@x,\r\n Logwatch", 2);
	CHECK_INT(L.v[1].qualify_at, 15);
	OK("\"a b\"", 1);
	ADDR(0, "\"a b\"", NULL, NULL);
	CHECK_INT(L.v[0].qualify_at, 5);
	OK("G: root, www-data;", 2);
	ADDR(1, "www-data", NULL, NULL);
	CHECK_INT(L.v[1].qualify_at, 17);
}

/* Inserting "@domain" at qualify_at qualifies each address in place and
 * leaves the rest of the header text as it was. */
static void test_qualify_in_place(void)
{
	const char *in = "Admin <root> (the boss), \"x y\", cron";
	char out[256];
	size_t i, at, pos = 0, o = 0;
	struct addrlist q = { NULL, 0, 0 };
	size_t offs[3];

	OK(in, 3);
	for (i = 0; i < L.n && i < 3; i++)
		offs[i] = L.v[i].qualify_at;
	for (i = 0; i < 3; i++) {
		at = offs[i];
		memcpy(out + o, in + pos, at - pos);
		o += at - pos;
		memcpy(out + o, "@h.example", 10);
		o += 10;
		pos = at;
	}
	memcpy(out + o, in + pos, strlen(in) - pos + 1);
	CHECK_STR(out, "Admin <root@h.example> (the boss), \"x y\"@h.example, cron@h.example");
	ncases++;
	CHECK_INT(addr_list_parse(out, strlen(out), &q, err, sizeof err), 0);
	CHECK_INT(q.n, 3);
	if (q.n == 3) {
		CHECK_STR(q.v[0].domain, "h.example");
		CHECK_STR(q.v[1].local, "\"x y\"");
		CHECK_STR(q.v[2].domain, "h.example");
	}
	addr_list_free(&q);
}

static void test_utf8(void)
{
	OK("用户@例子.广告", 1);
	ADDR(0, "用户", "例子.广告", NULL);
	CHECK(L.v[0].utf8);
	OK("Jörg Müller <jörg@müller.example>", 1);
	ADDR(0, "jörg", "müller.example", "Jörg Müller");
	CHECK(L.v[0].utf8);
	OK("\"Jörg M.\" <j@x>", 1);
	ADDR(0, "j", "x", "Jörg M.");
	CHECK(!L.v[0].utf8);
	OK("ascii@example.org", 1);
	CHECK(!L.v[0].utf8);
	OK("δοκιμή", 1);
	ADDR(0, "δοκιμή", NULL, NULL);
	CHECK(L.v[0].utf8);
	CHECK_INT(L.v[0].qualify_at, strlen("δοκιμή"));
	BAD("\xff@x", "invalid UTF-8");
	BAD("a@\xc0\xaf", "invalid UTF-8");
}

static void test_lengths(void)
{
	char big[1200];

	/* Local parts over 64 octets happen in real mail: accepted. */
	memset(big, 'a', 200);
	memcpy(big + 200, "@x", 3);
	OK(big, 1);
	CHECK_INT(strlen(L.v[0].local), 200);
	/* Exactly ADDR_MAX_LEN in all. */
	memset(big, 'a', 500);
	big[500] = '@';
	memset(big + 501, 'b', ADDR_MAX_LEN - 501);
	big[ADDR_MAX_LEN] = '\0';
	OK(big, 1);
	/* One more. */
	memset(big, 'a', 500);
	big[500] = '@';
	memset(big + 501, 'b', ADDR_MAX_LEN - 500);
	big[ADDR_MAX_LEN + 1] = '\0';
	BAD(big, "longer than 998");
	memset(big, 'a', 999);
	memcpy(big + 999, "@x", 3);
	BAD(big, "local part longer than 998");
}

static void test_errors(void)
{
	BAD("\"unterminated@x", "unbalanced '\"'");
	BAD("a@x (comment", "unbalanced '('");
	BAD("a@x (a (b) c", "unbalanced '('");
	BAD("a@x)", "unbalanced ')'");
	BAD("Name <a@x", "unbalanced '<'");
	BAD("a@x>", "unbalanced '>'");
	BAD(">a@x", "unbalanced '>'");
	BAD("a@x<b@y>", "unexpected '<'");
	BAD("<a@x>>", "unbalanced '>'");
	BAD("<<a@x>", "unexpected '<'");
	BAD("Name <a@x> <b@y>", "unexpected '<'");
	BAD("<a@x<b@y>>", "unexpected '<'");
	BAD("@x", "empty local part");
	BAD("<@x>", "source route");
	BAD("a@", "empty domain");
	BAD("Name <a@>", "empty domain");
	BAD("a@x..y", "empty label");
	BAD("a@x.", "empty label");
	BAD("a@\"x\"", "quoted string in domain");
	BAD("a@x\r\nb@y", "line break");
	BAD("a@x\nRCPT TO:<evil@y>", "line break");
	BAD("a@x\n", "line break");
	BAD("a@x\rb", "bare CR");
	BAD_LEN("a\0b@x", 5, "NUL");
	BAD("a\x01@x", "control character 0x01");
	BAD("a@x\x7f", "control character 0x7f");
	BAD("\"a\x1b\"@x", "control character 0x1b");
	BAD("John Doe", "not an address");
	BAD("a@x b@y", "missing ','");
	BAD("<>", "empty address");
	BAD("a@x, <>", "empty address");
	BAD("Friends: a@x, b@y", "not closed with ';'");
	BAD("A: B: c@d;;", "group inside a group");
	BAD("a@[192.0.2.1", "unbalanced '['");
	BAD("a@[1.2[3].4]", "'[' inside a domain literal");
	BAD("a@x]", "unbalanced ']'");
	BAD("a\\b@x", "backslash outside");
	BAD("a@x;", "';'");
	BAD("\"a\\", "unbalanced '\"'");
	BAD("<@a,@b>", "source route");
	BAD("a@x, \"b@y", "unbalanced '\"'");
	BAD("a@[]", "empty domain literal");
	BAD("a@[1.2.3.4>]", "not allowed in a domain literal");
	BAD("\"a\tb\"@x", "tab inside a quoted local part");
	BAD("a@x:", "unexpected ':'");
}

/* A failed parse appends nothing, even after good addresses. */
static void test_all_or_nothing(void)
{
	struct addrlist l = { NULL, 0, 0 };
	const char *bad = "c@z, d@w, <bad";

	ncases++;
	CHECK_INT(addr_list_parse("a@x, b@y", 8, &l, err, sizeof err), 0);
	CHECK_INT(addr_list_parse(bad, strlen(bad), &l, err, sizeof err), -1);
	CHECK_INT(l.n, 2);
	CHECK(strstr(err, "<bad") != NULL);
	addr_list_free(&l);
	CHECK_INT(addr_list_parse("<bad", 4, &l, NULL, 0), -1);
	addr_list_free(&l);
}

static void sender_ok(const char *in, const char *spec, bool want_null)
{
	struct addr a;
	bool is_null = !want_null;
	char *s;

	ncases++;
	CHECK_INT(addr_parse_sender(in, &a, &is_null, err, sizeof err), 0);
	CHECK_INT(is_null, want_null);
	s = addr_spec(&a);
	CHECK_STR(s, spec);
	free(s);
	if (want_null)
		CHECK(a.domain == NULL && a.local != NULL && a.local[0] == '\0');
	addr_free(&a);
}

static void sender_bad(const char *in, const char *frag)
{
	struct addr a;
	bool is_null;

	ncases++;
	CHECK_INT(addr_parse_sender(in, &a, &is_null, err, sizeof err), -1);
	CHECK(strstr(err, frag) != NULL);
	CHECK(a.local == NULL && a.domain == NULL);
	addr_free(&a);
}

static void test_sender(void)
{
	struct addr a;
	bool is_null;

	sender_ok("user@x", "user@x", false);
	sender_ok("<user@x>", "user@x", false);
	sender_ok("Name <user@x>", "user@x", false);
	sender_ok("root", "root", false);
	sender_ok("\"a b\"@x", "\"a b\"@x", false);
	sender_ok("", "", true);
	sender_ok("\"\"", "", true);
	sender_ok("<>", "", true);
	sender_ok(" < > ", "", true);
	sender_bad("a@x, b@y", "more than one address");
	sender_bad("undisclosed-recipients:;", "no address");
	sender_bad("<a@x", "unbalanced '<'");
	sender_bad("a@x\nb", "line break");

	ncases++;
	CHECK_INT(addr_parse_sender("Www <www-data>", &a, &is_null, err, sizeof err), 0);
	CHECK_STR(a.local, "www-data");
	CHECK(a.domain == NULL);
	CHECK_STR(a.display, "Www");
	CHECK_INT(a.qualify_at, 13);
	addr_free(&a);
}

static void test_helpers(void)
{
	struct addrlist l = { NULL, 0, 0 };
	struct addr probe;
	char *s;

	OK("A@Example.ORG, root, \"a b\"@x", 3);
	s = addr_spec(&L.v[0]);
	CHECK_STR(s, "A@Example.ORG");
	free(s);
	s = addr_spec(&L.v[1]);
	CHECK_STR(s, "root");
	free(s);
	s = addr_spec(&L.v[2]);
	CHECK_STR(s, "\"a b\"@x");
	free(s);
	CHECK(addr_domain_is(&L.v[0], "example.org"));
	CHECK(addr_domain_is(&L.v[0], "EXAMPLE.org"));
	CHECK(!addr_domain_is(&L.v[0], "example.com"));
	CHECK(!addr_domain_is(&L.v[1], "example.org"));

	addr_list_push_copy(&l, &L.v[0]);
	addr_list_push_copy(&l, &L.v[1]);
	CHECK_INT(l.n, 2);
	CHECK(l.v[0].local != L.v[0].local);
	CHECK(addr_list_contains(&l, &L.v[0]));
	CHECK(addr_list_contains(&l, &L.v[1]));
	CHECK(!addr_list_contains(&l, &L.v[2]));

	OK("A@example.org, a@example.org, root@x", 3);
	CHECK(addr_list_contains(&l, &L.v[0]));	/* domain case-insensitive */
	CHECK(!addr_list_contains(&l, &L.v[1]));	/* local part exact */
	CHECK(!addr_list_contains(&l, &L.v[2]));	/* root vs root@x */
	addr_list_free(&L);
	CHECK_STR(l.v[0].domain, "Example.ORG");	/* a deep copy survives */

	memset(&probe, 0, sizeof probe);
	probe.local = (char *)"root";
	CHECK(addr_list_contains(&l, &probe));
	addr_list_free(&l);
	CHECK(l.v == NULL && l.n == 0);
	addr_free(NULL);
	addr_list_free(NULL);
}

int main(void)
{
	test_rfc5322_a1();
	test_rfc5322_a2_a4();
	test_rfc5322_a5();
	test_rfc5322_a6();
	test_hard();
	test_quoted_local();
	test_unqualified();
	test_qualify_in_place();
	test_utf8();
	test_lengths();
	test_errors();
	test_all_or_nothing();
	test_sender();
	test_helpers();
	addr_list_free(&L);
	printf("test_address: %u inputs parsed\n", ncases);
	return check_summary("test_address");
}
