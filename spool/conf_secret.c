/*
 * The secret-file policy: see conf_secret.h. The messages say what to run, since
 * the person reading them is usually fixing a fresh install.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf_secret.h"

int secret_file_check(const char *key, const char *path, const struct stat *st,
    uid_t relay_uid, char *err, size_t errlen)
{
	struct passwd *pw = getpwuid(relay_uid);
	char who[64], owner[64];
	bool bad_owner, bad_mode;
	mode_t mode;

	if (pw != NULL)
		snprintf(who, sizeof who, "%s", pw->pw_name);
	else
		snprintf(who, sizeof who, "%ld", (long)relay_uid);
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", key, path);
		return -1;
	}
	mode = st->st_mode & 07777;
	bad_mode = mode != 0600 && mode != 0400;
	bad_owner = st->st_uid != relay_uid;
	if ((pw = getpwuid(st->st_uid)) != NULL)
		snprintf(owner, sizeof owner, "uid %ld (%s)", (long)st->st_uid, pw->pw_name);
	else
		snprintf(owner, sizeof owner, "uid %ld", (long)st->st_uid);
	if (bad_owner && bad_mode)
		snprintf(err, errlen, "%s %s is owned by %s, not by the relay user %s, and has "
		    "mode %04o (must be 0600 or 0400); run: chown %s %s && chmod 600 %s", key,
		    path, owner, who, (unsigned)mode, who, path, path);
	else if (bad_owner)
		snprintf(err, errlen, "%s %s is owned by %s, not by the relay user %s (uid %ld); "
		    "run: chown %s %s", key, path, owner, who, (long)relay_uid, who, path);
	else if (bad_mode)
		snprintf(err, errlen, "%s %s has mode %04o: it must be readable by its owner "
		    "only (0600 or 0400); run: chmod 600 %s", key, path, (unsigned)mode, path);
	return bad_owner || bad_mode ? -1 : 0;
}

int secret_file_open(const char *key, const char *path, uid_t relay_uid, char *err,
    size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		e = errno;
		/* A symbolic link (ELOOP) or a file we may not read: say what is
		 * wrong with it (not a regular file, its owner, its mode) when the
		 * rule explains the refusal better than the errno does; then errno
		 * is EPERM. EACCES stays only for a file the rule accepts that this
		 * process may not open (see conf_secret.h). */
		if ((e == ELOOP || e == EACCES) && lstat(path, &st) == 0 &&
		    secret_file_check(key, path, &st, relay_uid, err, errlen) != 0)
			e = EPERM;
		else
			snprintf(err, errlen, "%s %s: %s", key, path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (secret_file_check(key, path, &st, relay_uid, err, errlen) != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}
