/*
 * The queue module: names (spool/spool_queue.c), the walk over a queue
 * directory, creation with O_EXCL and enqueue (relayd/queue_enqueue.c),
 * and start-up recovery of every leftover a crash can leave
 * (relayd/queue_recover.c), on a scratch spool.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "queue.h"
#include "queue_index.h"
#include "queue_recover.h"
#include "sched.h"
#include "spool.h"

#define A "6B02DEEA00000001"
#define B "6B02DEEA00000002"

static char spool[] = "/tmp/nrunit-queue.XXXXXX";

static void test_names(void)
{
	char name[QUEUE_NAME_SIZE], id[QUEUE_ID_SIZE];
	enum queue_part part;

	CHECK_INT(QUEUE_ID_SIZE, 17);
	CHECK_STR(queue_name(name, A, QUEUE_MSG), A ".msg");
	CHECK_STR(queue_name(name, A, QUEUE_ENV), A ".env");
	CHECK_STR(queue_name(name, A, QUEUE_ENV_TMP), A ".env.tmp");
	CHECK(queue_name_parse(A ".env", id, &part) && part == QUEUE_ENV);
	CHECK_STR(id, A);
	CHECK(queue_name_parse(A ".msg", id, &part) && part == QUEUE_MSG);
	CHECK(queue_name_parse(A ".env.tmp", id, &part) && part == QUEUE_ENV_TMP);
	CHECK(!queue_name_parse("index", id, &part));
	CHECK(!queue_name_parse("index.tmp", id, &part));
	CHECK(!queue_name_parse(A, id, &part));
	CHECK(!queue_name_parse(A ".envx", id, &part));
	CHECK(!queue_name_parse(A ".msg.tmp", id, &part));
	CHECK(!queue_name_parse("6b02deea00000001.env", id, &part));	/* lower case */
	CHECK(!queue_name_parse("6B02DEEA0000001.env", id, &part));	/* 15 digits */
	CHECK(!queue_name_parse("6B02DEEA000000012.env", id, &part));
}

static void put(int dir, const char *name, const char *text)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd != -1);
	if (fd == -1)
		return;
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static bool there(int dir, const char *name)
{
	struct stat st;

	return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

struct seen {
	unsigned env, msg, tmp;
};

static int count(void *ctx, const char *id, enum queue_part part)
{
	struct seen *s = ctx;

	CHECK(queue_id_valid(id));
	s->env += part == QUEUE_ENV;
	s->msg += part == QUEUE_MSG;
	s->tmp += part == QUEUE_ENV_TMP;
	return 0;
}

static int stop_at_first(void *ctx, const char *id, enum queue_part part)
{
	(*(unsigned *)ctx)++;
	return 7;
}

/* A walk cb that fails: queue_each returns its -1 with its errno. */
static int fail_enospc(void *ctx, const char *id, enum queue_part part)
{
	(void)ctx;
	(void)id;
	(void)part;
	errno = ENOSPC;
	return -1;
}

static void spool_make(struct spool_dirs *d)
{
	char path[256], err[256];
	const char *sub[] = { SPOOL_DROP_DIR, SPOOL_DROP_NEW, SPOOL_QUEUE, SPOOL_FAILED,
		SPOOL_QUARANTINE };
	size_t i;

	CHECK(mkdtemp(spool) != NULL);
	for (i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", spool, sub[i]);
		CHECK(mkdir(path, 0700) == 0);
	}
	CHECK(queue_dirs_open(spool, d, err, sizeof err) == 0);
}

static void test_each(const struct spool_dirs *d)
{
	struct seen s = { 0 };
	unsigned n = 0;

	put(d->queue, A ".env", "x");
	put(d->queue, A ".msg", "x");
	put(d->queue, B ".env.tmp", "x");
	put(d->queue, "index", "x");
	put(d->queue, "junk.env", "x");
	CHECK_INT(queue_each(d->queue, count, &s), 0);
	CHECK_INT(s.env, 1);
	CHECK_INT(s.msg, 1);
	CHECK_INT(s.tmp, 1);
	CHECK_INT(queue_each(d->queue, stop_at_first, &n), 7);
	CHECK_INT(n, 1);
	errno = 0;
	CHECK_INT(queue_each(d->queue, fail_enospc, NULL), -1);
	CHECK_INT(errno, ENOSPC);
	CHECK(queue_has(d->queue, A, QUEUE_ENV));
	CHECK(!queue_has(d->queue, B, QUEUE_ENV));
	CHECK_INT(queue_each(-1, count, &s), -1);
	queue_discard(d->queue, A);
	queue_discard(d->queue, B);
	CHECK(!there(d->queue, A ".env") && !there(d->queue, A ".msg"));
	CHECK(!there(d->queue, B ".env.tmp"));
	unlinkat(d->queue, "index", 0);
	unlinkat(d->queue, "junk.env", 0);
}

/* A state file for id with one pending recipient. */
static void make_state(struct qmsg *m, const char *id, uint64_t size)
{
	qmsg_init(m);
	strlcpy(m->id, id, sizeof m->id);
	m->env.sender = xstrdup("alice@example.org");
	envelope_add_rcpt(&m->env, "bob@example.org", NULL);
	qmsg_init_rcpts(m);
	m->uid = 1000;
	m->arrival = 1700000000;
	m->size = size;
}

static void test_create(const struct spool_dirs *d)
{
	char id[QUEUE_ID_SIZE], err[256];
	struct qmsg m, back;
	int fd;

	/* The wanted id when it is free. */
	strlcpy(id, A, sizeof id);
	fd = queue_create(d, id, true, err, sizeof err);
	CHECK(fd != -1);
	CHECK_STR(id, A);
	CHECK(write(fd, "hello\n", 6) == 6);
	close(fd);
	/* Taken (ID.msg there): never overwritten, a fresh id instead. */
	strlcpy(id, A, sizeof id);
	fd = queue_create(d, id, true, err, sizeof err);
	CHECK(fd != -1);
	CHECK(strcmp(id, A) != 0 && queue_id_valid(id));
	close(fd);
	queue_discard(d->queue, id);
	{
		struct stat st;

		CHECK(fstatat(d->queue, A ".msg", &st, 0) == 0 && st.st_size == 6);
		CHECK_INT(st.st_mode & 07777, 0600);
	}
	/* An ID.env in failed/ (a move under way) keeps the id out of use. */
	put(d->failed, B ".env", "x");
	strlcpy(id, B, sizeof id);
	fd = queue_create(d, id, true, err, sizeof err);
	CHECK(fd != -1 && strcmp(id, B) != 0);
	close(fd);
	queue_discard(d->queue, id);
	unlinkat(d->failed, B ".env", 0);
	/* Without keep_id, always fresh. */
	strlcpy(id, B, sizeof id);
	fd = queue_create(d, id, false, err, sizeof err);
	CHECK(fd != -1 && strcmp(id, B) != 0);
	close(fd);
	queue_discard(d->queue, id);

	/* Enqueue A: its state committed and loadable. */
	make_state(&m, A, 6);
	CHECK_INT(queue_enqueue(d, &m, true, err, sizeof err), 0);
	CHECK_INT(qmsg_load(d->queue, A, &back, err, sizeof err), 0);
	CHECK_INT(back.size, 6);
	qmsg_free(&back);
	qmsg_free(&m);
	/* Staged (no fsync) is the same on disk. */
	make_state(&m, A, 6);
	m.tries = 2;
	CHECK_INT(queue_enqueue(d, &m, false, err, sizeof err), 0);
	CHECK_INT(qmsg_load(d->queue, A, &back, err, sizeof err), 0);
	CHECK_INT(back.tries, 2);
	qmsg_free(&back);
	qmsg_free(&m);
	queue_discard(d->queue, A);
	CHECK(!queue_has(d->queue, A, QUEUE_ENV) && !queue_has(d->queue, A, QUEUE_MSG));
}

/* Write a whole entry id (state + message) into dir (staged: no fsync,
 * the tests write thousands). */
static void entry(int dir, const char *id, bool with_msg, bool with_env)
{
	char err[256];
	struct qmsg m;

	make_state(&m, id, 6);
	if (with_msg) {
		char name[QUEUE_NAME_SIZE];

		put(dir, queue_name(name, id, QUEUE_MSG), "hello\n");
	}
	if (with_env)
		CHECK_INT(qmsg_stage(dir, &m, err, sizeof err), 0);
	qmsg_free(&m);
}

static void test_recover(const struct spool_dirs *d)
{
	static const char *const ids[] = {
		"6B02DEEA00000010",	/* whole: scheduled */
		"6B02DEEA00000011",	/* ID.msg only: removed */
		"6B02DEEA00000012",	/* ID.env.tmp: removed, ID.env stands */
		"6B02DEEA00000013",	/* unparsable: quarantined with its message */
		"6B02DEEA00000014",	/* move into failed/ cut short: finished */
		"6B02DEEA00000015",	/* requeue cut short: finished, scheduled */
		"6B02DEEA00000016",	/* no message anywhere: quarantined */
		"6B02DEEA00000017",	/* requeued, stale failed/ID.env: removed */
	};
	struct conf c;
	struct sched *s = sched_new();
	struct queue_recovery *r;

	memset(&c, 0, sizeof c);
	entry(d->queue, ids[0], true, true);
	entry(d->queue, ids[1], true, false);
	entry(d->queue, ids[2], true, true);
	put(d->queue, "6B02DEEA00000012.env.tmp", "half");
	put(d->queue, "6B02DEEA00000013.env", "NULLRELAY-STATE 1\nnonsense\n");
	put(d->queue, "6B02DEEA00000013.msg", "hello\n");
	entry(d->queue, ids[4], false, true);
	entry(d->failed, ids[4], true, false);
	entry(d->queue, ids[5], false, true);
	entry(d->failed, ids[5], true, true);
	entry(d->queue, ids[6], false, true);
	entry(d->queue, ids[7], true, true);
	entry(d->failed, ids[7], false, true);

	r = queue_recover_begin(&c, d, s, true);
	CHECK(r == NULL);
	CHECK(sched_has(s, ids[0]));
	CHECK(!there(d->queue, "6B02DEEA00000011.msg"));
	CHECK(!sched_has(s, ids[1]));
	CHECK(!there(d->queue, "6B02DEEA00000012.env.tmp"));
	CHECK(sched_has(s, ids[2]));
	CHECK(there(d->quarantine, "6B02DEEA00000013.env"));
	CHECK(there(d->quarantine, "6B02DEEA00000013.msg"));
	CHECK(!sched_has(s, ids[3]));
	CHECK(there(d->failed, "6B02DEEA00000014.env") && there(d->failed, "6B02DEEA00000014.msg"));
	CHECK(!there(d->queue, "6B02DEEA00000014.env"));
	CHECK(!sched_has(s, ids[4]));
	CHECK(there(d->queue, "6B02DEEA00000015.env") && there(d->queue, "6B02DEEA00000015.msg"));
	CHECK(!there(d->failed, "6B02DEEA00000015.env") && !there(d->failed, "6B02DEEA00000015.msg"));
	CHECK(sched_has(s, ids[5]));
	CHECK(there(d->quarantine, "6B02DEEA00000016.env"));
	CHECK(!sched_has(s, ids[6]));
	CHECK(sched_has(s, ids[7]));
	CHECK(!there(d->failed, "6B02DEEA00000017.env"));
	CHECK_INT(sched_count(s), 4);
	sched_free(s);
}

/* A state file of id recording the drop file incoming/new/DROP (its
 * identity as fstatat gives it now), with its message. */
static void entry_from_drop(const struct spool_dirs *d, const char *id, const char *drop)
{
	char err[256], name[QUEUE_NAME_SIZE];
	struct stat st;
	struct qmsg m;

	make_state(&m, id, 6);
	CHECK(fstatat(d->newdir, drop, &st, AT_SYMLINK_NOFOLLOW) == 0);
	m.has_drop = true;
	m.drop.dev = (uint64_t)st.st_dev;
	m.drop.ino = (uint64_t)st.st_ino;
	m.drop.size = (uint64_t)st.st_size;
	m.drop.uid = (uint64_t)st.st_uid;
	put(d->queue, queue_name(name, id, QUEUE_MSG), "hello\n");
	CHECK_INT(qmsg_stage(d->queue, &m, err, sizeof err), 0);
	qmsg_free(&m);
}

/* Start-up lists incoming/new once (queue_recover.c); a state file whose
 * drop file is still there, the very same file, is left to pick-up, and
 * every other one is scheduled. */
static void test_recover_drops(const struct spool_dirs *d)
{
	static const char *const ids[] = {
		"6B02DEEA00000030",	/* its drop file is still there: left to pick-up */
		"6B02DEEA00000031",	/* its drop file is gone: scheduled */
		"6B02DEEA00000032",	/* a drop file of that name, another file: scheduled */
	};
	struct conf c;
	struct sched *s = sched_new();
	struct queue_recovery *r;

	memset(&c, 0, sizeof c);
	put(d->newdir, ids[0], "drop 0\n");
	entry_from_drop(d, ids[0], ids[0]);
	put(d->newdir, ids[1], "drop 1\n");
	entry_from_drop(d, ids[1], ids[1]);
	unlinkat(d->newdir, ids[1], 0);
	put(d->newdir, "other", "drop 2\n");
	entry_from_drop(d, ids[2], "other");
	unlinkat(d->newdir, "other", 0);
	put(d->newdir, ids[2], "a newer, longer drop\n");
	r = queue_recover_begin(&c, d, s, true);
	CHECK(r == NULL);
	CHECK(!sched_has(s, ids[0]));
	CHECK(there(d->queue, "6B02DEEA00000030.env") && there(d->newdir, ids[0]));
	CHECK(sched_has(s, ids[1]));
	CHECK(sched_has(s, ids[2]));
	sched_free(s);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		queue_discard(d->queue, ids[i]);
		unlinkat(d->newdir, ids[i], 0);
	}
}

static void test_recover_index(const struct spool_dirs *d)
{
	struct conf c;
	struct sched *s = sched_new();
	struct queue_recovery *r;

	memset(&c, 0, sizeof c);
	/* One listed with both files (scheduled as the index says, its
	 * state not read), one listed whose message is gone (read, found
	 * wanting), one not listed (read). */
	entry(d->queue, "6B02DEEA00000020", true, true);
	entry(d->queue, "6B02DEEA00000021", false, true);
	entry(d->queue, "6B02DEEA00000022", true, true);
	put(d->queue, "index", "NULLRELAY-INDEX 1\n6B02DEEA00000020 5.000 77\n"
	    "6B02DEEA00000021 6.000 0\nend 2\n");
	/* Not all at once: the index now, the rest by steps. */
	r = queue_recover_begin(&c, d, s, false);
	CHECK(r == NULL);	/* few state files: read at once */
	CHECK(!there(d->queue, "index"));
	CHECK(sched_has(s, "6B02DEEA00000020"));
	CHECK(!sched_has(s, "6B02DEEA00000021"));
	CHECK(there(d->quarantine, "6B02DEEA00000021.env"));
	CHECK(sched_has(s, "6B02DEEA00000022"));
	sched_free(s);
}

/* More state files than are read at once: the loop reads them a slice at
 * a time, and what it learnt meanwhile wins. */
static void test_recover_lazy(const struct spool_dirs *d)
{
	enum { N = 2100 };
	struct conf c;
	struct sched *s = sched_new();
	struct queue_recovery *r;
	char id[QUEUE_ID_SIZE], name[QUEUE_NAME_SIZE];
	size_t before = 6, steps = 0;	/* 6: left by the tests above */
	unsigned i;

	memset(&c, 0, sizeof c);
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof id, "6B02DEEB%08X", i);
		entry(d->queue, id, true, true);
	}
	r = queue_recover_begin(&c, d, s, false);
	CHECK(r != NULL);
	CHECK_INT(sched_count(s), 0);
	/* Not read yet, but queued: --health and the metrics count them. */
	CHECK_INT(queue_recover_unread(r), N + before);
	CHECK_INT(queue_recover_unread(NULL), 0);
	/* A pick-up run's report and an operator's delete, before the
	 * recovery reaches them. */
	sched_add(s, "6B02DEEB00000100", 42.0, 0);
	unlinkat(d->queue, queue_name(name, "6B02DEEB00000101", QUEUE_ENV), 0);
	while (r != NULL && queue_recover_step(r, QUEUE_RECOVER_SLICE)) {
		steps++;
		CHECK(sched_count(s) <= 1 + steps * QUEUE_RECOVER_SLICE);
		/* Every message counted while the recovery goes on (the one the
		 * report scheduled early may count twice, the deleted one once
		 * until it is reached). */
		CHECK(sched_count(s) + queue_recover_unread(r) >= N + before - 1);
		CHECK(sched_count(s) + queue_recover_unread(r) <= N + before + 1);
	}
	CHECK(steps + 1 >= (N + before) / QUEUE_RECOVER_SLICE);
	CHECK_INT(sched_count(s), N - 1 + before);
	CHECK(sched_oldest(s) == 42.0);	/* the report's arrival kept */
	CHECK(!there(d->quarantine, "6B02DEEB00000101.env"));
	sched_free(s);
}

/* queue/index version 2 carries the submitter: messages scheduled from it
 * take their turn in the per-uid round robin from the start. */
static void test_index_uid(const struct spool_dirs *d)
{
	const char *a = "6B02DEEC00000001", *b = "6B02DEEC00000002";
	struct conf c;
	struct sched *s = sched_new(), *s2;
	char text[256];
	uid_t uid = 0;
	ssize_t n;
	int fd;

	memset(&c, 0, sizeof c);
	entry(d->queue, a, true, true);	/* its state file says uid 1000 */
	entry(d->queue, b, true, true);
	sched_add(s, a, 5.0, 77);
	sched_owner(s, a, 4321);
	sched_add(s, b, 6.0, 0);	/* submitter never learnt */
	CHECK_INT(queue_index_write(d->queue, s), 0);
	sched_free(s);
	fd = openat(d->queue, QUEUE_INDEX_NAME, O_RDONLY);
	n = fd == -1 ? -1 : read(fd, text, sizeof text - 1);
	if (fd != -1)
		close(fd);
	CHECK(n > 0);
	text[n > 0 ? n : 0] = '\0';
	CHECK(strncmp(text, "NULLRELAY-INDEX 2\n", 18) == 0);
	CHECK(strstr(text, "6B02DEEC00000001 5.000 77 4321\n") != NULL);
	CHECK(strstr(text, "6B02DEEC00000002 6.000 0 -\n") != NULL);
	s2 = sched_new();
	CHECK(queue_recover_begin(&c, d, s2, true) == NULL);
	CHECK(sched_has(s2, a) && sched_has(s2, b));
	/* From the index, not from the state file (which says 1000). */
	CHECK(sched_uid(s2, a, &uid));
	CHECK_INT(uid, 4321);
	CHECK(!sched_uid(s2, b, &uid));
	sched_free(s2);

	/* A bad uid field: the index is refused whole, every state file read
	 * (the submitter from the state file). */
	put(d->queue, QUEUE_INDEX_NAME, "NULLRELAY-INDEX 2\n6B02DEEC00000001 5.000 77 12x\nend 1\n");
	s2 = sched_new();
	CHECK(queue_recover_begin(&c, d, s2, true) == NULL);
	CHECK(!there(d->queue, QUEUE_INDEX_NAME));
	CHECK(sched_uid(s2, a, &uid));
	CHECK_INT(uid, 1000);
	sched_free(s2);

	/* A version 1 index (no uid) is still read: scheduled from it, the
	 * submitter not known until the first try. */
	put(d->queue, QUEUE_INDEX_NAME, "NULLRELAY-INDEX 1\n6B02DEEC00000001 5.000 77\nend 1\n");
	s2 = sched_new();
	CHECK(queue_recover_begin(&c, d, s2, true) == NULL);
	CHECK(sched_has(s2, a));
	CHECK(!sched_uid(s2, a, &uid));
	sched_free(s2);
	/* Version 2 lines under a version 1 magic: refused whole. */
	put(d->queue, QUEUE_INDEX_NAME, "NULLRELAY-INDEX 1\n6B02DEEC00000001 5.000 77 4321\nend 1\n");
	s2 = sched_new();
	CHECK(queue_recover_begin(&c, d, s2, true) == NULL);
	CHECK(sched_uid(s2, a, &uid));
	CHECK_INT(uid, 1000);
	sched_free(s2);
}

int main(void)
{
	struct spool_dirs d;
	char cmd[300];

	log_init("test_queue_module", true);
	test_names();
	spool_make(&d);
	test_each(&d);
	test_create(&d);
	test_recover(&d);
	test_recover_drops(&d);
	test_recover_index(&d);
	test_recover_lazy(&d);
	test_index_uid(&d);
	queue_dirs_close(&d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", spool);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", spool);
	return check_summary("test_queue_module");
}
