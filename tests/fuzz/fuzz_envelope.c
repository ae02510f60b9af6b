/*
 * envelope_parse_line on each line of the input (a drop file's envelope is
 * written by any local user), then, when envelope_check says the result is
 * complete, envelope_write → parse again → envelope_write must give the same
 * text: what relayd stores in its queue reads back as it was.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool_envelope.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for ENV_MAX_RCPTS recipients with their orcpt: never the limit here. */
#define TEXT_MAX (64u * 1024 * 1024)

static void broken(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_envelope: invariant broken: %s\n%s\n", what, text ? text : "");
	abort();
}

/* Feed buf's lines; returns the worst result, -2 for a bad return value. */
static int parse_lines(struct envelope *e, const char *p, size_t n, bool must_pass)
{
	char err[256];
	size_t i = 0;
	int worst = 0;

	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t len = nl != NULL ? (size_t)(nl - (p + i)) : n - i;
		char *line = malloc(len ? len : 1);	/* exact size, for ASan */
		int r;

		if (line == NULL)
			abort();
		memcpy(line, p + i, len);
		memset(err, 'x', sizeof err);
		r = envelope_parse_line(e, line, len, err, sizeof err);
		free(line);
		if (r < -1 || r > 1)
			broken("envelope_parse_line returned a value out of range", NULL);
		if (r != 0 && (memchr(err, '\0', sizeof err) == NULL || err[0] == '\0'))
			broken("refused line without a reason", NULL);
		if (must_pass && r != 0) {
			fprintf(stderr, "re-parse: %s\n", err);
			broken("written envelope does not parse back", p);
		}
		if (r != 0 && worst == 0)
			worst = r;
		i += len + 1;
	}
	return worst;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e, e2;
	struct buf b1, b2;
	const char *why;

	envelope_init(&e);
	parse_lines(&e, (const char *)data, size, false);
	if (envelope_check(&e) != NULL) {
		envelope_free(&e);
		return 0;
	}
	buf_init(&b1, TEXT_MAX);
	buf_init(&b2, TEXT_MAX);
	if (envelope_write(&b1, &e) != 0)
		broken("envelope_write failed", NULL);
	if (b1.len == 0 || b1.data[b1.len - 1] != '\n' || strlen(b1.data) != b1.len)
		broken("written text not NUL-free lines", b1.data);
	envelope_init(&e2);
	parse_lines(&e2, b1.data, b1.len - 1, true);	/* without the last LF */
	if ((why = envelope_check(&e2)) != NULL)
		broken(why, b1.data);
	if (envelope_write(&b2, &e2) != 0)
		broken("second envelope_write failed", NULL);
	if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) {
		fprintf(stderr, "second text:\n%s\n", b2.data);
		broken("round trip changed the text", b1.data);
	}
	if (e.nrcpts != e2.nrcpts || strcmp(e.sender, e2.sender) != 0 || e.notify != e2.notify ||
	    e.ret != e2.ret || e.body_8bit != e2.body_8bit || e.smtputf8 != e2.smtputf8 ||
	    e.local_sender != e2.local_sender || e.claimed_uid != e2.claimed_uid)
		broken("round trip changed a field", b1.data);
	buf_free(&b1);
	buf_free(&b2);
	envelope_free(&e);
	envelope_free(&e2);
	return 0;
}
