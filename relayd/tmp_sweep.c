/* Removal of abandoned partial drop files: see tmp_sweep.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "tmp_sweep.h"

unsigned tmp_sweep(int spoolfd, time_t now)
{
	unsigned removed = 0;
	struct dirent *de;
	DIR *dir;
	int fd;

	fd = openat(spoolfd, SPOOL_DROP_TMP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		log_warn("cannot read %s", SPOOL_DROP_TMP);
		if (fd != -1)
			close(fd);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		char shown[LOG_SAFE_SIZE(NAME_MAX)];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (st.st_mtime > now - TMP_STALE_AGE)
			continue;
		/* A user chose the name: never log it raw. */
		log_safe(de->d_name, shown, sizeof shown);
		/* Never follow anything a user left here: unlinkat removes the
		 * name only; a directory is left alone (and said so). */
		if (S_ISDIR(st.st_mode)) {
			log_warnx("%s/%s: a directory a user left; remove it by hand",
			    SPOOL_DROP_TMP, shown);
			continue;
		}
		if (unlinkat(fd, de->d_name, 0) == 0) {
			log_info("removed abandoned %s/%s (uid %u, %lld bytes)", SPOOL_DROP_TMP,
			    shown, (unsigned)st.st_uid, (long long)st.st_size);
			removed++;
		} else if (errno != ENOENT) {
			log_warn("cannot remove %s/%s", SPOOL_DROP_TMP, shown);
		}
	}
	closedir(dir);
	return removed;
}
