/*
 * mkspool DIR USER: create or repair a spool at DIR for USER, exactly as
 * relayd does at start-up (spool_setup). Used by tests/lib/common.sh.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

#include "spool.h"

int main(int argc, char **argv)
{
	char err[1024];
	struct passwd *pw;

	if (argc != 3) {
		fprintf(stderr, "usage: mkspool DIR USER\n");
		return 1;
	}
	if ((pw = getpwnam(argv[2])) == NULL) {
		fprintf(stderr, "mkspool: unknown user %s\n", argv[2]);
		return 1;
	}
	if (spool_setup(argv[1], pw->pw_uid, pw->pw_gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "mkspool: %s\n", err);
		return 1;
	}
	return 0;
}
