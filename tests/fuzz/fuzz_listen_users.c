/*
 * listen_users_load (relayd/listen_auth.h), the reader of listen_auth_file:
 * the bytes are the file, written into a private temporary directory
 * (tmpfs if there is one). Two bits of the length pick how it lies there:
 * mode 0600, 0640, 0644 (writable by nobody else but readable: still fine),
 * or 0664 (group-writable: must be refused). Checks: a refusal has a
 * reason starting with the path and no line break, and nothing leaks (no
 * descriptor, no memory); an accepted file holds exactly one user per line
 * that is neither blank nor a "#" comment, at most 10000 of them, none
 * twice, and the file is refused when any such line is malformed (the
 * expected count is worked out here from the bytes alone).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzlib.h"
#include "listen_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64], path[96];

static void broken(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_listen_users: invariant broken: %s (%s)\n", what, err);
	abort();
}

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_mkdtemp(dir, sizeof dir, "users");
	snprintf(path, sizeof path, "%s/users", dir);
	atexit(cleanup);
	(void)argc;
	(void)argv;
	return 0;
}

/*
 * The lines that name a user, or -1 if the file should be refused for
 * its form alone (NUL byte, over-long line); a refusal for a bad name or
 * hash, or a name twice, is allowed whenever the count is positive.
 */
static long expected_users(const uint8_t *d, size_t n)
{
	size_t pos = 0;
	long users = 0;

	while (pos < n) {
		const uint8_t *nl = memchr(d + pos, '\n', n - pos);
		size_t len = nl != NULL ? (size_t)(nl - (d + pos)) : n - pos, i = 0;

		/* fgets stops at a NUL as if the line ended there: such a
		 * file is whatever the reader makes of it, no count. */
		if (memchr(d + pos, '\0', len) != NULL)
			return -2;
		/* fgets into 1026 bytes: 1024 and the LF fit, more do not. */
		if (len > 1024)
			return -1;
		while (i < len && (d[pos + i] == ' ' || d[pos + i] == '\t'))
			i++;
		if (!(i == len || d[pos + i] == '#' || (i + 1 == len && d[pos + i] == '\r')))
			users++;
		pos += len + 1;
	}
	return users;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mode_t modes[] = { 0600, 0640, 0644, 0664 };
	mode_t mode = modes[size & 3];
	struct listen_users *u;
	char err[512];
	long want;
	int fd, before;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size || fchmod(fd, mode) == -1)
		broken("cannot write the file", path);
	close(fd);
	before = fuzz_lowest_free_fd();
	err[0] = '\0';
	u = listen_users_load(path, err, sizeof err);
	if (fuzz_lowest_free_fd() != before)
		broken("a descriptor leaked", err);
	want = expected_users(data, size);
	if (u == NULL) {
		if (strncmp(err, path, strlen(path)) != 0)
			broken("reason does not start with the path", err);
		if (strpbrk(err, "\r\n") != NULL)
			broken("line break in the reason", err);
		if ((mode & 022) == 0 && want == 0)
			broken("refused a file without users", err);
		return 0;
	}
	if (mode & 022)
		broken("accepted a group-writable file", path);
	if (want == -1)
		broken("accepted a file with an over-long line", path);
	if (want >= 0 && (long)listen_users_count(u) != want)
		broken("user count differs from the lines naming users", path);
	if (listen_users_count(u) > 10000)
		broken("more than 10000 users", path);
	listen_users_free(u);
	return 0;
}
