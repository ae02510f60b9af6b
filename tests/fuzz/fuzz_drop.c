/*
 * drop_file_open, relayd's pick-up of a file any local user wrote into
 * incoming/new (SPEC §5.4): the input is the file's contents, under a valid
 * queue id in a private temporary directory. Whatever the bytes, the verdict
 * is one of the four, a refused file leaves no descriptor or envelope behind,
 * and an accepted one has a complete envelope and the length it claims.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzzlib.h"
#include "spool.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define NAME "0123456789ABCDEF"

static char dir[64];
static int dir_fd = -1;

static void broken(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_drop: invariant broken: %s (%s)\n", what, why);
	abort();
}

static void cleanup(void)
{
	if (dir_fd != -1) {
		unlinkat(dir_fd, NAME, 0);
		close(dir_fd);
		rmdir(dir);
	}
}

/* drop_file_open allocates DROP_HEADER_MAX per call: a smaller quarantine
 * keeps ASan from cycling through fresh megabytes on every run. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_mkdtemp(dir, sizeof dir, "drop");
	if ((dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(dir);
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drop_file df;
	enum drop_verdict v;
	char why[256];
	time_t now = time(NULL);
	uint64_t max_size = 0;
	int fd, fd0;

	fd = openat(dir_fd, NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || io_write_all(fd, data, size) == -1 || close(fd) == -1)
		broken("cannot write the drop file", strerror(errno));
	/* The same bytes seen young and old, with and without a size limit,
	 * reach every verdict: pick one from the length. */
	if (size & 1)
		now += 3600;
	if (size & 2)
		max_size = 512;

	fd0 = fuzz_lowest_free_fd();
	memset(why, 'x', sizeof why);
	v = drop_file_open(dir_fd, NAME, max_size, now, &df, why, sizeof why);
	if (memchr(why, '\0', sizeof why) == NULL)
		broken("reason not NUL-terminated", "");
	switch (v) {
	case DROP_OK:
		if (df.fd == -1)
			broken("DROP_OK without a descriptor", why);
		if (envelope_check(&df.env) != NULL)
			broken("DROP_OK with an envelope that fails envelope_check",
			    envelope_check(&df.env));
		if (df.body_off <= 0 || (uint64_t)df.body_off > size ||
		    df.length != size - (uint64_t)df.body_off)
			broken("DROP_OK with a wrong body offset or length", why);
		if (lseek(df.fd, 0, SEEK_CUR) != df.body_off)
			broken("DROP_OK not positioned at the body", why);
		drop_file_close(&df);
		break;
	case DROP_NOT_YET:
	case DROP_REMOVE:
	case DROP_QUARANTINE:
		if (why[0] == '\0')
			broken("refused without a reason", "");
		if (df.fd != -1 || df.env.sender != NULL || df.env.nrcpts != 0 ||
		    df.env.rcpts != NULL)
			broken("refused but left state behind", why);
		break;
	default:
		broken("verdict out of range", why);
	}
	if (fuzz_lowest_free_fd() != fd0)
		broken("file descriptor leaked", why);
	return 0;
}
