/*
 * The message at submission (spool/msg.h) on arbitrary bytes: what any
 * caller pipes into sendmail. The reader takes a descriptor, not a buffer,
 * so the input goes into a memfd (one per process, truncated each run). One
 * run does what sm_submit.c does: read the header section, collect -t
 * recipients, apply the fix-ups, write the header, copy the body, and when
 * the body needs it, the quoted-printable pass. What comes out must be what
 * SPEC §4 promises the smarthost: LF lines of at most 998 octets, no NUL, no
 * bare CR, a header section ended by one blank line.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include "msg.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define OUT_MAX (64u * 1024 * 1024)

static int in_fd = -1, body_fd = -1;

static void broken(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_message: invariant broken: %s\n%.2000s\n", what,
	    detail != NULL ? detail : "");
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	in_fd = memfd_create("fuzz_message_in", MFD_CLOEXEC);
	body_fd = memfd_create("fuzz_message_body", MFD_CLOEXEC);
	if (in_fd == -1 || body_fd == -1) {
		perror("memfd_create");
		exit(1);
	}
	return 0;
}

static int mem_write(void *ctx, const void *p, size_t n, char *err, size_t errlen)
{
	if (buf_append(ctx, p, n) == -1) {
		snprintf(err, errlen, "fuzz sink full");
		return EX_IOERR;
	}
	return 0;
}

static void load(int fd, const void *p, size_t n)
{
	if (ftruncate(fd, 0) == -1 || (n > 0 && pwrite(fd, p, n, 0) != (ssize_t)n) ||
	    lseek(fd, 0, SEEK_SET) != 0)
		broken("cannot write the memfd", NULL);
}

/* LF-ended lines of at most MSG_LINE_MAX octets, no NUL, no CR at all. */
static void check_lines(const struct buf *b, const char *what)
{
	size_t i, start = 0;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\0')
			broken(what, "NUL byte");
		if (b->data[i] == '\r')
			broken(what, "CR byte");
		if (b->data[i] == '\n') {
			if (i - start > MSG_LINE_MAX)
				broken(what, b->data + start);
			start = i + 1;
		}
	}
	if (start != b->len)
		broken(what, "does not end with LF");
}

static void check_field(const struct msg_field *f)
{
	if (f->len == 0 || f->text[f->len - 1] != '\n' || strlen(f->text) != f->len)
		broken("field text not LF-ended or holds a NUL", f->text);
	if (f->namelen == 0 || f->namelen >= f->len)
		broken("field name length out of range", f->text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct msg_fix fix_plain = { "example.org", "host.example",
		"Sun, 22 Nov 2026 12:00:00 +0000", "<fuzz@host.example>", "Fuzz <fuzz@example.org>",
		NULL };
	struct msg_fix fix = fix_plain;
	struct msg_headers h;
	struct msg_body_info bi;
	struct addrlist l = { NULL, 0, 0 };
	struct buf hdr, body, qp;
	struct msg_sink sh = { mem_write, &hdr }, sb = { mem_write, &body }, sq = { mem_write, &qp };
	struct msg_in *in;
	char err[512];
	uint64_t hbytes = 0, written = 0, sum = 0;
	size_t i;
	int rc;

	load(in_fd, data, size);
	/* Two bits of the length choose -i and from_rewrite, so the same
	 * bytes reach both ways. */
	in = msg_in_new(in_fd, (size & 1) != 0);
	if (size & 2)
		fix.from_rewrite = "alerts@example.org";
	msg_headers_init(&h);
	buf_init(&hdr, OUT_MAX);
	buf_init(&body, OUT_MAX);
	buf_init(&qp, OUT_MAX);

	err[0] = '\0';
	rc = msg_read_headers(in, &h, err, sizeof err);
	if (rc != 0 && rc != EX_DATAERR)
		broken("msg_read_headers: unexpected code", err);
	for (i = 0; i < h.n; i++) {
		check_field(&h.v[i]);
		sum += h.v[i].len;
	}
	if (sum != h.bytes)
		broken("header byte count wrong", NULL);
	if (rc != 0)
		goto out;

	rc = msg_rcpts(&h, &l, err, sizeof err);
	if (rc != 0 && rc != EX_DATAERR)
		broken("msg_rcpts: unexpected code", err);
	for (i = 0; rc == 0 && i < l.n; i++) {
		char *spec = addr_spec(&l.v[i]);

		if (strpbrk(spec, "\r\n") != NULL)
			broken("-t recipient with a line break", spec);
		free(spec);
	}

	rc = msg_fixup(&h, &fix, err, sizeof err);
	if (rc != 0 && rc != EX_DATAERR)
		broken("msg_fixup: unexpected code", err);
	if (rc != 0)
		goto out;
	for (i = 0; i < h.n; i++)
		check_field(&h.v[i]);
	if (!msg_has(&h, msg_is_resent(&h) ? "Resent-Date" : "Date") ||
	    msg_has(&h, "Bcc") || msg_has(&h, "Return-Path") || msg_has(&h, "Content-Length"))
		broken("fix-ups not applied", NULL);

	if (msg_copy_body(in, &sb, 0, 0, &bi, err, sizeof err) != 0)
		broken("msg_copy_body into memory failed", err);
	if (bi.bytes != body.len || (body.len > 0 && body.data[body.len - 1] != '\n'))
		broken("body length or final LF wrong", NULL);

	rc = msg_reencode_needed(&h, &bi, err, sizeof err);
	if (rc == 1) {
		if (msg_set_qp_headers(&h, &bi) != 0)
			goto out;
		load(body_fd, body.data, body.len);
		if (msg_qp_body(body_fd, 0, body.len, &sq, 0, 0, &written, err, sizeof err) != 0)
			broken("msg_qp_body into memory failed", err);
		if (written != qp.len)
			broken("qp byte count wrong", NULL);
		check_lines(&qp, "quoted-printable body");
	} else if (rc == 0) {
		if (bi.long_line || bi.nul || bi.bare_cr)
			broken("body needs re-encoding but reencode_needed says no", NULL);
		check_lines(&body, "body sent as it is");
	} else if (rc != EX_DATAERR) {
		broken("msg_reencode_needed: unexpected code", err);
	}

	if (msg_write_headers(&h, &sh, &hbytes, err, sizeof err) != 0)
		broken("msg_write_headers into memory failed", err);
	if (hbytes != hdr.len || hdr.len == 0 || hdr.data[hdr.len - 1] != '\n' ||
	    (hdr.len > 1 && hdr.data[hdr.len - 2] != '\n'))
		broken("header section not ended by one blank line", hdr.data);
	/* SPEC §4: every line sent is at most 998 octets. */
	check_lines(&hdr, "header line over 998 octets after the fix-ups");
out:
	addr_list_free(&l);
	buf_free(&hdr);
	buf_free(&body);
	buf_free(&qp);
	msg_headers_free(&h);
	msg_in_free(in);
	return 0;
}
