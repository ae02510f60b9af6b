/* The spool lock: see spool_lock.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_lock.h"

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
	/* Read-only is enough for flock, and lets root and the relay user
	 * share a file either of them made. */
	fd = openat(dfd, SPOOL_LOCK, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
	saved = errno;
	close(dfd);
	if (fd == -1) {
		snprintf(err, errlen, "%s/%s: %s", spool, SPOOL_LOCK, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s/%s: not a regular file", spool, SPOOL_LOCK);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* Whatever the umask: anyone may see whether relayd runs. */
	if (st.st_uid == geteuid() && (st.st_mode & 07777) != 0644)
		(void)fchmod(fd, 0644);
	/* Made by root (the queue tools): leave it to whoever owns the spool. */
	if (geteuid() == 0 && st.st_uid == 0 && dst.st_uid != 0 &&
	    fchown(fd, dst.st_uid, dst.st_gid) == -1) {
		saved = errno;
		snprintf(err, errlen, "chown %s/%s: %s", spool, SPOOL_LOCK, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int spool_lock_try(int fd)
{
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			return 1;
		if (errno != EINTR)
			return -1;
	}
	return 0;
}
