/* The spool's directories, opened once by relayd (queue.h). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "spool.h"

int queue_dirs_open(const char *spool, struct spool_dirs *d, char *err, size_t errlen)
{
	static const struct {
		const char *rel;
		size_t off;
	} dirs[] = {
		{ SPOOL_DROP_NEW, offsetof(struct spool_dirs, newdir) },
		{ SPOOL_QUEUE, offsetof(struct spool_dirs, queue) },
		{ SPOOL_FAILED, offsetof(struct spool_dirs, failed) },
		{ SPOOL_QUARANTINE, offsetof(struct spool_dirs, quarantine) },
	};
	size_t i;

	d->newdir = d->queue = d->failed = d->quarantine = -1;
	d->spool = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->spool == -1) {
		snprintf(err, errlen, "%s: %s", spool, strerror(errno));
		return -1;
	}
	for (i = 0; i < NR_ARRAY_LEN(dirs); i++) {
		int fd = openat(d->spool, dirs[i].rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd == -1) {
			snprintf(err, errlen, "%s/%s: %s", spool, dirs[i].rel, strerror(errno));
			queue_dirs_close(d);
			return -1;
		}
		*(int *)(void *)((char *)d + dirs[i].off) = fd;
	}
	return 0;
}

void queue_dirs_close(struct spool_dirs *d)
{
	int *fds[] = { &d->spool, &d->newdir, &d->queue, &d->failed, &d->quarantine };
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(fds); i++) {
		if (*fds[i] != -1)
			close(*fds[i]);
		*fds[i] = -1;
	}
}
