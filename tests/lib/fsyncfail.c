/*
 * LD_PRELOAD shim for tests/integration/relayd-robust.sh (not built by the
 * Makefile; the test compiles it with cc -shared -fPIC). It makes the
 * fsync() of a directory that follows the rename of a "*.env" file into it
 * (a queue state commit) fail with EIO, once across all processes: the
 * first to fail creates $FSYNCFAIL_ONCE (a path every process may write),
 * and none fails while that file exists. Without $FSYNCFAIL_ONCE it does
 * nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int fsync(int fd);
int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

static int armed_dir = -1;	/* the directory a .env was just renamed into */

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	size_t n = strlen(newpath);
	int r = (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, 0);

	if (r == 0 && n > 4 && strcmp(newpath + n - 4, ".env") == 0)
		armed_dir = newdirfd;
	return r;
}

static int should_fail(int fd)
{
	const char *once = getenv("FSYNCFAIL_ONCE");
	struct stat st;
	int mark;

	if (once == NULL || fd != armed_dir || fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	armed_dir = -1;
	mark = open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (mark == -1)
		return 0;
	dprintf(mark, "%ld\n", (long)getpid());
	close(mark);
	return 1;
}

int fsync(int fd)
{
	if (should_fail(fd)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}
