/*
 * LD_PRELOAD shim for I/O fault injection (tests/integration/io-faults.sh;
 * compiled by the test with cc -shared -fPIC, not by the Makefile).
 *
 * Every call of write, pwrite, fsync, fdatasync, rename, renameat,
 * renameat2, link, linkat, open/openat that may create or write, unlink and
 * unlinkat on a file (not stdin/stdout/stderr, not a socket or pipe) is
 * counted, across all the processes of one run (the counter is a shared
 * mapping of $IOFAULT_COUNTER, so forked workers count on the same one);
 * the $IOFAULT_N-th call fails with $IOFAULT_ERRNO (EIO, ENOSPC or EDQUOT)
 * and every other call goes through: the fault then clears.
 * IOFAULT_N=0 only counts (the run's total is left in the counter file).
 * $IOFAULT_LOG, when set, gets one line naming the call that was failed.
 * IOFAULT_SHORT_PREAD=K makes every other pread return at most K bytes (a
 * legal short read) instead: K = 32767 leaves relayd's body buffer just
 * under its flush mark before a full block of line feeds (smtp_send.c).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic unsigned long *counter;
static unsigned long fail_at;
static int fail_errno = EIO;
static size_t short_pread;
static int ready;

static void setup(void)
{
	const char *p, *e;
	int fd;

	if (ready)
		return;
	ready = 1;
	if ((p = getenv("IOFAULT_N")) != NULL)
		fail_at = strtoul(p, NULL, 10);
	if ((e = getenv("IOFAULT_ERRNO")) != NULL)
		fail_errno = strcmp(e, "ENOSPC") == 0 ? ENOSPC : strcmp(e, "EDQUOT") == 0 ? EDQUOT : EIO;
	if ((p = getenv("IOFAULT_SHORT_PREAD")) != NULL)
		short_pread = strtoul(p, NULL, 10);
	if ((p = getenv("IOFAULT_COUNTER")) == NULL)
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, p, O_RDWR | O_CLOEXEC);
	if (fd == -1)
		return;
	counter = mmap(NULL, sizeof(*counter), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (counter == MAP_FAILED)
		counter = NULL;
	close(fd);
}

__attribute__((constructor)) static void iofault_init(void)
{
	setup();
}

/* A descriptor worth failing: a regular file or a directory, not stdio. */
static int file_fd(int fd)
{
	struct stat st;

	if (fd <= 2 || syscall(SYS_fstat, fd, &st) == -1)
		return 0;
	return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
}

/* Count this call; 1 if it is the one to fail (errno set). */
static int hit(const char *what)
{
	unsigned long n;
	const char *log;

	setup();
	if (counter == NULL)
		return 0;
	n = atomic_fetch_add(counter, 1) + 1;
	if (fail_at == 0 || n != fail_at)
		return 0;
	if ((log = getenv("IOFAULT_LOG")) != NULL) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0666);

		if (fd != -1) {
			char line[128];
			int k = snprintf(line, sizeof line, "%lu %s pid %ld\n", n, what,
			    (long)getpid());

			if (k > 0)
				(void)syscall(SYS_write, fd, line, (size_t)k);
			close(fd);
		}
	}
	errno = fail_errno;
	return 1;
}

ssize_t write(int fd, const void *p, size_t n)
{
	if (file_fd(fd) && hit("write"))
		return -1;
	return syscall(SYS_write, fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
	if (file_fd(fd) && hit("pwrite"))
		return -1;
	return syscall(SYS_pwrite64, fd, p, n, off);
}
ssize_t pwrite64(int fd, const void *p, size_t n, off_t off) __attribute__((alias("pwrite")));

ssize_t pread(int fd, void *p, size_t n, off_t off)
{
	static _Atomic unsigned long calls;

	setup();
	if (short_pread > 0 && n > short_pread && (atomic_fetch_add(&calls, 1) & 1) == 0)
		n = short_pread;
	return syscall(SYS_pread64, fd, p, n, off);
}
ssize_t pread64(int fd, void *p, size_t n, off_t off) __attribute__((alias("pread")));

int fsync(int fd)
{
	if (file_fd(fd) && hit("fsync"))
		return -1;
	return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd)
{
	if (file_fd(fd) && hit("fdatasync"))
		return -1;
	return (int)syscall(SYS_fdatasync, fd);
}

int renameat2(int ofd, const char *o, int nfd, const char *n, unsigned flags)
{
	if (hit("rename"))
		return -1;
	return (int)syscall(SYS_renameat2, ofd, o, nfd, n, flags);
}

int renameat(int ofd, const char *o, int nfd, const char *n)
{
	return renameat2(ofd, o, nfd, n, 0);
}

int rename(const char *o, const char *n)
{
	return renameat2(AT_FDCWD, o, AT_FDCWD, n, 0);
}

int linkat(int ofd, const char *o, int nfd, const char *n, int flags)
{
	if (hit("link"))
		return -1;
	return (int)syscall(SYS_linkat, ofd, o, nfd, n, flags);
}

int link(const char *o, const char *n)
{
	return linkat(AT_FDCWD, o, AT_FDCWD, n, 0);
}

int unlinkat(int dfd, const char *p, int flags)
{
	if (hit("unlink"))
		return -1;
	return (int)syscall(SYS_unlinkat, dfd, p, flags);
}

int unlink(const char *p)
{
	return unlinkat(AT_FDCWD, p, 0);
}

static int open_counts(int flags)
{
	return (flags & (O_CREAT | O_WRONLY | O_RDWR | O_TMPFILE)) != 0;
}

int openat(int dfd, const char *p, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (open_counts(flags) && strncmp(p, "/dev/", 5) != 0 && strncmp(p, "/proc/", 6) != 0 &&
	    hit("openat"))
		return -1;
	return (int)syscall(SYS_openat, dfd, p, flags, mode);
}
int openat64(int dfd, const char *p, int flags, ...) __attribute__((alias("openat")));

int open(const char *p, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return openat(AT_FDCWD, p, flags, mode);
}
int open64(const char *p, int flags, ...) __attribute__((alias("open")));
