/*
 * The queue state file parser (spool/spool_qmsg.h, qmsg_parse) on arbitrary
 * bytes: relayd reads queue/ID.env back after every restart, and mailq
 * reads it when relayd is stopped; a file cut short by a full disk, or
 * damaged, must be refused (and quarantined by the caller), never
 * misread. Checks: a refusal has a reason and frees everything; an
 * accepted file passes envelope_check, has one state per recipient, each
 * state in range, and writes out (qmsg_format) to a text that parses
 * again to the same message and writes out again to the same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool_qmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "0123456789ABCDEF"

static void broken(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_qmsg: invariant broken: %s (%s)\n", what, err);
	abort();
}

static void same(const struct qmsg *a, const struct qmsg *b)
{
	size_t i;

	if (a->env.nrcpts != b->env.nrcpts || a->uid != b->uid || a->size != b->size ||
	    a->tries != b->tries || a->next != b->next || a->last_attempt != b->last_attempt ||
	    a->warned != b->warned || a->held != b->held || a->redirected != b->redirected ||
	    a->has_drop != b->has_drop || memcmp(&a->drop, &b->drop, sizeof a->drop) != 0)
		broken("the message read back differs", "");
	for (i = 0; i < a->env.nrcpts; i++)
		if (a->rcpts[i].state != b->rcpts[i].state || a->rcpts[i].code != b->rcpts[i].code ||
		    strcmp(a->rcpts[i].dsn, b->rcpts[i].dsn) != 0)
			broken("a recipient's state read back differs", "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmsg m, again;
	struct buf b1, b2;
	char err[512];
	size_t i;

	err[0] = '\0';
	if (qmsg_parse(&m, ID, (const char *)data, size, err, sizeof err) != 0) {
		if (err[0] == '\0')
			broken("refused without a reason", "");
		return 0;
	}
	if (envelope_check(&m.env) != NULL)
		broken("accepted an envelope that envelope_check refuses", "");
	if (m.rcpts == NULL)
		broken("no recipient states", "");
	for (i = 0; i < m.env.nrcpts; i++)
		if (m.rcpts[i].state > RCPT_FAILED)
			broken("recipient state out of range", "");
	buf_init(&b1, QUEUE_STATE_MAX);
	buf_init(&b2, QUEUE_STATE_MAX);
	if (qmsg_format(&m, &b1) != 0)
		broken("cannot write out what was read", "");
	if (qmsg_parse(&again, ID, b1.data, b1.len, err, sizeof err) != 0)
		broken("what was written out does not parse", err);
	same(&m, &again);
	if (qmsg_format(&again, &b2) != 0 || b1.len != b2.len ||
	    memcmp(b1.data, b2.data, b1.len) != 0)
		broken("written out twice, two different texts", "");
	buf_free(&b1);
	buf_free(&b2);
	qmsg_free(&again);
	qmsg_free(&m);
	return 0;
}
