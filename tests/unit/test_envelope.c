/* Unit tests for spool/spool_envelope.c: the text form and its strict parser. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "spool_envelope.h"

/* Parse every line of text into e; returns the first non-zero result. */
static int parse_all(struct envelope *e, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		int r = envelope_parse_line(e, p, n, err, errlen);

		if (r != 0)
			return r;
		p += n + (nl ? 1 : 0);
	}
	return 0;
}

/* One malformed line after a valid prefix: expect -1 and a reason. */
static void bad(const char *text, const char *why)
{
	struct envelope e;
	char err[256] = "";
	int r;

	envelope_init(&e);
	r = parse_all(&e, text, err, sizeof(err));
	if (r != -1)
		fprintf(stderr, "expected -1 for %s (%s), got %d\n", text, why, r);
	CHECK_INT(r, -1);
	CHECK(err[0] != '\0');
	envelope_free(&e);
}

static void test_round_trip(void)
{
	struct envelope e, f;
	struct buf b;
	char err[256];

	envelope_init(&e);
	e.sender = xstrdup("alice@example.org");
	CHECK_INT(envelope_add_rcpt(&e, "bob@example.org", "bob"), 1);
	CHECK_INT(envelope_add_rcpt(&e, "carol@example.net", NULL), 1);
	CHECK_INT(envelope_add_rcpt(&e, "bob@EXAMPLE.ORG", NULL), 0);
	CHECK_INT(envelope_add_rcpt(&e, "Bob@example.org", NULL), 1);
	CHECK_INT(envelope_add_rcpt(&e, "\"a b\"@ex.org", NULL), 1);
	CHECK_INT(envelope_add_rcpt(&e, "bad<x>@ex.org", NULL), -1);
	CHECK_INT(envelope_add_rcpt(&e, "", NULL), -1);
	CHECK_INT(e.nrcpts, 4);
	e.notify = NOTIFY_SUCCESS | NOTIFY_DELAY;
	e.ret = RET_HDRS;
	e.envid = xstrdup("QQ123+abc");
	e.body_8bit = true;
	e.smtputf8 = true;
	e.local_sender = true;
	e.claimed_uid = 1000;
	CHECK(envelope_check(&e) == NULL);

	buf_init(&b, 1 << 20);
	CHECK_INT(envelope_write(&b, &e), 0);
	CHECK_STR(b.data, "sender <alice@example.org>\n"
			  "rcpt <bob@example.org>\n"
			  "orcpt <bob>\n"
			  "rcpt <carol@example.net>\n"
			  "rcpt <Bob@example.org>\n"
			  "rcpt <\"a b\"@ex.org>\n"
			  "notify SUCCESS,DELAY\n"
			  "ret HDRS\n"
			  "envid QQ123+abc\n"
			  "body 8BITMIME\n"
			  "smtputf8\n"
			  "local-sender\n"
			  "claimed-uid 1000\n");

	envelope_init(&f);
	CHECK_INT(parse_all(&f, b.data, err, sizeof(err)), 0);
	CHECK_STR(f.sender, "alice@example.org");
	CHECK_INT(f.nrcpts, 4);
	CHECK_STR(f.rcpts[0].addr, "bob@example.org");
	CHECK_STR(f.rcpts[0].orcpt, "bob");
	CHECK(f.rcpts[1].orcpt == NULL);
	CHECK_STR(f.rcpts[3].addr, "\"a b\"@ex.org");
	CHECK_INT(f.notify, NOTIFY_SUCCESS | NOTIFY_DELAY);
	CHECK_INT(f.ret, RET_HDRS);
	CHECK_STR(f.envid, "QQ123+abc");
	CHECK(f.body_8bit && f.smtputf8 && f.local_sender);
	CHECK_INT(f.claimed_uid, 1000);

	/* And written again, byte for byte. */
	{
		struct buf b2;

		buf_init(&b2, 1 << 20);
		CHECK_INT(envelope_write(&b2, &f), 0);
		CHECK_STR(b2.data, b.data);
		buf_free(&b2);
	}
	buf_free(&b);
	envelope_free(&e);
	envelope_free(&f);
	CHECK(f.sender == NULL && f.nrcpts == 0 && f.claimed_uid == -1);
}

static void test_minimal(void)
{
	struct envelope e;
	struct buf b;
	char err[256];

	envelope_init(&e);
	e.sender = xstrdup("");
	CHECK_INT(envelope_add_rcpt(&e, "x@y", NULL), 1);
	e.notify = NOTIFY_NEVER;
	buf_init(&b, 4096);
	CHECK_INT(envelope_write(&b, &e), 0);
	CHECK_STR(b.data, "sender <>\nrcpt <x@y>\nnotify NEVER\nbody 7BIT\n");
	envelope_free(&e);
	envelope_init(&e);
	CHECK_INT(parse_all(&e, b.data, err, sizeof(err)), 0);
	CHECK_STR(e.sender, "");
	CHECK_INT(e.notify, NOTIFY_NEVER);
	CHECK(!e.body_8bit);
	CHECK_INT(e.ret, RET_UNSET);
	CHECK(e.envid == NULL);
	envelope_free(&e);
	buf_free(&b);

	/* A buffer too small is reported, not truncated silently. */
	envelope_init(&e);
	e.sender = xstrdup("someone@example.org");
	CHECK_INT(envelope_add_rcpt(&e, "x@y", NULL), 1);
	buf_init(&b, 10);
	CHECK_INT(envelope_write(&b, &e), -1);
	buf_free(&b);
	envelope_free(&e);
}

static void test_check(void)
{
	struct envelope e;

	envelope_init(&e);
	CHECK(envelope_check(&e) != NULL);	/* no sender */
	e.sender = xstrdup("");
	CHECK(envelope_check(&e) != NULL);	/* no rcpt */
	CHECK_INT(envelope_add_rcpt(&e, "a@b", NULL), 1);
	CHECK(envelope_check(&e) == NULL);
	e.envid = xstrdup("has space");
	CHECK(envelope_check(&e) != NULL);
	envelope_free(&e);
}

static void test_addr_ok(void)
{
	char big[1200];

	CHECK(envelope_addr_ok("a@b"));
	CHECK(envelope_addr_ok("j\xc3\xb6rg@example.org"));
	CHECK(envelope_addr_ok("\"john doe\"@example.org"));
	CHECK(!envelope_addr_ok(""));
	CHECK(!envelope_addr_ok(NULL));
	CHECK(!envelope_addr_ok("a<b@c"));
	CHECK(!envelope_addr_ok("a>b@c"));
	CHECK(!envelope_addr_ok("a\rb@c"));
	CHECK(!envelope_addr_ok("a\nb@c"));
	CHECK(!envelope_addr_ok("a\tb@c"));
	CHECK(!envelope_addr_ok("a\x01@c"));
	CHECK(!envelope_addr_ok("a\x7f@c"));
	memset(big, 'a', 998);
	big[998] = '\0';
	CHECK(envelope_addr_ok(big));
	big[998] = 'a';
	big[999] = '\0';
	CHECK(!envelope_addr_ok(big));

	CHECK(envelope_envid_ok("abc"));
	CHECK(!envelope_envid_ok(""));
	CHECK(!envelope_envid_ok("a b"));
	CHECK(!envelope_envid_ok("\xc3\xb6"));
	memset(big, 'x', 101);
	big[101] = '\0';
	CHECK(!envelope_envid_ok(big));
	big[100] = '\0';
	CHECK(envelope_envid_ok(big));
}

static void test_notify(void)
{
	unsigned n = 0;

	CHECK_INT(envelope_parse_notify("never", &n), 0);
	CHECK_INT(n, NOTIFY_NEVER);
	CHECK_INT(envelope_parse_notify("NEVER", &n), 0);
	CHECK_INT(envelope_parse_notify("success,failure,delay", &n), 0);
	CHECK_INT(n, NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY);
	CHECK_INT(envelope_parse_notify("Failure", &n), 0);
	CHECK_INT(n, NOTIFY_FAILURE);
	CHECK_INT(envelope_parse_notify("never,success", &n), -1);
	CHECK_INT(envelope_parse_notify("success,never", &n), -1);
	CHECK_INT(envelope_parse_notify("", &n), -1);
	CHECK_INT(envelope_parse_notify("success,", &n), -1);
	CHECK_INT(envelope_parse_notify(",success", &n), -1);
	CHECK_INT(envelope_parse_notify("success,,delay", &n), -1);
	CHECK_INT(envelope_parse_notify("sometimes", &n), -1);
	CHECK_INT(envelope_parse_notify("success failure", &n), -1);
}

static void test_malformed(void)
{
	struct envelope e;
	char err[256];

	/* Unknown keyword: 1, not an error of ours. */
	envelope_init(&e);
	CHECK_INT(envelope_parse_line(&e, "frobnicate 1", 12, err, sizeof(err)), 1);
	CHECK_INT(envelope_parse_line(&e, "Sender <a@b>", 12, err, sizeof(err)), 1);
	envelope_free(&e);

	bad("sender a@b", "no brackets");
	bad("sender <a@b", "no closing bracket");
	bad("sender", "no value");
	bad("sender <a@b> ", "trailing space");
	bad("sender  <a@b>", "two spaces");
	bad("sender <a<b>", "bracket inside");
	bad("sender <a\tb>", "tab inside");
	bad("sender <a@b>\nsender <c@d>", "sender twice");
	bad("rcpt <>", "empty rcpt");
	bad("rcpt a@b", "rcpt without brackets");
	bad("rcpt <a@b>\nrcpt <a@B>", "duplicate rcpt");
	bad("rcpt <a\x01@b>", "control char");
	bad("orcpt <x>", "orcpt first");
	bad("sender <>\norcpt <x>", "orcpt after sender");
	bad("rcpt <a@b>\nbody 7BIT\norcpt <x>", "orcpt not right after rcpt");
	bad("rcpt <a@b>\norcpt <x>\norcpt <y>", "two orcpts");
	bad("rcpt <a@b>\norcpt <>", "empty orcpt");
	bad("notify", "notify no value");
	bad("notify NEVER,SUCCESS", "never mixed");
	bad("notify sometimes", "notify unknown");
	bad("notify NEVER\nnotify NEVER", "notify twice");
	bad("ret full", "ret lower case");
	bad("ret BOTH", "ret unknown");
	bad("ret FULL\nret HDRS", "ret twice");
	bad("envid a b", "envid space");
	bad("envid", "envid missing");
	bad("envid a\nenvid b", "envid twice");
	bad("body 8BIT", "body unknown");
	bad("body 7BIT\nbody 7BIT", "body twice");
	bad("smtputf8 yes", "flag with value");
	bad("smtputf8\nsmtputf8", "flag twice");
	bad("local-sender 1", "local-sender value");
	bad("local-sender\nlocal-sender", "local-sender twice");
	bad("claimed-uid", "uid missing");
	bad("claimed-uid -1", "uid negative");
	bad("claimed-uid 12x", "uid junk");
	bad("claimed-uid +5", "uid plus");
	bad("claimed-uid 99999999999", "uid too big");
	bad("claimed-uid 1\nclaimed-uid 1", "uid twice");

	/* Empty, NUL-bearing and over-long lines. */
	envelope_init(&e);
	CHECK_INT(envelope_parse_line(&e, "", 0, err, sizeof(err)), -1);
	CHECK_INT(envelope_parse_line(&e, "rcpt <a\0b>", 10, err, sizeof(err)), -1);
	{
		char line[1100] = "rcpt <";

		memset(line + 6, 'a', 1000);
		line[1006] = '>';
		CHECK_INT(envelope_parse_line(&e, line, 1007, err, sizeof(err)), -1);
	}
	CHECK_INT(e.nrcpts, 0);
	envelope_free(&e);

	/* orcpt right after rcpt, with an unknown line in between: refused. */
	envelope_init(&e);
	CHECK_INT(envelope_parse_line(&e, "rcpt <a@b>", 10, err, sizeof(err)), 0);
	CHECK_INT(envelope_parse_line(&e, "x-state y", 9, err, sizeof(err)), 1);
	CHECK_INT(envelope_parse_line(&e, "orcpt <a>", 9, err, sizeof(err)), -1);
	envelope_free(&e);
}

static void test_cap(void)
{
	struct envelope e;
	char addr[64];
	int i, ok = 1;

	envelope_init(&e);
	for (i = 0; i < ENV_MAX_RCPTS; i++) {
		snprintf(addr, sizeof(addr), "u%d@example.org", i);
		if (envelope_add_rcpt(&e, addr, NULL) != 1)
			ok = 0;
	}
	CHECK(ok);
	CHECK_INT(envelope_add_rcpt(&e, "one-more@example.org", NULL), -1);
	CHECK_INT(envelope_add_rcpt(&e, "u1@EXAMPLE.org", NULL), 0);
	CHECK_INT(e.nrcpts, ENV_MAX_RCPTS);
	envelope_free(&e);
}

int main(void)
{
	test_round_trip();
	test_minimal();
	test_check();
	test_addr_ok();
	test_notify();
	test_malformed();
	test_cap();
	return check_summary("test_envelope");
}
