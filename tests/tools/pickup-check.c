/*
 * pickup-check NEWDIR NAME [MAX_SIZE]: run relayd's hostile-file checks
 * (drop_file_open) on NEWDIR/NAME and print what they found:
 *   verdict OK|NOT_YET|REMOVE|QUARANTINE
 *   why REASON            (unless OK)
 *   uid N                 (the file owner: the kernel's word, not the file's)
 *   length N, body_off N  (if OK)
 *   the envelope lines    (if OK)
 * Exits 0 whatever the verdict, 1 on a usage error.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

static const char *const names[] = { "OK", "NOT_YET", "REMOVE", "QUARANTINE" };

int main(int argc, char **argv)
{
	struct drop_file df;
	enum drop_verdict v;
	char why[512];
	uint64_t max = 35 * 1024 * 1024;
	struct buf b;
	int dfd;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: pickup-check NEWDIR NAME [MAX_SIZE]\n");
		return 1;
	}
	if (argc == 4) {
		const char *errstr = NULL;

		max = (uint64_t)strtonum(argv[3], 0, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			fprintf(stderr, "pickup-check: MAX_SIZE %s: %s\n", argv[3], errstr);
			return 1;
		}
	}
	if ((dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(argv[1]);
		return 1;
	}
	v = drop_file_open(dfd, argv[2], max, time(NULL), &df, why, sizeof(why));
	printf("verdict %s\n", names[v]);
	if (v != DROP_OK)
		printf("why %s\n", why);
	printf("uid %lu\n", (unsigned long)df.st.st_uid);
	if (v == DROP_OK) {
		printf("length %" PRIu64 "\nbody_off %jd\n", df.length, (intmax_t)df.body_off);
		buf_init(&b, 16 * 1024 * 1024);
		if (envelope_write(&b, &df.env) == 0)
			fputs(b.data ? b.data : "", stdout);
		buf_free(&b);
		drop_file_close(&df);
	}
	close(dfd);
	return 0;
}
