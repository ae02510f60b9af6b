/*
 * The names in relayd's queue (SPOOL/queue/ and SPOOL/failed/), in one
 * place: a message is ID.msg (the bytes to send) plus ID.env (its state
 * file, spool_qmsg.h), and ID.env.tmp exists only while a state file is
 * being replaced. ID is a queue id: QUEUE_ID_LEN upper-case hex digits
 * (queue_id_new). relayd's queue module (relayd/queue.h) and mailq
 * (spool_qlist.c) build and parse these names only through here.
 */
#ifndef NULLRELAY_SPOOL_QUEUE_H
#define NULLRELAY_SPOOL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

/* A queue id: 16 hex digits; QUEUE_ID_SIZE with its NUL. */
#define QUEUE_ID_LEN 16
#define QUEUE_ID_SIZE (QUEUE_ID_LEN + 1)

/* The files of one queue entry. */
enum queue_part {
	QUEUE_MSG,	/* ID.msg */
	QUEUE_ENV,	/* ID.env */
	QUEUE_ENV_TMP,	/* ID.env.tmp */
};

/* Room for the longest name, ID.env.tmp, and its NUL. */
#define QUEUE_NAME_SIZE (QUEUE_ID_LEN + sizeof ".env.tmp")

/* out = the file name of part of id (id must be a queue id). Returns out. */
const char *queue_name(char out[QUEUE_NAME_SIZE], const char *id, enum queue_part part);

/*
 * Is name one of the queue's files? Then its id (a valid queue id) into
 * id and its part into *part, true. Anything else (index, dot files,
 * names users chose): false.
 */
bool queue_name_parse(const char *name, char id[QUEUE_ID_SIZE], enum queue_part *part);

/* Does dir hold part of id (lstat: a symlink counts as there)? */
bool queue_has(int dir, const char *id, enum queue_part part);

/*
 * Iterate over the queue files in dir (queue/ or failed/): cb for each name
 * queue_name_parse accepts, in readdir order. A nonzero return from cb
 * stops the walk and is returned. -1 with errno if dir cannot be read.
 * cb may unlink or rename the entry it is given, nothing else.
 */
typedef int (*queue_each_cb)(void *ctx, const char *id, enum queue_part part);
int queue_each(int dir, queue_each_cb cb, void *ctx);

/* A new queue identifier: QUEUE_ID_LEN upper-case hex digits, the first 8
 * the time in seconds so that ids sort by arrival (util_queue_id.c). */
void queue_id_new(char out[QUEUE_ID_SIZE]);
/* True if s is a well-formed queue identifier as made by queue_id_new. */
bool queue_id_valid(const char *s);

#endif
