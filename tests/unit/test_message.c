/* Unit tests of spool/msg.h and spool/msg_qp.h: reading, fix-ups, MIME. */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "check.h"
#include "msg.h"
#include "msg_qp.h"
#include "util.h"

static int mem_write(void *ctx, const void *p, size_t n, char *err, size_t errlen)
{
	if (buf_append(ctx, p, n) != 0) {
		snprintf(err, errlen, "memory sink full");
		return EX_IOERR;
	}
	return 0;
}

/* A descriptor reading the n bytes of s. */
static int input_fd(const char *s, size_t n)
{
	int fd = memfd_create("input", 0);

	if (fd < 0 || io_write_all(fd, s, n) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		perror("memfd");
		exit(2);
	}
	return fd;
}

struct result {
	int rc;		/* of headers, then body */
	struct msg_headers h;
	struct buf hdr;		/* the header section as written */
	struct buf body;
	struct msg_body_info bi;
	bool done;
	char err[512];
};

static void run_limit(const char *s, size_t n, bool ignore_dots, uint64_t limit, struct result *r)
{
	int fd = input_fd(s, n);
	struct msg_in *in = msg_in_new(fd, ignore_dots);
	struct msg_sink hs = { mem_write, &r->hdr }, bs = { mem_write, &r->body };
	uint64_t hb = 0;

	memset(r, 0, sizeof(*r));
	msg_headers_init(&r->h);
	buf_init(&r->hdr, 4 << 20);
	buf_init(&r->body, 64 << 20);
	r->rc = msg_read_headers(in, &r->h, r->err, sizeof(r->err));
	if (r->rc == 0)
		r->rc = msg_write_headers(&r->h, &hs, &hb, r->err, sizeof(r->err));
	if (r->rc == 0)
		r->rc = msg_copy_body(in, &bs, hb, limit, &r->bi, r->err, sizeof(r->err));
	r->done = msg_in_done(in);
	msg_in_free(in);
	close(fd);
}

static void run(const char *s, bool ignore_dots, struct result *r)
{
	run_limit(s, strlen(s), ignore_dots, 0, r);
}

static const char *str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

static void result_free(struct result *r)
{
	msg_headers_free(&r->h);
	buf_free(&r->hdr);
	buf_free(&r->body);
}

/* The header section after fix-ups, as text. */
static char *fixed(const char *input, const struct msg_fix *fx)
{
	struct result r;
	struct buf out;
	struct msg_sink sink = { mem_write, &out };
	char err[256];
	uint64_t hb;
	char *s;

	run(input, true, &r);
	buf_init(&out, 4 << 20);
	if (r.rc != 0 || msg_fixup(&r.h, fx, err, sizeof(err)) != 0 ||
	    msg_write_headers(&r.h, &sink, &hb, err, sizeof(err)) != 0)
		s = xstrdup("ERROR");
	else
		s = xstrdup(str(&out));
	buf_free(&out);
	result_free(&r);
	return s;
}

static void test_line_endings(void)
{
	struct result r;

	run("Subject: a\n\nLF line\n", false, &r);
	CHECK_INT(r.rc, 0);
	CHECK_STR(str(&r.hdr), "Subject: a\n\n");
	CHECK_STR(str(&r.body), "LF line\n");
	result_free(&r);

	run("Subject: a\r\n\r\nCRLF line\r\nsecond\r\n", false, &r);
	CHECK_STR(str(&r.hdr), "Subject: a\n\n");
	CHECK_STR(str(&r.body), "CRLF line\nsecond\n");
	CHECK(!r.bi.bare_cr);
	result_free(&r);

	run("Subject: a\r\nX-B: b\n\r\none\ntwo\r\nthree", false, &r);
	CHECK_STR(str(&r.hdr), "Subject: a\nX-B: b\n\n");
	CHECK_STR(str(&r.body), "one\ntwo\nthree\n");
	CHECK_INT(r.bi.lines, 3);
	result_free(&r);

	/* A bare CR is data, and flagged. */
	run("Subject: a\n\nbare\rCR\r\nend\n", false, &r);
	CHECK_STR(str(&r.body), "bare\rCR\nend\n");
	CHECK(r.bi.bare_cr);
	CHECK_INT(r.bi.first, MSG_BARE_CR);
	CHECK_INT(r.bi.first_line, 3);
	result_free(&r);

	/* CR at the very end counts as a line ending. */
	run("Subject: a\n\nlast\r", false, &r);
	CHECK_STR(str(&r.body), "last\n");
	CHECK(!r.bi.bare_cr);
	result_free(&r);

	/* CR CR LF: one bare CR, then the line ending. */
	run("Subject: a\n\nx\r\r\n", false, &r);
	CHECK_STR(str(&r.body), "x\r\n");
	CHECK(r.bi.bare_cr);
	result_free(&r);

	/* No final newline: one is added. */
	run("Subject: a\n\nno newline", false, &r);
	CHECK_STR(str(&r.body), "no newline\n");
	result_free(&r);

	/* Empty input. */
	run("", false, &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.h.n, 0);
	CHECK_STR(str(&r.body), "");
	result_free(&r);
}

static void test_dots(void)
{
	struct result r;

	run("Subject: a\n\nbefore\n.\nafter\n", false, &r);
	CHECK_STR(str(&r.body), "before\n");
	CHECK(r.done);
	result_free(&r);

	run("Subject: a\n\nbefore\r\n.\r\nafter\n", false, &r);
	CHECK_STR(str(&r.body), "before\n");
	result_free(&r);

	run("Subject: a\n\nbefore\n.\nafter\n", true, &r);
	CHECK_STR(str(&r.body), "before\n.\nafter\n");
	result_free(&r);

	/* ".." is never unstuffed; ". x" and ".x" are ordinary. */
	run("Subject: a\n\n..\n.x\n. \n..\n", false, &r);
	CHECK_STR(str(&r.body), "..\n.x\n. \n..\n");
	result_free(&r);

	/* A lone dot in the header section ends the message. */
	run("Subject: a\n.\nX-Not: read\n\nbody\n", false, &r);
	CHECK_INT(r.h.n, 1);
	CHECK_STR(str(&r.body), "");
	result_free(&r);

	/* The rest of the input is not read: a dot deep in a long body. */
	{
		struct buf in;

		buf_init(&in, 8 << 20);
		buf_appends(&in, "Subject: a\n\n");
		for (int i = 0; i < 20000; i++)
			buf_appends(&in, "0123456789012345678901234567890123456789\n");
		buf_appends(&in, ".\nafter\n");
		run(in.data, false, &r);
		CHECK_INT(r.bi.bytes, 20000 * 41);
		CHECK(strstr(str(&r.body), "after") == NULL);
		result_free(&r);
		buf_free(&in);
	}
}

static void test_from_line_and_headers(void)
{
	struct result r;

	run("From root@x Sun Nov 22 12:00:00 2026\nSubject: a\n\nb\n", false, &r);
	CHECK(r.h.from_line_dropped);
	CHECK_STR(str(&r.hdr), "Subject: a\n\n");
	result_free(&r);

	/* Only the first line; "From:" is a header. */
	run("From: a@x\nFrom b\n\nb\n", false, &r);
	CHECK(!r.h.from_line_dropped);
	CHECK_INT(r.h.n, 1);
	CHECK_STR(str(&r.body), "From b\n\nb\n");
	result_free(&r);

	/* Continuation lines stay with their field. */
	run("To: a@x,\n\tb@x\nSubject: s\n\nb\n", false, &r);
	CHECK_INT(r.h.n, 2);
	CHECK_STR(r.h.v[0].text, "To: a@x,\n\tb@x\n");
	result_free(&r);

	/* A line that is not a header starts the body; the blank line is added. */
	run("Subject: a\nthis is text\nmore\n", false, &r);
	CHECK_INT(r.h.n, 1);
	CHECK_STR(str(&r.hdr), "Subject: a\n\n");
	CHECK_STR(str(&r.body), "this is text\nmore\n");
	result_free(&r);

	run("just a body\n", false, &r);
	CHECK_INT(r.h.n, 0);
	CHECK_STR(str(&r.body), "just a body\n");
	result_free(&r);

	/* Header line limits. */
	{
		char line[1200];

		memcpy(line, "X-Long: ", 8);
		memset(line + 8, 'a', 990);	/* 998 octets */
		memcpy(line + 998, "\n\nb\n", 5);
		run(line, false, &r);
		CHECK_INT(r.rc, 0);
		result_free(&r);

		/* 999 octets: read as it is; msg_fixup folds or refuses it. */
		memset(line + 8, 'a', 991);
		memcpy(line + 999, "\n\nb\n", 5);
		run(line, false, &r);
		CHECK_INT(r.rc, 0);
		CHECK_INT(r.h.n, 1);
		CHECK_INT(r.h.v[0].len, 1000);
		result_free(&r);
	}
	run("Subject: a\0b\n\nb\n", false, &r);	/* strlen stops at the NUL */
	result_free(&r);
	run_limit("Subject: a\0b\n\nb\n", 16, false, 0, &r);
	CHECK_INT(r.rc, EX_DATAERR);
	CHECK(strstr(r.err, "NUL") != NULL);
	result_free(&r);
	run("Subject: a\rb\n\nb\n", false, &r);
	CHECK_INT(r.rc, EX_DATAERR);
	CHECK(strstr(r.err, "bare CR") != NULL);
	result_free(&r);

	/* The header section is capped. */
	{
		struct buf in;

		buf_init(&in, 4 << 20);
		for (int i = 0; i < 20000; i++)
			buf_appendf(&in, "X-Filler-%05d: %s\n", i,
			    "..................................................");
		buf_appends(&in, "\nbody\n");
		run(in.data, false, &r);
		CHECK_INT(r.rc, EX_DATAERR);
		CHECK(strstr(r.err, "header section too large") != NULL);
		result_free(&r);
		buf_free(&in);
	}
}

static void test_fixups(void)
{
	struct msg_fix fx = {
		.default_domain = "example.org",
		.hostname = "host.example.org",
		.date = "Sun, 22 Nov 2026 12:00:00 +0000",
		.msgid = "<1.ID@host.example.org>",
		.from = "Cron Daemon <root@example.org>",
	};
	char *s;

	s = fixed("Subject: s\n", &fx);
	CHECK_STR(s, "Subject: s\nFrom: Cron Daemon <root@example.org>\n"
		     "Message-ID: <1.ID@host.example.org>\nDate: Sun, 22 Nov 2026 12:00:00 +0000\n\n");
	free(s);

	/* Present (any case): not added again. */
	s = fixed("date: x\nMESSAGE-ID: <y@z>\nfrom: a@b.c\n", &fx);
	CHECK_STR(s, "date: x\nMESSAGE-ID: <y@z>\nfrom: a@b.c\n\n");
	free(s);

	/* Resent-*: the Resent- variants, before the existing block. */
	s = fixed("From: a@b.c\nDate: d\nMessage-ID: <m@b.c>\nResent-To: x@y.z\n", &fx);
	CHECK_STR(s, "From: a@b.c\nDate: d\nMessage-ID: <m@b.c>\n"
		     "Resent-From: Cron Daemon <root@example.org>\n"
		     "Resent-Message-ID: <1.ID@host.example.org>\n"
		     "Resent-Date: Sun, 22 Nov 2026 12:00:00 +0000\nResent-To: x@y.z\n\n");
	free(s);
	s = fixed("Resent-Date: d\nResent-From: r@b.c\nResent-Message-ID: <r@b.c>\nFrom: a@b.c\n"
		  "Date: d\nMessage-ID: <m@b.c>\n", &fx);
	CHECK_STR(s, "Resent-Date: d\nResent-From: r@b.c\nResent-Message-ID: <r@b.c>\nFrom: a@b.c\n"
		     "Date: d\nMessage-ID: <m@b.c>\n\n");
	free(s);

	/* Resent-* without From/Date/Message-ID: the plain ones are added too
	 * (at the end), the Resent- ones before the block, none twice. */
	s = fixed("Resent-To: x@y.z\nSubject: s\n", &fx);
	CHECK_STR(s, "Resent-From: Cron Daemon <root@example.org>\n"
		     "Resent-Message-ID: <1.ID@host.example.org>\n"
		     "Resent-Date: Sun, 22 Nov 2026 12:00:00 +0000\n"
		     "Resent-To: x@y.z\nSubject: s\n"
		     "From: Cron Daemon <root@example.org>\n"
		     "Message-ID: <1.ID@host.example.org>\n"
		     "Date: Sun, 22 Nov 2026 12:00:00 +0000\n\n");
	free(s);
	/* Some of each present: only the missing ones. */
	s = fixed("Resent-From: r@b.c\nResent-To: x@y.z\nFrom: a@b.c\nSubject: s\n", &fx);
	CHECK_STR(s, "Resent-Message-ID: <1.ID@host.example.org>\n"
		     "Resent-Date: Sun, 22 Nov 2026 12:00:00 +0000\n"
		     "Resent-From: r@b.c\nResent-To: x@y.z\nFrom: a@b.c\nSubject: s\n"
		     "Message-ID: <1.ID@host.example.org>\n"
		     "Date: Sun, 22 Nov 2026 12:00:00 +0000\n\n");
	free(s);
	s = fixed("resent-date: d\nResent-Message-ID: <r@b.c>\ndate: e\nResent-To: x@y.z\n", &fx);
	CHECK_STR(s, "Resent-From: Cron Daemon <root@example.org>\n"
		     "resent-date: d\nResent-Message-ID: <r@b.c>\ndate: e\nResent-To: x@y.z\n"
		     "From: Cron Daemon <root@example.org>\n"
		     "Message-ID: <1.ID@host.example.org>\n\n");
	free(s);
	/* A Resent-Bcc alone (removed) still makes it a resend. */
	s = fixed("Resent-Bcc: r@y.z\nSubject: s\n", &fx);
	CHECK_STR(s, "Subject: s\n"
		     "Resent-From: Cron Daemon <root@example.org>\n"
		     "Resent-Message-ID: <1.ID@host.example.org>\n"
		     "Resent-Date: Sun, 22 Nov 2026 12:00:00 +0000\n"
		     "From: Cron Daemon <root@example.org>\n"
		     "Message-ID: <1.ID@host.example.org>\n"
		     "Date: Sun, 22 Nov 2026 12:00:00 +0000\n\n");
	free(s);

	/* Removed with their continuation lines, every occurrence. */
	s = fixed("From: a@b.c\nBcc: x@y.z,\n  w@y.z\nSubject: s\nbcc: q@y.z\nResent-Bcc: r@y.z\n"
		  "Return-Path: <a@b.c>\nContent-Length: 12\nDate: d\nMessage-ID: <m@b.c>\n", &fx);
	CHECK_STR(s, "From: a@b.c\nSubject: s\nDate: d\nMessage-ID: <m@b.c>\n"
		     "Resent-From: Cron Daemon <root@example.org>\n"
		     "Resent-Message-ID: <1.ID@host.example.org>\n"
		     "Resent-Date: Sun, 22 Nov 2026 12:00:00 +0000\n\n");
	free(s);

	/* Qualification in place, text otherwise byte-identical. */
	s = fixed("From: root\nTo: Alice <alice>, bob@x.org,  carol (the boss)\n"
		  "Cc: \"Ops Team\" <ops>,\n\tdave\nSubject: root\nDate: d\nMessage-ID: <m@b.c>\n", &fx);
	CHECK_STR(s, "From: root@example.org\n"
		     "To: Alice <alice@example.org>, bob@x.org,  carol@example.org (the boss)\n"
		     "Cc: \"Ops Team\" <ops@example.org>,\n\tdave@example.org\nSubject: root\n"
		     "Date: d\nMessage-ID: <m@b.c>\n\n");
	free(s);

	/* Unparseable: left alone. */
	s = fixed("To: <<broken\nFrom: a@b.c\nDate: d\nMessage-ID: <m@b.c>\n", &fx);
	CHECK_STR(s, "To: <<broken\nFrom: a@b.c\nDate: d\nMessage-ID: <m@b.c>\n\n");
	free(s);

	/* from_rewrite replaces local From: addresses only. */
	fx.from_rewrite = "alerts@example.org";
	s = fixed("From: Charlie Root <root>\nTo: root\nDate: d\nMessage-ID: <m@b.c>\n", &fx);
	CHECK_STR(s, "From: Charlie Root <alerts@example.org>\nTo: root@example.org\n"
		     "Date: d\nMessage-ID: <m@b.c>\n\n");
	free(s);
	s = fixed("From: root@host.example.org\nDate: d\nMessage-ID: <m@b.c>\n", &fx);
	CHECK_STR(s, "From: alerts@example.org\nDate: d\nMessage-ID: <m@b.c>\n\n");
	free(s);
	s = fixed("From: Al <al@gmail.com>\nDate: d\nMessage-ID: <m@b.c>\n", &fx);
	CHECK_STR(s, "From: Al <al@gmail.com>\nDate: d\nMessage-ID: <m@b.c>\n\n");
	free(s);
}

/* msg_fixup's code and the header section it leaves (or "" on an error). */
static int fixed_rc(const char *input, const struct msg_fix *fx, char **out, char *err,
    size_t errlen)
{
	struct result r;
	struct buf b;
	struct msg_sink sink = { mem_write, &b };
	uint64_t hb;
	int rc;

	run(input, true, &r);
	buf_init(&b, 4 << 20);
	err[0] = '\0';
	rc = r.rc != 0 ? r.rc : msg_fixup(&r.h, fx, err, errlen);
	if (rc == 0)
		rc = msg_write_headers(&r.h, &sink, &hb, err, errlen);
	*out = xstrdup(rc == 0 ? str(&b) : "");
	buf_free(&b);
	result_free(&r);
	return rc;
}

/* The longest line of s, without its LF. */
static size_t longest_line(const char *s)
{
	size_t best = 0, n;

	for (; *s != '\0'; s += n + (s[n] == '\n')) {
		n = strcspn(s, "\n");
		if (n > best)
			best = n;
	}
	return best;
}

/* s with every fold (LF followed by a blank) undone, RFC 5322 §2.2.3. */
static char *unfold(const char *s)
{
	char *u = xstrdup(s), *w = u;

	for (; *s != '\0'; s++)
		if (!(s[0] == '\n' && (s[1] == ' ' || s[1] == '\t')))
			*w++ = *s;
	*w = '\0';
	return u;
}

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static const struct msg_fix fold_fx = {
	.default_domain = "example.org",
	.hostname = "host.example.org",
	.date = "d",
	.msgid = "<m@b.c>",
	.from = "f@b.c",
};

/* Qualifying in place never makes a line over 998 octets (fuzz_message-1). */
static void test_fold_qualify(void)
{
	char err[512], *in, *out, *want, *u, *a;
	int rc;

	/* The reproducer: one bare name that is too long by itself. */
	a = repeat('a', 994);
	in = xasprintf("To: %s\n\nbody\n", a);
	rc = fixed_rc(in, &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, EX_DATAERR);
	CHECK(strstr(err, "address in To: too long to qualify") != NULL);
	free(out);
	free(in);
	free(a);

	/* A long name after another address: folded between them. */
	a = repeat('b', 980);
	in = xasprintf("From: f@b.c\nTo: root, %s\nDate: d\nMessage-ID: <m@b.c>\n\n", a);
	rc = fixed_rc(in, &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	want = xasprintf("From: f@b.c\nTo: root@example.org,\n %s@example.org\nDate: d\n"
			 "Message-ID: <m@b.c>\n\n", a);
	CHECK_STR(out, want);
	CHECK(longest_line(out) <= MSG_LINE_MAX);
	free(want);
	free(out);
	free(in);

	/* A quoted name touching its <address>: a blank is inserted there. */
	in = xasprintf("From: f@b.c\nTo: \"%.*s\"<root>\nDate: d\nMessage-ID: <m@b.c>\n\n", 985,
	    a);
	rc = fixed_rc(in, &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	want = xasprintf("From: f@b.c\nTo: \"%.*s\"\n <root@example.org>\nDate: d\n"
			 "Message-ID: <m@b.c>\n\n", 985, a);
	CHECK_STR(out, want);
	free(want);
	free(out);
	free(in);
	free(a);

	/* A short line made longer than 78: folded between addresses to 78,
	 * and unfolding gives exactly the qualified text. */
	rc = fixed_rc("From: f@b.c\nTo: alpha, beta, gamma, delta, epsilon, zeta\nDate: d\n"
		      "Message-ID: <m@b.c>\n\n", &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK_STR(out, "From: f@b.c\nTo: alpha@example.org, beta@example.org, gamma@example.org, "
		       "delta@example.org,\n epsilon@example.org, zeta@example.org\nDate: d\n"
		       "Message-ID: <m@b.c>\n\n");
	CHECK(longest_line(out) <= 78);
	u = unfold(out);
	CHECK_STR(u, "From: f@b.c\nTo: alpha@example.org, beta@example.org, gamma@example.org, "
		     "delta@example.org, epsilon@example.org, zeta@example.org\nDate: d\n"
		     "Message-ID: <m@b.c>\n\n");
	free(u);
	free(out);

	/* No blank after the commas: "\n " goes after one. */
	rc = fixed_rc("To: alpha,beta,gamma,delta,epsilon,zeta\n", &fold_fx, &out, err,
	    sizeof(err));
	CHECK_INT(rc, 0);
	CHECK_STR(out, "To: alpha@example.org,beta@example.org,gamma@example.org,"
		       "delta@example.org,\n epsilon@example.org,zeta@example.org\n"
		       "From: f@b.c\nMessage-ID: <m@b.c>\nDate: d\n\n");
	CHECK(longest_line(out) <= 78);
	free(out);

	/* A line already over 78 is only folded where 998 needs it, and a
	 * continuation line keeps its own shape. */
	a = repeat('c', 70);
	in = xasprintf("To: %s@x.org, root\nCc: x@y.org,\n\tdave, %s@x.org\n", a, a);
	rc = fixed_rc(in, &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	want = xasprintf("To: %s@x.org, root@example.org\nCc: x@y.org,\n\tdave@example.org, "
			 "%s@x.org\n", a, a);
	CHECK(strncmp(out, want, strlen(want)) == 0);
	free(want);
	free(out);
	free(in);
	free(a);

	/* Ordinary headers: byte-identical apart from "@domain". */
	rc = fixed_rc("From: Cron Daemon <root>\nTo: root, Bob <bob> (ops),\n \"A B\" <ab>\n"
		      "Cc: (nobody)\nDate: d\nMessage-ID: <m@b.c>\n\n", &fold_fx, &out, err,
	    sizeof(err));
	CHECK_INT(rc, 0);
	CHECK_STR(out, "From: Cron Daemon <root@example.org>\n"
		       "To: root@example.org, Bob <bob@example.org> (ops),\n"
		       " \"A B\" <ab@example.org>\nCc: (nobody)\nDate: d\nMessage-ID: <m@b.c>\n\n");
	free(out);
}

/* from_rewrite folds the field it rebuilds (fuzz_message-2). */
static void test_fold_rewrite(void)
{
	struct msg_fix fx = fold_fx;
	struct buf in, want;
	char err[512], *out, *u, *a, *line;
	int rc;

	/* The reproducer: a folded From: of 60 local mailboxes. */
	fx.from_rewrite = "alerts@example.org";
	buf_init(&in, 1 << 20);
	buf_init(&want, 1 << 20);
	buf_appends(&in, "From: ");
	buf_appends(&want, "From: ");
	for (int k = 0; k < 60; k++) {
		buf_appendf(&in, "%sSome Person%d <root%d>", k > 0 ? ",\n " : "", k, k);
		buf_appendf(&want, "%sSome Person%d <alerts@example.org>", k > 0 ? ", " : "", k);
	}
	buf_appends(&in, "\n\nbody\n");
	buf_appends(&want, "\nMessage-ID: <m@b.c>\nDate: d\n\n");
	rc = fixed_rc(str(&in), &fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(longest_line(out) <= 78);
	u = unfold(out);
	CHECK_STR(u, str(&want));
	free(u);
	/* Folded only between mailboxes: every From: line but the last ends
	 * in a comma. */
	for (line = out; strncmp(line, "Message-ID:", 11) != 0; line = strchr(line, '\n') + 1) {
		size_t n = strcspn(line, "\n");

		CHECK(line[n] == '\n');
		if (strncmp(line + n + 1, "Message-ID:", 11) != 0)
			CHECK(line[n - 1] == ',');
		else
			CHECK(line[n - 1] == '>');
	}
	free(out);
	buf_free(&in);
	buf_free(&want);

	/* A long non-ASCII name: encoded words of at most 75 characters, one
	 * per line. */
	a = xmalloc(2 * 300 + 1);
	for (int k = 0; k < 300; k++)
		memcpy(a + 2 * k, "\xc3\xa9", 2);
	a[600] = '\0';
	line = xasprintf("From: %s <root>\nDate: d\nMessage-ID: <m@b.c>\n", a);
	rc = fixed_rc(line, &fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(longest_line(out) <= 78);
	CHECK(strstr(out, "?=\n =?utf-8?Q?") != NULL);
	CHECK(strstr(out, "?=\n <alerts@example.org>\n") != NULL);
	free(out);
	free(line);
	free(a);

	/* A mailbox whose <address> alone passes 998 octets once rebuilt
	 * on one line (a quoted local part is not folded inside <>):
	 * refused, never cut. */
	a = repeat('q', 494);
	line = xasprintf("From: root,\n Bob <\"%s\n %s\"@g.cc>\n", a, a);
	rc = fixed_rc(line, &fx, &out, err, sizeof(err));
	CHECK_INT(rc, EX_DATAERR);
	CHECK(strstr(err, "address in From: too long to rewrite") != NULL);
	free(out);
	free(line);
	free(a);

	/* Short: one line, as before. */
	rc = fixed_rc("From: Charlie Root <root>, al@gmail.com\nDate: d\nMessage-ID: <m@b.c>\n",
	    &fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK_STR(out, "From: Charlie Root <alerts@example.org>, al@gmail.com\nDate: d\n"
		       "Message-ID: <m@b.c>\n\n");
	free(out);
}

/* A header line over 998 octets as written (issue 8): folded before white
 * space already there, unfolding to the same text; refused only without
 * white space to fold at. */
static void test_fold_long(void)
{
	char err[512], *in, *out, *u, *a, *b;
	int rc;

	/* A Subject of 1190 octets with blanks: folded, nothing else changed. */
	a = repeat('s', 600);
	b = repeat('t', 580);
	in = xasprintf("Subject: %s %s\nX-Com: (a, b,c) %s %s\n\nbody\n", a, b, a, b);
	rc = fixed_rc(in, &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(longest_line(out) <= 998);
	u = unfold(out);
	/* The caller's fields exactly, then the added ones. */
	CHECK(strncmp(u, in, strlen(in) - strlen("\nbody\n")) == 0);
	free(u);
	free(out);
	free(in);

	/* A long To: list without a blank after its commas: folded only at
	 * existing blanks, never by inserting one (no byte is added). */
	{
		struct buf l;

		buf_init(&l, 1 << 20);
		buf_appends(&l, "To: ");
		for (int i = 0; i < 80; i++)
			buf_appendf(&l, "%suser%02d@example.org", i == 0 ? "" : i % 10 ? "," : ", ", i);
		buf_appends(&l, "\n\nbody\n");
		rc = fixed_rc(l.data, &fold_fx, &out, err, sizeof(err));
		CHECK_INT(rc, 0);
		CHECK(longest_line(out) <= 998);
		u = unfold(out);
		l.len -= strlen("\nbody\n");
		buf_appends(&l, "From: f@b.c\nMessage-ID: <m@b.c>\nDate: d\n\n");
		CHECK_STR(u, l.data);
		free(u);
		free(out);
		buf_free(&l);
	}

	/* A line longer than a read piece (64 KiB): read whole, folded. */
	{
		struct buf l;

		buf_init(&l, 1 << 20);
		buf_appends(&l, "X-Huge:");
		for (int i = 0; i < 20000; i++)
			buf_appendf(&l, " w%04d", i % 10000);
		buf_appends(&l, "\n\nbody\n");
		rc = fixed_rc(l.data, &fold_fx, &out, err, sizeof(err));
		CHECK_INT(rc, 0);
		CHECK(longest_line(out) <= 998);
		u = unfold(out);
		CHECK(strncmp(u, l.data, l.len - strlen("\nbody\n")) == 0);
		free(u);
		free(out);
		buf_free(&l);
	}

	/* Exactly 998 octets: untouched. */
	in = xasprintf("X-A: %s\n\nb\n", a = (free(a), repeat('x', 993)));
	rc = fixed_rc(in, &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(strncmp(out, in, 999) == 0);
	free(out);
	free(in);

	/* No white space to fold at: refused, naming the field. */
	free(a);
	a = repeat('y', 1200);
	in = xasprintf("Subject: ok\nX-Token: %s\n\nb\n", a);
	rc = fixed_rc(in, &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, EX_DATAERR);
	CHECK(strstr(err, "X-Token:") != NULL);
	CHECK(strstr(err, "1209 octets") != NULL);
	free(out);
	free(in);

	/* A Bcc: is removed before it could be refused. */
	in = xasprintf("Bcc: %s\nTo: r@x.y\n\nb\n", a);
	rc = fixed_rc(in, &fold_fx, &out, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "Bcc") == NULL);
	free(out);
	free(in);
	free(a);
	free(b);
}

static void test_mailbox(void)
{
	char *s;

	s = msg_mailbox("Cron Daemon", "root@x.org");
	CHECK_STR(s, "Cron Daemon <root@x.org>");
	free(s);
	s = msg_mailbox("Doe, John \"JD\"", "jd@x.org");
	CHECK_STR(s, "\"Doe, John \\\"JD\\\"\" <jd@x.org>");
	free(s);
	s = msg_mailbox("Jörg", "j@x.org");
	CHECK_STR(s, "=?utf-8?Q?J=C3=B6rg?= <j@x.org>");
	free(s);
	s = msg_mailbox("Jörg M_ü", "j@x.org");
	CHECK_STR(s, "=?utf-8?Q?J=C3=B6rg_M=5F=C3=BC?= <j@x.org>");
	free(s);
	/* Encoded words stay within RFC 2047's 75 characters, split between
	 * characters, so a long name can be folded. */
	{
		char name[2 * 25 + 1], want[512];

		for (int k = 0; k < 25; k++)
			memcpy(name + 2 * k, "\xc3\xa9", 2);
		name[50] = '\0';
		snprintf(want, sizeof(want), "=?utf-8?Q?%s?= =?utf-8?Q?%s?= =?utf-8?Q?%s?= <j@x.org>",
		    "=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9",
		    "=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9",
		    "=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9");
		s = msg_mailbox(name, "j@x.org");
		CHECK_STR(s, want);
		free(s);
	}
	s = msg_mailbox(NULL, "j@x.org");
	CHECK_STR(s, "j@x.org");
	free(s);
}

static void test_rcpts(void)
{
	struct result r;
	struct addrlist l = { 0 };
	char err[256];

	run("To: a@x.org, Bob <b@x.org>\nCc: c\nBcc: d@x.org\nSubject: s\n\nb\n", false, &r);
	CHECK_INT(msg_rcpts(&r.h, &l, err, sizeof(err)), 0);
	CHECK_INT(l.n, 4);
	if (l.n == 4) {
		CHECK_STR(l.v[1].local, "b");
		CHECK_STR(l.v[2].local, "c");
		CHECK(l.v[2].domain == NULL);
		CHECK_STR(l.v[3].local, "d");
	}
	addr_list_free(&l);
	result_free(&r);

	memset(&l, 0, sizeof(l));
	run("To: a@x.org\nResent-To: r@x.org\nResent-Bcc: s@x.org\n\nb\n", false, &r);
	CHECK_INT(msg_rcpts(&r.h, &l, err, sizeof(err)), 0);
	CHECK_INT(l.n, 2);
	if (l.n == 2) {
		CHECK_STR(l.v[0].local, "r");
		CHECK_STR(l.v[1].local, "s");
	}
	addr_list_free(&l);
	result_free(&r);

	memset(&l, 0, sizeof(l));
	run("To: a@x.org, <<bad\n\nb\n", false, &r);
	CHECK_INT(msg_rcpts(&r.h, &l, err, sizeof(err)), EX_DATAERR);
	CHECK(strstr(err, "To:") != NULL);
	addr_list_free(&l);
	result_free(&r);
}

static void long_line(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_append(b, "x", 1);
	buf_append(b, "\n", 1);
}

static void test_body_limits(void)
{
	struct result r;
	struct buf in;
	char err[512];

	buf_init(&in, 1 << 20);
	buf_appends(&in, "Subject: a\n\n");
	long_line(&in, 998);
	run(in.data, false, &r);
	CHECK(!r.bi.long_line);
	CHECK_INT(msg_reencode_needed(&r.h, &r.bi, err, sizeof(err)), 0);
	result_free(&r);

	buf_reset(&in);
	buf_appends(&in, "Subject: a\n\nshort\n");
	long_line(&in, 999);
	run(in.data, false, &r);
	CHECK(r.bi.long_line);
	CHECK_INT(r.bi.first_line, 4);
	CHECK_INT(msg_reencode_needed(&r.h, &r.bi, err, sizeof(err)), 1);
	result_free(&r);

	/* A line much longer than a read piece. */
	buf_reset(&in);
	buf_appends(&in, "Subject: a\n\n");
	long_line(&in, 200000);
	run(in.data, false, &r);
	CHECK(r.bi.long_line);
	CHECK_INT(r.bi.bytes, 200001);
	result_free(&r);

	/* CRLF does not count towards the 998. */
	buf_reset(&in);
	buf_appends(&in, "Subject: a\r\n\r\n");
	for (int i = 0; i < 998; i++)
		buf_append(&in, "y", 1);
	buf_appends(&in, "\r\n");
	run(in.data, false, &r);
	CHECK(!r.bi.long_line);
	result_free(&r);

	/* A body line in the header section, over 998: body, not an error. */
	buf_reset(&in);
	long_line(&in, 1500);
	run(in.data, false, &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.bi.bytes, 1501);
	CHECK(r.bi.long_line);
	CHECK_INT(r.bi.first_line, 1);
	result_free(&r);

	run_limit("Subject: a\n\nNUL\0here\n", 21, false, 0, &r);
	CHECK(r.bi.nul);
	CHECK_INT(r.bi.bytes, 9);
	CHECK_MEM(r.body.data, r.body.len, "NUL\0here\n", 9);
	CHECK_INT(msg_reencode_needed(&r.h, &r.bi, err, sizeof(err)), 1);
	result_free(&r);

	/* Multipart or already encoded: refused, saying why. */
	buf_reset(&in);
	buf_appends(&in, "Content-Type: multipart/mixed; boundary=x\n\n--x\n\nshort\n");
	long_line(&in, 1234);
	run(in.data, false, &r);
	CHECK_INT(msg_reencode_needed(&r.h, &r.bi, err, sizeof(err)), EX_DATAERR);
	CHECK_STR(err, "line 6 is longer than 998 octets inside a multipart message; "
		       "encode it before sending");
	result_free(&r);

	buf_reset(&in);
	buf_appends(&in, "Content-Transfer-Encoding: BASE64\n\n");
	long_line(&in, 1234);
	run(in.data, false, &r);
	CHECK_INT(msg_reencode_needed(&r.h, &r.bi, err, sizeof(err)), EX_DATAERR);
	CHECK(strstr(err, "base64") != NULL);
	result_free(&r);

	run("Content-Type: message/rfc822\n\nbare\rcr\n", false, &r);
	CHECK_INT(msg_reencode_needed(&r.h, &r.bi, err, sizeof(err)), EX_DATAERR);
	CHECK(strstr(err, "message/rfc822") != NULL);
	result_free(&r);

	run("Content-Type: (c) Text/HTML; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
	    "bare\rcr\n", false, &r);
	CHECK_INT(msg_reencode_needed(&r.h, &r.bi, err, sizeof(err)), 1);
	result_free(&r);

	/* max_message_size counts the stored bytes, headers included. */
	run_limit("Subject: a\n\n0123456789\n", 23, false, 23, &r);
	CHECK_INT(r.rc, 0);
	result_free(&r);
	run_limit("Subject: a\n\n0123456789\n", 23, false, 22, &r);
	CHECK_INT(r.rc, EX_NOPERM);
	CHECK_STR(r.err, "message exceeds max_message_size (22 bytes)");
	result_free(&r);
	buf_free(&in);
}

static void test_qp_headers(void)
{
	struct result r;

	run("Subject: a\nMIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n\nx\rå\n", false, &r);
	CHECK_INT(msg_set_qp_headers(&r.h, &r.bi), 0);
	CHECK_INT(r.h.n, 4);
	if (r.h.n == 4) {
		CHECK_STR(r.h.v[1].text, "MIME-Version: 1.0\n");
		CHECK_STR(r.h.v[2].text, "Content-Type: text/plain; charset=utf-8\n");
		CHECK_STR(r.h.v[3].text, "Content-Transfer-Encoding: quoted-printable\n");
	}
	result_free(&r);

	run("Content-Type: text/plain; charset=iso-8859-1\n\nx\r\xe5\n", false, &r);
	CHECK(r.bi.utf8_bad);
	CHECK_INT(msg_set_qp_headers(&r.h, &r.bi), 0);
	CHECK_STR(r.h.v[0].text, "Content-Type: text/plain; charset=iso-8859-1\n");
	result_free(&r);

	run("Subject: a\n\nx\r\n", false, &r);
	CHECK_INT(msg_set_qp_headers(&r.h, &r.bi), 0);
	CHECK(msg_find(&r.h, "Content-Type") == 2);
	CHECK_STR(r.h.v[2].text, "Content-Type: text/plain; charset=us-ascii\n");
	result_free(&r);
}

/* ---- quoted-printable ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A strict decoder: fails on anything an encoder must not produce. */
static int qp_decode(const char *s, size_t n, struct buf *out)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
				return -1;	/* trailing white space */
			buf_append(out, "\n", 1);
			col = 0;
			continue;
		}
		if (++col > 76)
			return -1;
		if ((unsigned char)s[i] >= 127 || ((unsigned char)s[i] < 32 && s[i] != '\t'))
			return -1;
		if (s[i] != '=') {
			buf_append(out, &s[i], 1);
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\n') {
			i++;
			col = 0;
			continue;
		}
		if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
			return -1;
		char c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		buf_append(out, &c, 1);
		i += 2;
		col += 2;
	}
	return 0;
}

static char *qp(const void *in, size_t n, size_t chunk, size_t *outlen)
{
	struct qp_enc q;
	char *out = xmalloc(qp_enc_bound(n) + 16);
	size_t o = 0;

	qp_enc_init(&q);
	for (size_t i = 0; i < n; i += chunk)
		o += qp_enc_feed(&q, (const char *)in + i, n - i < chunk ? n - i : chunk, out + o);
	o += qp_enc_end(&q, out + o);
	out[o] = '\0';
	*outlen = o;
	return out;
}

static void test_qp(void)
{
	size_t n;
	char *s;

	s = qp("a=b\n", 4, 100, &n);
	CHECK_STR(s, "a=3Db\n");
	free(s);
	s = qp("trailing \nta\tb\t\n", 16, 1, &n);
	CHECK_STR(s, "trailing=20\nta\tb=09\n");
	free(s);
	s = qp("cr\rnul", 7, 3, &n);
	CHECK_STR(s, "cr=0Dnul=00");
	free(s);
	s = qp("caf\xc3\xa9\n", 6, 100, &n);
	CHECK_STR(s, "caf=C3=A9\n");
	free(s);
	s = qp("end ", 4, 100, &n);
	CHECK_STR(s, "end=20");
	free(s);
	/* 75 fit on a line; the 76th needs a soft break. */
	{
		char in[80];

		memset(in, 'a', 76);
		in[76] = '\n';
		s = qp(in, 77, 7, &n);
		CHECK_INT(n, 75 + 2 + 2);
		CHECK(memcmp(s + 75, "=\na\n", 4) == 0);
		free(s);
		s = qp(in, 75, 7, &n);
		CHECK_INT(n, 75);
		free(s);
	}
	/* Round trips of nasty data, in chunks of several sizes. */
	{
		unsigned char data[5000];
		size_t chunks[] = { 1, 2, 3, 75, 76, 4096, 5000 };

		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (unsigned char)((i * 7919 + i / 13) % 256);
		for (size_t i = 300; i < 2000; i++)
			data[i] = i % 97 == 0 ? '\n' : (i % 5 == 0 ? ' ' : 'z');
		data[sizeof(data) - 1] = '\n';
		for (size_t k = 0; k < NR_ARRAY_LEN(chunks); k++) {
			struct buf dec;

			buf_init(&dec, 1 << 20);
			s = qp(data, sizeof(data), chunks[k], &n);
			CHECK(n <= qp_enc_bound(sizeof(data)));
			CHECK_INT(qp_decode(s, n, &dec), 0);
			CHECK_MEM(dec.data, dec.len, data, sizeof(data));
			free(s);
			buf_free(&dec);
		}
	}
}

/* The second pass, over a file as the first pass would have written it. */
static void test_qp_body(void)
{
	const char body[] = "line\rwith CR \nnul\0byte\n";
	char pre[] = "XXXXhdr\n";
	int fd = memfd_create("drop", 0);
	struct buf out, dec;
	struct msg_sink sink = { mem_write, &out };
	uint64_t written;
	char err[256];

	io_write_all(fd, pre, 8);
	io_write_all(fd, body, sizeof(body) - 1);
	buf_init(&out, 1 << 20);
	buf_init(&dec, 1 << 20);
	CHECK_INT(msg_qp_body(fd, 8, sizeof(body) - 1, &sink, 0, 0, &written, err, sizeof(err)), 0);
	CHECK_STR(str(&out), "line=0Dwith CR=20\nnul=00byte\n");
	CHECK_INT(written, out.len);
	CHECK_INT(qp_decode(out.data, out.len, &dec), 0);
	CHECK_MEM(dec.data, dec.len, body, sizeof(body) - 1);
	buf_reset(&out);
	CHECK_INT(msg_qp_body(fd, 8, sizeof(body) - 1, &sink, 10, 20, &written, err, sizeof(err)),
	    EX_NOPERM);
	buf_reset(&out);
	CHECK_INT(msg_qp_body(fd, 8, 1000, &sink, 0, 0, &written, err, sizeof(err)), EX_IOERR);
	buf_free(&out);
	buf_free(&dec);
	close(fd);
}

int main(void)
{
	test_line_endings();
	test_dots();
	test_from_line_and_headers();
	test_fixups();
	test_fold_qualify();
	test_fold_rewrite();
	test_fold_long();
	test_mailbox();
	test_rcpts();
	test_body_limits();
	test_qp_headers();
	test_qp();
	test_qp_body();
	return check_summary("message");
}
