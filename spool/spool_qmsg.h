/*
 * The state file of one queued message (SPOOL/queue/ID.env or
 * SPOOL/failed/ID.env): the envelope plus delivery state. The format is
 * described at the top of spool_qmsg.c. relayd's queue (relayd/queue.h) builds
 * on this; sendmail links it for mailq when relayd is not running.
 */
#ifndef NULLRELAY_QSTATE_H
#define NULLRELAY_QSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <time.h>

#include "spool_envelope.h"
#include "util.h"

#define QUEUE_STATE_MAGIC "NULLRELAY-STATE 1"
/* Largest state file we read (10000 recipients with long replies fit). */
#define QUEUE_STATE_MAX (16 * 1024 * 1024)
#define QUEUE_TEXT_MAX 512

enum rcpt_state {
	RCPT_PENDING,	/* not tried yet */
	RCPT_DEFERRED,	/* tried, temporary failure: retry */
	RCPT_SENT,	/* the smarthost accepted it: done */
	RCPT_FAILED,	/* permanent failure or expired: needs a bounce */
};

struct qrcpt {
	enum rcpt_state state;
	int code;		/* last reply code; 0 = none (network, expiry) */
	char dsn[16];		/* last enhanced status, "" = none */
	char *text;		/* last reply text or our reason, NULL = none */
	char *relay;		/* "host[addr]:port" that said it, NULL = none */
};

struct qdrop {			/* identity of the drop file this came from */
	uint64_t dev, ino, size;
	uint64_t uid;
};

struct qmsg {
	char id[QUEUE_ID_SIZE];
	struct envelope env;
	struct qrcpt *rcpts;	/* env.nrcpts entries */
	uid_t uid;		/* submitter, from the drop file's owner */
	double arrival;		/* wall clock, seconds */
	bool has_drop;
	struct qdrop drop;
	uint64_t size;		/* bytes of ID.msg */
	unsigned tries;		/* delivery attempts so far */
	time_t next;		/* next attempt (absolute); 0 = due */
	time_t last_attempt;	/* 0 = never */
	bool warned;		/* the delay warning was sent */
	bool held;		/* on hold (relayd --hold): never attempted */
	bool redirected;	/* a failed bounce re-addressed to admin_addr */
};

void qmsg_init(struct qmsg *m);
void qmsg_free(struct qmsg *m);
/* Size m->rcpts to m->env.nrcpts (all RCPT_PENDING). */
void qmsg_init_rcpts(struct qmsg *m);

/* The state file text of m into b (b's cap permitting). 0 or -1. */
int qmsg_format(const struct qmsg *m, struct buf *b);
/* Parse a whole state file. 0, or -1 with the line and reason in err. */
int qmsg_parse(struct qmsg *m, const char *id, const char *text, size_t len,
    char *err, size_t errlen);

/* Read qdir/ID.env. 0, -1 with err (errno ENOENT when there is none). */
int qmsg_load(int qdir, const char *id, struct qmsg *m, char *err, size_t errlen);
/* The same, and the fstat of the file it read into *st (mailq's cache). */
int qmsg_load_stat(int qdir, const char *id, struct qmsg *m, struct stat *st, char *err,
    size_t errlen);
/* Atomically replace qdir/ID.env: ID.env.tmp, fsync, rename, fsync qdir. */
int qmsg_commit(int qdir, const struct qmsg *m, char *err, size_t errlen);
/*
 * The same without any fsync: ID.env.tmp written and renamed over ID.env.
 * For batches (relayd's pick-up): the caller makes the whole batch durable
 * at once (syncfs) before anything relies on it.
 */
int qmsg_stage(int qdir, const struct qmsg *m, char *err, size_t errlen);

/* Set one recipient's outcome; text is made printable and bounded. */
void qmsg_set_reply(struct qmsg *m, size_t i, enum rcpt_state st, int code,
    const char *dsn, const char *text, const char *relay);
/* Recipients still to deliver (pending or deferred) / failed. */
size_t qmsg_remaining(const struct qmsg *m);
size_t qmsg_failed(const struct qmsg *m);
const char *qmsg_rcpt_state_name(enum rcpt_state st);

#endif
