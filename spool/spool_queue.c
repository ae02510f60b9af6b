/* The queue's file names and the walk over a queue directory
 * (spool_queue.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_queue.h"

static const char *const suffix[] = {
	[QUEUE_MSG] = ".msg",
	[QUEUE_ENV] = ".env",
	[QUEUE_ENV_TMP] = ".env.tmp",
};

const char *queue_name(char out[QUEUE_NAME_SIZE], const char *id, enum queue_part part)
{
	size_t n = strnlen(id, QUEUE_ID_LEN);

	/* Lengths are fixed: no snprintf, nothing to truncate. */
	memcpy(out, id, n);
	memcpy(out + n, suffix[part], strlen(suffix[part]) + 1);
	return out;
}

bool queue_name_parse(const char *name, char id[QUEUE_ID_SIZE], enum queue_part *part)
{
	size_t i;

	if (strnlen(name, QUEUE_ID_LEN) != QUEUE_ID_LEN)
		return false;
	for (i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		if (strcmp(name + QUEUE_ID_LEN, suffix[i]) == 0)
			break;
	}
	if (i == sizeof suffix / sizeof suffix[0])
		return false;
	memcpy(id, name, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	if (!queue_id_valid(id))
		return false;
	*part = (enum queue_part)i;
	return true;
}

bool queue_has(int dir, const char *id, enum queue_part part)
{
	char name[QUEUE_NAME_SIZE];
	struct stat st;

	return fstatat(dir, queue_name(name, id, part), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int queue_each(int dir, queue_each_cb cb, void *ctx)
{
	char id[QUEUE_ID_SIZE];
	enum queue_part part;
	struct dirent *de;
	DIR *d;
	int fd, r = 0, e;

	/* A descriptor of our own: the caller's stays at its offset. */
	fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	while (r == 0) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			/* A listing cut short by an error is not a short queue. */
			if (errno != 0)
				r = -1;
			break;
		}
		if (queue_name_parse(de->d_name, id, &part))
			r = cb(ctx, id, part);
	}
	/* The errno of readdir or of cb, whichever stopped the walk. */
	e = errno;
	closedir(d);
	errno = e;
	return r;
}
