/*
 * The SMTP reply parser (relayd/smtp_reply.h) on arbitrary bytes: what a
 * smarthost, or whoever sits between us and it, sends. Two ways in: the
 * whole buffer through smtp_reply_parse, and line by line through
 * smtp_reply_add_line/finish as the session feeds it, with each line also
 * given to smtp_ext_parse_line as an EHLO keyword line. The text kept must
 * stay a NUL-terminated line of printable ASCII (it goes to logs, bounces and
 * mailq -j) and the code and DSN within their forms.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const struct smtp_reply *r)
{
	fprintf(stderr, "fuzz_smtp_reply: invariant broken: %s (code %d)\n", what, r->code);
	abort();
}

static void check_reply(const struct smtp_reply *r, bool finished)
{
	const char *p, *end;

	if ((end = memchr(r->text, '\0', sizeof r->text)) == NULL)
		broken("text not NUL-terminated", r);
	for (p = r->text; p < end; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			broken("control or 8-bit byte in text", r);
	if ((end = memchr(r->dsn, '\0', sizeof r->dsn)) == NULL)
		broken("dsn not NUL-terminated", r);
	if (r->code != 0 && (r->code < 100 || r->code > 599))
		broken("code out of range", r);
	if (finished) {
		/* "C.S.D": class digit as the code's (or 4 with no code). */
		if (r->dsn[0] == '\0' || r->dsn[1] != '.')
			broken("finished reply without an X.Y.Z dsn", r);
		if (r->code >= 200 && r->dsn[0] - '0' != r->code / 100)
			broken("dsn class differs from the code's", r);
	}
	(void)smtp_reply_class(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct smtp_ext ext;
	char *buf;
	size_t pos = 0;
	int rc = 1;

	/* An exact-size copy so ASan sees any read past the end. */
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);

	if (smtp_reply_parse(buf, size, &r) == 0)
		check_reply(&r, true);
	else
		check_reply(&r, false);

	smtp_reply_init(&r);
	memset(&ext, 0, sizeof ext);
	while (pos < size && rc == 1) {
		const char *nl = memchr(buf + pos, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - (buf + pos)) : size - pos;

		rc = smtp_reply_add_line(&r, buf + pos, len);
		if (rc < -1 || rc > 1)
			broken("add_line returned a value out of range", &r);
		if (rc == -1 && r.code != 0)
			broken("malformed line left a code", &r);
		check_reply(&r, false);
		if (len >= 4)
			smtp_ext_parse_line(&ext, buf + pos + 4, len - 4);
		pos += len + 1;
	}
	if (rc == 0) {
		smtp_reply_finish(&r);
		check_reply(&r, true);
	}
	smtp_reply_set(&r, "4.4.2", "reason %.*s", (int)(size > 600 ? 600 : size), buf);
	check_reply(&r, false);
	free(buf);
	return 0;
}
