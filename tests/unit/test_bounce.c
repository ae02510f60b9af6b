/* Unit tests for relayd/bounce.c: the RFC 3464 report builder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "check.h"
#include "util.h"

static const char HDRS[] =
    "Received: by relay.example.net (nullrelay, from userid 1000)\n"
    "\tid 0123456789ABCDEF; Sun, 22 Nov 2026 12:00:00 +0000\n"
    "From: alice@example.net\n"
    "Subject: hello\n";
static const char BODY[] = "Body line one\nBODY-MARKER\n";

static int sink(void *ctx, const void *p, size_t n)
{
	return buf_append(ctx, p, n);
}

static int failing_sink(void *ctx, const void *p, size_t n)
{
	errno = ENOSPC;
	return -1;
}

/* A temporary file holding prefix then the message; returns its fd. */
static int msgfile(const char *prefix, const char *msg, size_t msglen)
{
	FILE *f = tmpfile();
	int fd;

	if (f == NULL) {
		perror("tmpfile");
		exit(1);
	}
	fd = dup(fileno(f));
	fclose(f);
	if (io_write_all(fd, prefix, strlen(prefix)) == -1 || io_write_all(fd, msg, msglen) == -1) {
		perror("write");
		exit(1);
	}
	return fd;
}

static char *small_msg(size_t *len)
{
	char *m = xasprintf("%s\n%s", HDRS, BODY);

	*len = strlen(m);
	return m;
}

static struct bounce_rcpt r1 = {
	"bob@example.org", "bob", "5.1.1", "smtp.example.org[192.0.2.1]:587",
	"550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown", 1795003000
};

static void init_info(struct bounce_info *b, const struct bounce_rcpt *r, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->kind = BOUNCE_FAILED;
	b->hostname = "relay.example.net";
	b->queue_id = "0123456789ABCDEF";
	b->to = "alice@example.net";
	b->arrival = 1795000000;
	b->now = 1795003600;
	b->envid = "ENV42";
	b->ret = RET_UNSET;
	b->rcpts = r;
	b->nrcpts = n;
}

/* Build a report for msg (stored after a 7-byte prefix, as in a drop file). */
static int build(const struct bounce_info *b, const char *msg, size_t len, struct buf *out,
    struct bounce_result *res, char *err, size_t errlen)
{
	int fd = msgfile("PREFIX\n", msg, len), r;

	buf_init(out, 64 * 1024 * 1024);
	r = bounce_write(b, fd, 7, len, sink, out, res, err, errlen);
	close(fd);
	return r;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	for (;;) {
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return true;
		if ((p = strchr(p, '\n')) == NULL)
			return false;
		p++;
	}
}

static size_t longest_line(const char *text)
{
	size_t max = 0;

	while (*text != '\0') {
		size_t n = strcspn(text, "\n");

		if (n > max)
			max = n;
		text += n + (text[n] == '\n');
	}
	return max;
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	for (; (text = strstr(text, needle)) != NULL; text++)
		n++;
	return n;
}

/* The boundary parameter's value, into out. */
static void boundary_of(const char *text, char *out, size_t outlen)
{
	const char *p = strstr(text, "boundary=\"");

	out[0] = '\0';
	if (p != NULL) {
		p += strlen("boundary=\"");
		snprintf(out, outlen, "%.*s", (int)strcspn(p, "\""), p);
	}
}

static void test_fields(void)
{
	struct bounce_info b;
	struct bounce_result res;
	struct buf out;
	char err[256] = "", bnd[128], delim[140];
	size_t len;
	char *msg = small_msg(&len);
	struct bounce_rcpt rs[2] = { r1, { "carol@example.org", NULL, NULL, NULL, NULL, 0 } };

	init_info(&b, rs, 2);
	CHECK_INT(build(&b, msg, len, &out, &res, err, sizeof(err)), 0);
	CHECK(has_line(out.data, "From: Mail Delivery System <MAILER-DAEMON@relay.example.net>"));
	CHECK(has_line(out.data, "To: <alice@example.net>"));
	CHECK(has_line(out.data, "Subject: Undelivered Mail Returned to Sender"));
	CHECK(has_line(out.data, "Auto-Submitted: auto-replied"));
	CHECK(has_line(out.data, "MIME-Version: 1.0"));
	CHECK(strncmp(out.data, "Date: ", 6) == 0);
	CHECK(strstr(out.data, "\nMessage-ID: <0123456789ABCDEF.") != NULL);
	CHECK(strstr(out.data, "Content-Type: multipart/report; report-type=delivery-status;") != NULL);
	CHECK(has_line(out.data, "Content-Type: message/delivery-status"));
	CHECK(has_line(out.data, "Content-Type: message/rfc822"));
	CHECK(has_line(out.data, "Original-Envelope-Id: ENV42"));
	CHECK(has_line(out.data, "Reporting-MTA: dns; relay.example.net"));
	CHECK(strstr(out.data, "\nArrival-Date: ") != NULL);
	CHECK(has_line(out.data, "X-Nullrelay-Queue-ID: 0123456789ABCDEF"));
	CHECK(has_line(out.data, "Original-Recipient: rfc822; bob"));
	CHECK(has_line(out.data, "Final-Recipient: rfc822; bob@example.org"));
	CHECK(has_line(out.data, "Action: failed"));
	CHECK(has_line(out.data, "Status: 5.1.1"));
	CHECK(has_line(out.data, "Remote-MTA: dns; smtp.example.org"));
	CHECK(strstr(out.data, "\nDiagnostic-Code: smtp; 550 5.1.1 <bob@example.org>:") != NULL);
	CHECK(strstr(out.data, "\nLast-Attempt-Date: ") != NULL);
	CHECK(strstr(out.data, "Will-Retry-Until") == NULL);
	/* The second recipient: no orcpt, mta or diagnostic; default status. */
	CHECK(strstr(out.data, "\n\nFinal-Recipient: rfc822; carol@example.org\nAction: failed\n"
	    "Status: 5.0.0\n\n--") != NULL);
	/* The original, as stored, whole; the prefix before off is not. */
	CHECK(strstr(out.data, msg) != NULL);
	CHECK(strstr(out.data, "PREFIX") == NULL);
	CHECK(!res.headers_only && !res.eight_bit && !res.utf8_addrs);
	CHECK_INT(res.size, out.len);
	CHECK(longest_line(out.data) <= 78);

	boundary_of(out.data, bnd, sizeof(bnd));
	CHECK(strncmp(bnd, "0123456789ABCDEF/", 17) == 0 && strlen(bnd) == 17 + 32);
	snprintf(delim, sizeof(delim), "\n--%s\n", bnd);
	CHECK_INT(count(out.data, delim), 3);
	snprintf(delim, sizeof(delim), "\n--%s--\n", bnd);
	CHECK(out.len >= strlen(delim) && strcmp(out.data + out.len - strlen(delim), delim) == 0);
	/* The original ended in LF: that LF is followed directly by the delimiter. */
	CHECK(strstr(out.data, "BODY-MARKER\n\n--") != NULL);
	buf_free(&out);

	/* A second report draws another boundary. */
	{
		char bnd2[128];

		CHECK_INT(build(&b, msg, len, &out, NULL, err, sizeof(err)), 0);
		boundary_of(out.data, bnd2, sizeof(bnd2));
		CHECK(strcmp(bnd, bnd2) != 0);
		buf_free(&out);
	}
	free(msg);
}

static void test_hdrs_only(void)
{
	struct bounce_info b;
	struct bounce_result res;
	struct buf out;
	char err[256] = "";
	size_t len;
	char *msg = small_msg(&len), *big;
	struct buf bb;

	init_info(&b, &r1, 1);
	b.ret = RET_HDRS;
	CHECK_INT(build(&b, msg, len, &out, &res, err, sizeof(err)), 0);
	CHECK(res.headers_only);
	CHECK(has_line(out.data, "Content-Type: text/rfc822-headers"));
	CHECK(has_line(out.data, "Content-Description: Undelivered Message Headers"));
	CHECK(strstr(out.data, HDRS) != NULL);
	CHECK(strstr(out.data, "BODY-MARKER") == NULL);
	buf_free(&out);

	/* Exactly BOUNCE_FULL_MAX bytes: whole; one more: headers only. */
	buf_init(&bb, 1 << 20);
	buf_appends(&bb, HDRS);
	buf_appends(&bb, "\n");
	while (bb.len < BOUNCE_FULL_MAX - 12)
		buf_appends(&bb, "BODY-MARKER\n");
	while (bb.len < BOUNCE_FULL_MAX)
		buf_appends(&bb, "x");
	big = bb.data;
	b.ret = RET_FULL;
	CHECK_INT(build(&b, big, BOUNCE_FULL_MAX, &out, &res, err, sizeof(err)), 0);
	CHECK(!res.headers_only);
	CHECK(has_line(out.data, "Content-Type: message/rfc822"));
	/* An original without a final LF gets none added. */
	CHECK(strstr(out.data, "xx\n--0123456789ABCDEF/") != NULL);
	buf_free(&out);
	buf_appends(&bb, "y");
	CHECK_INT(build(&b, bb.data, bb.len, &out, &res, err, sizeof(err)), 0);
	CHECK(res.headers_only);
	CHECK(has_line(out.data, "Content-Type: text/rfc822-headers"));
	CHECK(strstr(out.data, "BODY-MARKER") == NULL);
	CHECK(out.len < 4096);
	buf_free(&out);
	buf_free(&bb);

	/* A message that is all header (no blank line): all of it. */
	CHECK_INT(build(&b, HDRS, strlen(HDRS), &out, &res, err, sizeof(err)), 0);
	CHECK(strstr(out.data, HDRS) != NULL);
	buf_free(&out);
	free(msg);
}

static void test_delayed(void)
{
	struct bounce_info b;
	struct bounce_result res;
	struct buf out;
	char err[256] = "", d[64], line[128];
	size_t len;
	char *msg = small_msg(&len);
	struct bounce_rcpt r = { "bob@example.org", NULL, "4.4.1", "smtp.example.org",
	    "421 4.4.1 Connection timed out", 1795003000 };

	init_info(&b, &r, 1);
	b.kind = BOUNCE_DELAYED;
	b.ret = RET_FULL;	/* delay warnings carry headers only regardless */
	b.will_retry_until = 1795432000;
	CHECK_INT(build(&b, msg, len, &out, &res, err, sizeof(err)), 0);
	CHECK(has_line(out.data, "Subject: Delayed Mail (still being retried)"));
	CHECK(has_line(out.data, "Action: delayed"));
	CHECK(has_line(out.data, "Status: 4.4.1"));
	time_rfc5322_date(1795432000, d, sizeof(d));
	snprintf(line, sizeof(line), "Will-Retry-Until: %s", d);
	CHECK(has_line(out.data, line));
	CHECK(res.headers_only);
	CHECK(has_line(out.data, "Content-Type: text/rfc822-headers"));
	CHECK(strstr(out.data, "BODY-MARKER") == NULL);
	CHECK(strstr(out.data, "WARNING ONLY") != NULL);
	CHECK(strstr(out.data, "delivered for 1.0 hours") != NULL);
	buf_free(&out);

	/* A malformed status falls back to the kind's default. */
	r.status = "4.x";
	CHECK_INT(build(&b, msg, len, &out, &res, err, sizeof(err)), 0);
	CHECK(has_line(out.data, "Status: 4.0.0"));
	buf_free(&out);
	free(msg);
}

static void test_folding(void)
{
	struct bounce_info b;
	struct buf out, diag;
	char err[256] = "";
	size_t len, i;
	char *msg = small_msg(&len);
	struct bounce_rcpt r = r1;
	const char *p;

	/* Many words: folded at spaces under 78 columns. */
	buf_init(&diag, 1 << 20);
	buf_appends(&diag, "550 5.7.1");
	for (i = 0; i < 200; i++)
		buf_appendf(&diag, " word%zu", i);
	r.diagnostic = diag.data;
	init_info(&b, &r, 1);
	CHECK_INT(build(&b, msg, len, &out, NULL, err, sizeof(err)), 0);
	CHECK(longest_line(out.data) < 78);
	CHECK(strstr(out.data, "Diagnostic-Code: smtp; 550 5.7.1 word0 word1") != NULL);
	CHECK(strstr(out.data, " word199\n") != NULL);
	buf_free(&out);

	/* One 5000-octet word: split, no line over 998. */
	buf_reset(&diag);
	buf_appends(&diag, "550 ");
	for (i = 0; i < 5000; i++)
		buf_append(&diag, "z", 1);
	r.diagnostic = diag.data;
	CHECK_INT(build(&b, msg, len, &out, NULL, err, sizeof(err)), 0);
	CHECK(longest_line(out.data) <= 998);
	buf_free(&out);

	/* Non-ASCII becomes '?', one per character; CR LF cannot start a header. */
	r.diagnostic = "550 5.1.1 caf\xc3\xa9 \xff r\xc3\xa9sum\xc3\xa9\r\nBcc: evil@example.org";
	CHECK_INT(build(&b, msg, len, &out, NULL, err, sizeof(err)), 0);
	CHECK(strstr(out.data, "caf? ? r?sum? Bcc: evil@example.org") != NULL);
	CHECK(!has_line(out.data, "Bcc: evil@example.org"));
	for (p = out.data; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80 || *p == '\r')
			break;
	CHECK(*p == '\0');
	buf_free(&out);

	/* Not an SMTP reply: another diagnostic type. */
	r.diagnostic = "delivery time expired";
	CHECK_INT(build(&b, msg, len, &out, NULL, err, sizeof(err)), 0);
	CHECK(has_line(out.data, "Diagnostic-Code: X-Nullrelay; delivery time expired"));
	buf_free(&out);
	buf_free(&diag);
	free(msg);
}

static void test_utf8(void)
{
	struct bounce_info b;
	struct bounce_result res;
	struct buf out;
	char err[256] = "";
	const char *m8 = "Subject: caf\xc3\xa9\n\nbody\n";
	struct bounce_rcpt r = { "j\xc3\xbcrgen+x@example.org", NULL, "5.1.1", NULL, NULL, 0 };

	init_info(&b, &r, 1);
	CHECK_INT(build(&b, m8, strlen(m8), &out, &res, err, sizeof(err)), 0);
	CHECK(has_line(out.data, "Final-Recipient: utf-8; j\\x{FC}rgen\\x{2B}x@example.org"));
	CHECK(res.eight_bit && !res.utf8_addrs);
	CHECK(has_line(out.data, "Content-Transfer-Encoding: 8bit"));
	CHECK(has_line(out.data, "Content-Type: text/plain; charset=utf-8"));
	CHECK(strstr(out.data, "<j\xc3\xbcrgen+x@example.org>") != NULL);
	buf_free(&out);

	/* Headers only: the 8-bit body does not count, the header does. */
	b.ret = RET_HDRS;
	r.final_rcpt = "bob@example.org";
	CHECK_INT(build(&b, "Subject: x\n\nbody \xc3\xa9\n", 20, &out, &res, err, sizeof(err)), 0);
	CHECK(!res.eight_bit);
	CHECK(!has_line(out.data, "Content-Transfer-Encoding: 8bit"));
	buf_free(&out);
}

static void test_errors(void)
{
	struct bounce_info b;
	struct buf out;
	char err[256] = "";
	size_t len;
	char *msg = small_msg(&len);
	int fd;

	init_info(&b, &r1, 1);
	b.to = "";
	CHECK_INT(build(&b, msg, len, &out, NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "null sender") != NULL);
	buf_free(&out);

	init_info(&b, &r1, 0);
	CHECK_INT(build(&b, msg, len, &out, NULL, err, sizeof(err)), -1);
	buf_free(&out);

	/* The stored original is shorter than its recorded length. */
	init_info(&b, &r1, 1);
	fd = msgfile("PREFIX\n", msg, len);
	buf_init(&out, 1 << 20);
	CHECK_INT(bounce_write(&b, fd, 7, len + 10, sink, &out, NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "shorter") != NULL);
	buf_free(&out);

	/* The sink fails. */
	CHECK_INT(bounce_write(&b, fd, 7, len, failing_sink, NULL, NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "output failed") != NULL);
	close(fd);
	free(msg);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	test_fields();
	test_hdrs_only();
	test_delayed();
	test_folding();
	test_utf8();
	test_errors();
	return check_summary("test_bounce");
}
