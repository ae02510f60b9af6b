/*
 * drop-submit SPOOL SENDER RCPT... < MESSAGE: queue stdin as a drop file
 * through the spool API alone (drop_create ... drop_commit), the way sendmail
 * does once the message is fixed up. Lets the spool tests exercise the
 * submission side without sendmail. Exits with drop_*'s sysexits code and
 * one line on stderr; prints the queue id on success.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "spool.h"

int main(int argc, char **argv)
{
	static char chunk[16384];
	struct envelope e;
	struct drop *d;
	char err[1024], id[17];
	int i, rc;

	if (argc < 4) {
		fprintf(stderr, "usage: drop-submit SPOOL SENDER RCPT... < MESSAGE\n");
		return EX_USAGE;
	}
	envelope_init(&e);
	e.sender = xstrdup(argv[2]);
	e.claimed_uid = (long)getuid();
	for (i = 3; i < argc; i++) {
		if (envelope_add_rcpt(&e, argv[i], NULL) < 0) {
			fprintf(stderr, "drop-submit: bad recipient %s\n", argv[i]);
			return EX_DATAERR;
		}
	}
	if ((rc = drop_create(argv[1], &d, err, sizeof(err))) != 0)
		goto out;
	if ((rc = drop_write_envelope(d, &e, err, sizeof(err))) != 0) {
		drop_abort(d);
		goto out;
	}
	for (;;) {
		ssize_t n = read(0, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, sizeof(err), "reading the message: %s", strerror(errno));
			drop_abort(d);
			rc = EX_NOINPUT;
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = drop_write(d, chunk, (size_t)n, err, sizeof(err))) != 0) {
			drop_abort(d);
			goto out;
		}
	}
	snprintf(id, sizeof(id), "%s", drop_id(d));
	if ((rc = drop_commit(d, err, sizeof(err))) == 0)
		printf("%s\n", id);
out:
	envelope_free(&e);
	if (rc != 0)
		fprintf(stderr, "drop-submit: %s\n", err);
	return rc;
}
