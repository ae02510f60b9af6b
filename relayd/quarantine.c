/* The quarantine's bound: see quarantine.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "quarantine.h"
#include "util.h"

struct qfile {
	char name[256];
	struct timespec mtime;
	unsigned long long size;
	uid_t uid;
};

static int oldest_first(const void *a, const void *b)
{
	const struct qfile *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

size_t quarantine_trim(int qdir)
{
	struct qfile *f = NULL;
	size_t n = 0, cap = 0, i, removed = 0;
	unsigned long long bytes = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((fd = openat(qdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    st.st_uid == geteuid() || strlen(de->d_name) >= sizeof f->name)
			continue;	/* ours (accepted mail): never trimmed */
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			f = xreallocarray(f, cap, sizeof(*f));
		}
		strlcpy(f[n].name, de->d_name, sizeof f[n].name);
		f[n].mtime = st.st_mtim;
		f[n].size = (unsigned long long)st.st_size;
		f[n].uid = st.st_uid;
		bytes += f[n].size;
		n++;
	}
	if (n > QUARANTINE_MAX_FILES || bytes > QUARANTINE_MAX_BYTES) {
		qsort(f, n, sizeof(*f), oldest_first);
		for (i = 0; i < n && (n - removed > QUARANTINE_MAX_FILES ||
		    bytes > QUARANTINE_MAX_BYTES); i++) {
			char shown[LOG_SAFE_SIZE(sizeof f->name)];

			if (unlinkat(dirfd(d), f[i].name, 0) == -1 && errno != ENOENT)
				continue;
			removed++;
			bytes -= f[i].size;
			log_warnx("quarantine full (over %d files or %llu MiB of refused drop files): "
			    "removed the oldest, quarantine/%s (uid %lu, %llu bytes)",
			    QUARANTINE_MAX_FILES, QUARANTINE_MAX_BYTES / (1024 * 1024),
			    log_safe(f[i].name, shown, sizeof shown), (unsigned long)f[i].uid,
			    f[i].size);
		}
		if (removed > 0)
			fsync(dirfd(d));
	}
	closedir(d);
	free(f);
	return removed;
}
