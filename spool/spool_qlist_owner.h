/*
 * What the queue listing remembers between listings (relayd's LIST): for
 * each queued message, a compact record of what mailq prints (qlist_rec:
 * submitter, size, arrival, sender, tries, next attempt and the listed
 * recipients with their state and last reply) and the identity of the
 * state file it was read from (inode, size, mtime, ctime).
 *
 * - An ordinary user's mailq parses only their own state files (and new
 *   ones) instead of every file of everyone (issue 14: a user with 50 000
 *   queued messages must not make everyone's LIST cost 50 000 parses): the
 *   submitter of an id never changes, so it is trusted without a look.
 * - Root's mailq of 100 000 queued messages re-reads only the state files
 *   that changed (issue 9: it took 8.6 s to open, read and parse them all):
 *   one fstatat per message tells a record still matches its file. A state
 *   file is only ever replaced whole by a rename (spool_qmsg.c), so a new
 *   version is a new inode with a new ctime; a record read while its file
 *   was under 2 s old is never trusted for content ("racy", as git treats
 *   its index): a rewrite in the same timestamp tick that reused the inode
 *   number cannot pass for the old version.
 * Drop files need no memory: their owner is the submitter (fstatat), and
 * they are not cached.
 */
#ifndef NULLRELAY_QLIST_OWNER_H
#define NULLRELAY_QLIST_OWNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "spool_qmsg.h"

/* One message as the listing shows it; one allocation. */
struct qlist_rec {
	char id[QUEUE_ID_SIZE];
	bool failed;	/* read from failed/ */
	bool maildrop;	/* a drop file in incoming/new */
	bool held;
	bool racy;	/* read too soon after its file was written: not trusted */
	uid_t uid;
	double arrival;
	uint64_t size;
	unsigned tries;
	time_t next;
	size_t nrcpts;	/* listed recipients (not yet sent) */
	/* The state file it was read from. */
	ino_t ino;
	off_t st_size;
	struct timespec mtim, ctim;
	size_t len;
	/* sender NUL, then per listed recipient: its state as one byte, the
	 * address NUL, the original address NUL ("" = none or the same), the
	 * last reply as mailq prints it NUL. */
	char data[];
};

/* One listed recipient of a record. */
struct qlist_rcpt {
	enum rcpt_state state;
	const char *addr;
	const char *orcpt;	/* NULL = none, or the same as addr */
	const char *reply;	/* "" = none */
};

/* The record of m (its listed recipients, replies formatted as mailq
 * prints them). st: the state file m was read from (NULL for a drop file);
 * now: the wall clock when it was read (for "racy"). Free with free(). */
struct qlist_rec *qlist_rec_new(const struct qmsg *m, bool failed, bool maildrop,
    const struct stat *st, time_t now);
const char *qlist_rec_sender(const struct qlist_rec *r);
/* The next listed recipient after *off (start with 0): true and *out, or
 * false at the end. */
bool qlist_rec_rcpt(const struct qlist_rec *r, size_t *off, struct qlist_rcpt *out);
/* Does r still describe the state file st (of failed/ or queue/)? */
bool qlist_rec_fresh(const struct qlist_rec *r, const struct stat *st, bool failed);
/* The last reply of m's recipient i as "451 4.3.0 text", or "". */
void qlist_reply_text(const struct qrcpt *r, char *out, size_t outlen);

struct qlist_owners;

struct qlist_owners *qlist_owners_new(void);
void qlist_owners_free(struct qlist_owners *t);

/* A listing starts: ids not seen again before qlist_owners_end(t, true)
 * are forgotten; qlist_owners_end(t, false) (an incomplete pass) forgets
 * nothing. */
void qlist_owners_begin(struct qlist_owners *t);
void qlist_owners_end(struct qlist_owners *t, bool complete);
/* The record of id, if known (and mark it seen); owned by t. */
struct qlist_rec *qlist_owners_get(struct qlist_owners *t, const char *id);
/* Keep r (taken over; one of the same id is freed) and mark it seen. */
void qlist_owners_put(struct qlist_owners *t, struct qlist_rec *r);
/* The same, but one already held for the id wins (r is freed). */
void qlist_owners_add(struct qlist_owners *t, struct qlist_rec *r);
/* Room for n more without growing. */
void qlist_owners_reserve(struct qlist_owners *t, size_t n);
/* Records held (for tests and the metrics). */
size_t qlist_owners_count(const struct qlist_owners *t);
typedef void (*qlist_owners_cb)(void *ctx, const struct qlist_rec *r);
/* cb for every record held, in no order. */
void qlist_owners_each(const struct qlist_owners *t, qlist_owners_cb cb, void *ctx);
/* Is r (r->len bytes of data after it, read from a file) well formed? */
bool qlist_rec_valid(const struct qlist_rec *r);

/*
 * queue/mailq.cache (spool_qlist_save.c): the records, written when relayd
 * stops cleanly, read back (and removed) when it starts, so the first
 * mailq after a restart does not read 100 000 state files either. Only a
 * cache: each record is checked against its state file before use, like
 * any other; a file that is not whole and well formed is ignored.
 */
#define QLIST_SAVE_NAME "mailq.cache"
/* Write t into dir/name (name.tmp, rename). 0 or -1 (nothing left). */
int qlist_owners_save(struct qlist_owners *t, int dir, const char *name);
/* Read dir/name into t and remove it: the records taken, 0 for none.
 * Records t already holds (fresher: read since) are kept. */
size_t qlist_owners_load(struct qlist_owners *t, int dir, const char *name);
/* The same, but at the first listing (qlist_format) or save, or
 * qlist_owners_load_now: relayd's start does not wait for it. dir must
 * stay open until then. */
void qlist_owners_load_later(struct qlist_owners *t, int dir, const char *name);
void qlist_owners_load_now(struct qlist_owners *t);
/* The load qlist_owners_load_later asked for, once: true and its dir and
 * name (valid while t lives), or false. */
bool qlist_owners_pending(struct qlist_owners *t, int *dir, const char **name);

#endif
