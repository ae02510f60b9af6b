/*
 * The one way into the queue (queue.h): pick-up (pickup.c) and reports
 * (bounce_queue.c) both create ID.msg here with O_EXCL, write it, and
 * commit ID.env with queue_enqueue. Nothing already in the queue is ever
 * overwritten: an id whose ID.msg exists (a stray file of an interrupted
 * run, or another entry being written) or whose ID.env exists in queue/ or
 * failed/ (a move into failed/ under way) is passed over for a fresh one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"

/* Fresh ids tried after the wanted one: a clash is already a 2^-32 event. */
#define CREATE_TRIES 8

int queue_create(const struct spool_dirs *d, char id[QUEUE_ID_SIZE], bool keep_id, char *err,
    size_t errlen)
{
	char name[QUEUE_NAME_SIZE];
	int tries, fd;

	for (tries = 0; tries <= CREATE_TRIES; tries++) {
		if (tries > 0 || !keep_id || !queue_id_valid(id))
			queue_id_new(id);
		if (queue_has(d->queue, id, QUEUE_ENV) || queue_has(d->failed, id, QUEUE_ENV))
			continue;
		fd = openat(d->queue, queue_name(name, id, QUEUE_MSG),
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST) {
			snprintf(err, errlen, "create queue/%s: %s", name, strerror(errno));
			return -1;
		}
	}
	snprintf(err, errlen, "no free queue id");
	return -1;
}

int queue_enqueue(const struct spool_dirs *d, const struct qmsg *m, bool sync, char *err,
    size_t errlen)
{
	int r;

	/* The commit's fsync of queue/ makes ID.msg's entry durable too; a
	 * staged entry waits for its batch's syncfs (pickup.c, step 2). */
	r = sync ? qmsg_commit(d->queue, m, err, errlen) : qmsg_stage(d->queue, m, err, errlen);
	if (r == -1)
		queue_discard(d->queue, m->id);
	return r;
}

void queue_discard(int qdir, const char *id)
{
	char name[QUEUE_NAME_SIZE];

	/* ID.env first: never a state file whose message is gone. */
	unlinkat(qdir, queue_name(name, id, QUEUE_ENV), 0);
	unlinkat(qdir, queue_name(name, id, QUEUE_ENV_TMP), 0);
	unlinkat(qdir, queue_name(name, id, QUEUE_MSG), 0);
}
