/*
 * The mbox writer's escaping (relayd/mbox.c, mboxrd) on arbitrary message
 * bytes: a bounce quotes the original, which any local user wrote. After
 * mbox_deliver_wait into a private mailbox: it succeeded, the mailbox
 * starts with a "From " line and no other line starts with "From " (a
 * message must never split into two for a mail reader), and undoing the
 * escaping (one '>' off each line matching ^>+From ) gives back the input.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mbox.h"
#include "fuzzlib.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char dir[64], path[96];
static int msg_fd = -1;

static void broken(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	fuzz_mkdtemp(dir, sizeof dir, "mbox");
	snprintf(path, sizeof path, "%s/mbox", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		broken("cannot create the mailbox");
	close(fd);
	if ((msg_fd = memfd_create("fuzz_mbox_msg", MFD_CLOEXEC)) == -1)
		broken("memfd_create");
	(void)argc;
	(void)argv;
	return 0;
}

/* Does the line at p (n bytes, without its LF) match ^>*From ? */
static size_t from_quotes(const char *p, size_t n, int *match)
{
	size_t q = 0;

	while (q < n && p[q] == '>')
		q++;
	*match = n - q >= 5 && memcmp(p + q, "From ", 5) == 0;
	return q;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char err[512], *box, *un, *p, *end;
	size_t blen, ulen = 0;
	int fd, r;

	if (truncate(path, 0) == -1 || ftruncate(msg_fd, 0) == -1 ||
	    pwrite(msg_fd, data, size, 0) != (ssize_t)size)
		broken("cannot reset the files");
	r = mbox_deliver_wait(path, getuid(), "a@example.org", 1700000000, msg_fd, 0, size, 0,
	    err, sizeof err);
	if (r != 0) {
		fprintf(stderr, "mbox_deliver_wait: %s\n", err);
		broken("delivery into a private mailbox failed");
	}
	if ((fd = open(path, O_RDONLY)) == -1)
		broken("cannot read the mailbox back");
	blen = (size_t)lseek(fd, 0, SEEK_END);
	box = malloc(blen + 1);
	un = malloc(blen + 1);
	if (box == NULL || un == NULL || pread(fd, box, blen, 0) != (ssize_t)blen)
		broken("read back");
	close(fd);
	box[blen] = '\0';
	if (blen < 5 || memcmp(box, "From ", 5) != 0)
		broken("the mailbox does not start with a From_ line");
	p = memchr(box, '\n', blen);
	if (p == NULL)
		broken("no end to the From_ line");
	p++;
	end = box + blen;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		int match;
		size_t q = from_quotes(p, n, &match);

		if (match && q == 0)
			broken("a line of the message starts with \"From \"");
		/* Undo the escaping. */
		if (match) {
			memcpy(un + ulen, p + 1, n - 1);
			ulen += n - 1;
		} else {
			memcpy(un + ulen, p, n);
			ulen += n;
		}
		if (nl != NULL)
			un[ulen++] = '\n';
		p += n + (nl != NULL);
	}
	/* The writer may end the message with LF and adds a blank line. */
	if (ulen < size || memcmp(un, data, size) != 0)
		broken("undoing the escaping does not give the message back");
	free(box);
	free(un);
	return 0;
}
