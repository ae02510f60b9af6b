/*
 * The SMTP command parser (spool/smtp_parse.h) on arbitrary bytes: what a
 * network client sends to relayd's listener, or a local user to sendmail
 * -bs. Each NUL-free line of the input is taken as the arguments of a MAIL
 * FROM/RCPT TO command (after the prefix if it is there) and goes through
 * smtp_after_prefix, smtp_parse_path, smtp_next_param, smtp_mail_params and
 * smtp_clean_text, as listen_smtp.c and bs.c call them. Checks: every
 * returned pointer lies inside the line, the path has the shape the caller
 * relies on (no unquoted '>', what follows starts with nothing or a space
 * for a bare path), the parameter walk always moves forward and ends, keys
 * are NUL-terminated without spaces, a refusal is one printable "5xy X.Y.Z"
 * reply line, an accepted SIZE is within the limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *line)
{
	fprintf(stderr, "fuzz_smtp_parse: invariant broken: %s (line \"%.200s\")\n", what,
	    line);
	abort();
}

static bool inside(const char *p, const char *line, size_t n)
{
	return p >= line && p <= line + n;
}

/* The path the parser returned: no unquoted '>' may remain in it. */
static void check_path(const char *path, const char *line)
{
	bool quoted = false;
	const char *q;

	for (q = path; *q != '\0'; q++) {
		if (quoted && *q == '\\' && q[1] != '\0') {
			q++;
			continue;
		}
		if (*q == '"')
			quoted = !quoted;
		else if (!quoted && *q == '>')
			broken("unquoted '>' inside the parsed path", line);
	}
}

static void check_reply(const char *reply, const char *line)
{
	const char *p;

	if (reply[0] != '5' || reply[1] < '0' || reply[1] > '5' || reply[2] < '0' ||
	    reply[2] > '9' || reply[3] != ' ' || reply[4] != '5' || reply[5] != '.')
		broken("refusal is not a \"5xy 5.y.z\" reply", line);
	for (p = reply; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			broken("control byte in a refusal", line);
}

static void one_line(const char *line, size_t n, uint64_t max_size)
{
	const char *args, *rest, *walk, *val;
	struct smtp_mail_params mp;
	char key[32], reply[512];
	size_t vallen, steps = 0;
	char *path, *copy;
	bool bracketed;

	args = smtp_after_prefix(line, "MAIL FROM:");
	if (args == NULL)
		args = smtp_after_prefix(line, "RCPT TO:");
	if (args == NULL)
		args = line;
	if (!inside(args, line, n))
		broken("smtp_after_prefix pointer outside the line", line);

	rest = NULL;
	bracketed = args[strspn(args, " ")] == '<';
	if ((path = smtp_parse_path(args, &rest)) != NULL) {
		if (rest == NULL || !inside(rest, line, n))
			broken("rest of the path outside the line", line);
		if (strlen(path) > n)
			broken("path longer than the line", line);
		/* "<...>" ends at its '>'; a bare path at a space. */
		if (bracketed) {
			if (rest == line || rest[-1] != '>')
				broken("bracketed path did not end at its '>'", line);
			check_path(path, line);
		} else if (*rest != '\0' && *rest != ' ') {
			broken("bare path did not end at a space", line);
		}
		free(path);
	} else {
		if (!bracketed)
			broken("a bare path was refused", line);
		rest = args;
	}

	/* The parameter walk: always forward, inside the line, then done. */
	walk = rest;
	while (smtp_next_param(&walk, key, sizeof key, &val, &vallen)) {
		if (!inside(walk, line, n))
			broken("next_param rest outside the line", line);
		if (memchr(key, '\0', sizeof key) == NULL)
			broken("key not NUL-terminated", line);
		if (strchr(key, ' ') != NULL)
			broken("space inside a key", line);
		if (val != NULL && (!inside(val, line, n) || !inside(val + vallen, line, n) ||
		    memchr(val, ' ', vallen) != NULL))
			broken("value outside the line or holding a space", line);
		if (val == NULL && vallen != 0)
			broken("no value but a length", line);
		if (++steps > n + 1)
			broken("next_param does not move forward", line);
	}

	if (smtp_mail_params(rest, max_size, &mp, reply, sizeof reply) == 0) {
		if (mp.body != SM_BODY_UNSET && mp.body != SM_BODY_7BIT &&
		    mp.body != SM_BODY_8BITMIME)
			broken("BODY out of range", line);
		if (max_size > 0 && mp.size > max_size)
			broken("SIZE over the limit accepted", line);
	} else {
		check_reply(reply, line);
	}

	copy = strdup(line);
	if (copy == NULL)
		return;
	smtp_clean_text(copy);
	if (strlen(copy) != strlen(line))
		broken("clean_text changed the length", line);
	for (walk = copy; *walk != '\0'; walk++)
		if ((unsigned char)*walk < 0x20 || (unsigned char)*walk == 0x7f)
			broken("clean_text left a control byte", line);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Two bits of the length pick the limit: none, tiny, 64k, huge. */
	static const uint64_t limits[] = { 0, 1, 65536, UINT64_MAX / 2 };
	uint64_t max_size = limits[size & 3];
	size_t pos = 0;

	while (pos <= size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
		char *line;

		/* An exact-size copy so ASan sees any read past the end. */
		if (memchr(data + pos, '\0', len) == NULL && (line = malloc(len + 1)) != NULL) {
			memcpy(line, data + pos, len);
			line[len] = '\0';
			one_line(line, len, max_size);
			free(line);
		}
		pos += len + 1;
	}
	return 0;
}
