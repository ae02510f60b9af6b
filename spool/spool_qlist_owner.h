/*
 * Who submitted each queued message, remembered between listings, so an
 * ordinary user's mailq parses only their own state files (and new ones)
 * instead of every file of everyone (issue 14: a user with 50 000 queued
 * messages must not make everyone's LIST cost 50 000 parses). The owner of
 * a queue file is always the relay user; the submitter is inside it, so it
 * is learnt on the first parse and kept while the id stays in the queue.
 * Drop files need no memory: their owner is the submitter (fstatat).
 */
#ifndef NULLRELAY_QLIST_OWNER_H
#define NULLRELAY_QLIST_OWNER_H

#include <stdbool.h>
#include <sys/types.h>

struct qlist_owners;

struct qlist_owners *qlist_owners_new(void);
void qlist_owners_free(struct qlist_owners *t);

/* A listing starts: ids not seen again before qlist_owners_end are
 * forgotten. */
void qlist_owners_begin(struct qlist_owners *t);
void qlist_owners_end(struct qlist_owners *t);
/* The submitter of id, if known (and mark it seen). */
bool qlist_owners_get(struct qlist_owners *t, const char *id, uid_t *uid);
void qlist_owners_put(struct qlist_owners *t, const char *id, uid_t uid);

#endif
