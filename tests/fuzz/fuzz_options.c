/*
 * sm_parse_args on an argv made by splitting the input on NUL bytes (the
 * first piece is argv[0], so "mailq" and "newaliases" are reached too).
 * Callers pass sendmail anything; the parser must answer 0 or EX_USAGE with
 * one line naming the argument, and what it returns must point into argv.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "sm_options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_options: invariant broken: %s\n", what);
	abort();
}

/* p must be NULL or point at the start of one of the argv strings. */
static void check_ptr(const char *p, char **argv, int argc, const char *what)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return;
	broken(what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_opts o;
	char **argv, *text, err[256];
	int argc = 0, rc;
	size_t i, nargs = 1;

	for (i = 0; i < size; i++)
		nargs += data[i] == '\0';
	text = malloc(size + 1);
	argv = calloc(nargs + 1, sizeof *argv);
	if (text == NULL || argv == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = text;
	for (i = 0; i < size; i++)
		if (text[i] == '\0')
			argv[argc++] = text + i + 1;
	argv[argc] = NULL;

	memset(err, 'x', sizeof err);
	rc = sm_parse_args(argc, argv, &o, err, sizeof err);
	if (memchr(err, '\0', sizeof err) == NULL)
		broken("err not NUL-terminated");
	if (rc == EX_USAGE) {
		if (err[0] == '\0')
			broken("EX_USAGE without a reason");
		/* SPEC §3: one line on stderr; the argument is echoed in it. */
		if (strpbrk(err, "\r\n") != NULL)
			broken("EX_USAGE reason spans lines (raw argument echoed)");
	} else if (rc == 0) {
		if (o.mode > SM_NOOP || o.body > SM_BODY_8BITMIME || o.ret > RET_HDRS)
			broken("enum out of range");
		if (o.nrcpts > (size_t)argc || o.rcpts == NULL || o.rcpts[o.nrcpts] != NULL)
			broken("recipient list not a NULL-terminated tail of argv");
		for (i = 0; i < o.nrcpts; i++)
			check_ptr(o.rcpts[i], argv, argc, "recipient outside argv");
		check_ptr(o.sender, argv, argc, "sender outside argv");
		check_ptr(o.fullname, argv, argc, "fullname outside argv");
		check_ptr(o.conf_path, argv, argc, "conf path outside argv");
		check_ptr(o.envid, argv, argc, "envid outside argv");
		if ((o.notify & NOTIFY_NEVER) && o.notify != NOTIFY_NEVER)
			broken("NOTIFY_NEVER mixed with others");
	} else {
		broken("return value neither 0 nor EX_USAGE");
	}
	free(argv);
	free(text);
	return 0;
}
