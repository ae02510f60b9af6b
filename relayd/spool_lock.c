/* The spool lock: see spool_lock.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_lock.h"

/* The lock as it must be: a regular file with one link, mode 0600, owned
 * by the spool's owner. Anything else may be open in another user's hands
 * (an older relayd made it 0644, and flock works on a read-only fd). */
static bool lock_sound(const struct stat *st, const struct stat *dst)
{
	return S_ISREG(st->st_mode) && st->st_nlink == 1 && (st->st_mode & 07777) == 0600 &&
	    st->st_uid == dst->st_uid;
}

/* Put a fresh 0600 file in place of SPOOL/relayd.lock (rename over it):
 * whoever holds the old inode holds nothing that matters any more. */
static int lock_replace(int dfd, const char *spool, const struct stat *dst, char *err,
    size_t errlen)
{
	char tmp[PATH_MAX];
	int fd, saved, n;

	n = snprintf(tmp, sizeof tmp, "%s/%s.XXXXXX", spool, SPOOL_LOCK);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", spool);
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fchmod(fd, 0600) == -1 ||
	    (geteuid() == 0 && fchown(fd, dst->st_uid, dst->st_gid) == -1) ||
	    renameat(AT_FDCWD, tmp, dfd, SPOOL_LOCK) == -1) {
		saved = errno;
		snprintf(err, errlen, "replace %s/%s: %s", spool, SPOOL_LOCK, strerror(saved));
		(void)unlink(tmp);
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int spool_lock_open(const char *spool, char *err, size_t errlen)
{
	struct stat st, dst;
	int dfd, fd, saved;

	dfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fstat(dfd, &dst) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", spool, strerror(saved));
		if (dfd != -1)
			close(dfd);
		errno = saved;
		return -1;
	}
	/* Read-only is enough for flock. Mode 0600 in a directory only its
	 * owner may write: no other user can open it, so none can hold it. */
	fd = openat(dfd, SPOOL_LOCK, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	saved = errno;
	if (fd == -1 && saved != ELOOP) {
		snprintf(err, errlen, "%s/%s: %s", spool, SPOOL_LOCK, strerror(saved));
		close(dfd);
		errno = saved;
		return -1;
	}
	if (fd != -1 && fstat(fd, &st) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s/%s: %s", spool, SPOOL_LOCK, strerror(saved));
		close(fd);
		close(dfd);
		errno = saved;
		return -1;
	}
	/* Made just now by root (the queue tools) under umask: give it to the
	 * spool's owner. */
	if (fd != -1 && geteuid() == 0 && st.st_uid == 0 && dst.st_uid != 0 &&
	    st.st_nlink == 1 && S_ISREG(st.st_mode) && (st.st_mode & 0077) == 0 &&
	    fchown(fd, dst.st_uid, dst.st_gid) == 0)
		st.st_uid = dst.st_uid;
	if (fd == -1 || !lock_sound(&st, &dst)) {
		if (fd != -1)
			close(fd);
		fd = lock_replace(dfd, spool, &dst, err, errlen);
	}
	saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

/* Is SPOOL/relayd.lock still the file fd has open? (A second relayd
 * replacing a stale 0644 lock at the same moment may have renamed another
 * one over it.) */
static bool lock_current(int fd, const char *spool)
{
	char path[PATH_MAX];
	struct stat a, b;
	int n = snprintf(path, sizeof path, "%s/%s", spool, SPOOL_LOCK);

	if (n < 0 || (size_t)n >= sizeof path)
		return false;
	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
}

int spool_lock_try(int *fdp, const char *spool)
{
	char err[512];
	int fd;

	for (;;) {
		if (flock(*fdp, LOCK_EX | LOCK_NB) == -1) {
			if (errno == EWOULDBLOCK)
				return 1;
			if (errno != EINTR)
				return -1;
			continue;
		}
		if (lock_current(*fdp, spool))
			return 0;
		/* We locked a file no longer in place: take the one that is. */
		if ((fd = spool_lock_open(spool, err, sizeof err)) == -1)
			return -1;
		close(*fdp);
		*fdp = fd;
	}
}
