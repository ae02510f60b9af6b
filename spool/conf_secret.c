/*
 * The secret-file policy: see conf_secret.h. The messages say what to run, since
 * the person reading them is usually fixing a fresh install.
 */
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>

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
