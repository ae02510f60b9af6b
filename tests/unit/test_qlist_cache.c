/* mailq's record cache (spool/spool_qlist_owner.c, spool_qlist_save.c):
 * records, the table across listings, queue/mailq.cache round trips and
 * refusals. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "spool_qlist_owner.h"
#include "util.h"

static char dirpath[] = "/tmp/nrtest.qcache.XXXXXX";

static void make_msg(struct qmsg *m, const char *id)
{
	qmsg_init(m);
	strlcpy(m->id, id, sizeof m->id);
	m->env.sender = xstrdup("alice@example.org");
	envelope_add_rcpt(&m->env, "bob@example.org", NULL);
	envelope_add_rcpt(&m->env, "carol@example.org", "Carol@Example.org");
	envelope_add_rcpt(&m->env, "dave@example.org", NULL);
	qmsg_init_rcpts(m);
	m->uid = 1000;
	m->arrival = 1700000000.5;
	m->size = 321;
	m->tries = 2;
	m->next = 1700003600;
	qmsg_set_reply(m, 0, RCPT_SENT, 250, "2.0.0", "250 2.0.0 Ok", "h");
	qmsg_set_reply(m, 1, RCPT_DEFERRED, 451, "4.3.0", "try later", "h");
	qmsg_set_reply(m, 2, RCPT_FAILED, 550, "5.1.1", "550 5.1.1 no such user", "h");
}

static struct qlist_rec *rec(const char *id, time_t mtime)
{
	struct qmsg m;
	struct stat st;
	struct qlist_rec *r;

	memset(&st, 0, sizeof st);
	st.st_mode = S_IFREG | 0600;
	st.st_ino = 4242;
	st.st_size = 99;
	st.st_mtim.tv_sec = mtime;
	st.st_ctim.tv_sec = mtime;
	make_msg(&m, id);
	r = qlist_rec_new(&m, false, false, &st, 1700000100);
	qmsg_free(&m);
	return r;
}

static void test_record(void)
{
	struct qlist_rec *r = rec("6B02DEEA00000001", 1700000000);
	struct qlist_rcpt rc;
	struct stat st;
	size_t off = 0;

	CHECK_STR(qlist_rec_sender(r), "alice@example.org");
	CHECK_INT(r->nrcpts, 2);	/* the sent one is not listed */
	CHECK(qlist_rec_rcpt(r, &off, &rc));
	CHECK_STR(rc.addr, "carol@example.org");
	CHECK_STR(rc.orcpt, "Carol@Example.org");
	CHECK_STR(rc.reply, "451 4.3.0 try later");
	CHECK_INT(rc.state, RCPT_DEFERRED);
	CHECK(qlist_rec_rcpt(r, &off, &rc));
	CHECK_STR(rc.addr, "dave@example.org");
	CHECK(rc.orcpt == NULL);
	CHECK_STR(rc.reply, "550 5.1.1 no such user");
	CHECK(!qlist_rec_rcpt(r, &off, &rc));
	CHECK(qlist_rec_valid(r));
	CHECK(!r->racy);

	/* Fresh only for the very same file, in the same directory. */
	memset(&st, 0, sizeof st);
	st.st_mode = S_IFREG | 0600;
	st.st_ino = 4242;
	st.st_size = 99;
	st.st_mtim.tv_sec = st.st_ctim.tv_sec = 1700000000;
	CHECK(qlist_rec_fresh(r, &st, false));
	CHECK(!qlist_rec_fresh(r, &st, true));
	st.st_ino = 4243;
	CHECK(!qlist_rec_fresh(r, &st, false));
	st.st_ino = 4242;
	st.st_ctim.tv_nsec = 1;
	CHECK(!qlist_rec_fresh(r, &st, false));
	st.st_ctim.tv_nsec = 0;
	st.st_size = 100;
	CHECK(!qlist_rec_fresh(r, &st, false));
	free(r);

	/* Written a second before it was read: never trusted. */
	r = rec("6B02DEEA00000002", 1700000099);
	CHECK(r->racy);
	st.st_size = 99;
	st.st_mtim.tv_sec = st.st_ctim.tv_sec = 1700000099;
	CHECK(!qlist_rec_fresh(r, &st, false));
	free(r);

	/* A record that says more recipients than it holds is refused. */
	r = rec("6B02DEEA00000003", 1700000000);
	r->nrcpts = 3;
	CHECK(!qlist_rec_valid(r));
	r->nrcpts = 2;
	r->data[r->len - 1] = 'x';	/* the last string unterminated */
	CHECK(!qlist_rec_valid(r));
	free(r);
}

static void test_table(void)
{
	struct qlist_owners *t = qlist_owners_new();
	char id[QUEUE_ID_SIZE];
	const char *name;
	int dir;
	unsigned i;

	qlist_owners_load_later(t, 7, "mailq.cache");
	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "6B02DEEB%08X", i);
		qlist_owners_put(t, rec(id, 1700000000));
	}
	CHECK_INT(qlist_owners_count(t), 3000);
	/* Growing the table kept the load asked for. */
	CHECK(qlist_owners_pending(t, &dir, &name));
	CHECK_INT(dir, 7);
	CHECK_STR(name, "mailq.cache");
	CHECK(!qlist_owners_pending(t, &dir, &name));
	/* Replaced, not doubled. */
	qlist_owners_put(t, rec("6B02DEEB00000005", 1700000000));
	CHECK_INT(qlist_owners_count(t), 3000);
	/* add keeps what is there. */
	{
		struct qlist_rec *old = qlist_owners_get(t, "6B02DEEB00000006"), *r;

		r = rec("6B02DEEB00000006", 1700000000);
		qlist_owners_add(t, r);
		CHECK(qlist_owners_get(t, "6B02DEEB00000006") == old);
	}
	/* A complete pass forgets what it did not see; an incomplete one
	 * nothing. */
	qlist_owners_begin(t);
	CHECK(qlist_owners_get(t, "6B02DEEB00000001") != NULL);
	qlist_owners_end(t, false);
	CHECK_INT(qlist_owners_count(t), 3000);
	qlist_owners_begin(t);
	CHECK(qlist_owners_get(t, "6B02DEEB00000001") != NULL);
	CHECK(qlist_owners_get(t, "6B02DEEB00000BB7") != NULL);
	CHECK(qlist_owners_get(t, "6B02DEEBFFFFFFFF") == NULL);
	qlist_owners_end(t, true);
	CHECK_INT(qlist_owners_count(t), 2);
	CHECK(qlist_owners_get(t, "6B02DEEB00000002") == NULL);
	CHECK(qlist_owners_get(t, "6B02DEEB00000BB7") != NULL);
	qlist_owners_free(t);
}

static bool there(int dir, const char *name)
{
	struct stat st;

	return fstatat(dir, name, &st, 0) == 0;
}

static void test_save(int dir)
{
	struct qlist_owners *t = qlist_owners_new(), *u;
	char id[QUEUE_ID_SIZE];
	struct qlist_rec *a, *b, *racy;
	struct stat st;
	unsigned i;
	int fd;

	char name[QUEUE_NAME_SIZE + 8];

	/* A record whose state file left queue/ is not saved: 1500 have one,
	 * one does not. */
	for (i = 0; i < 1500; i++) {
		snprintf(id, sizeof id, "6B02DEEC%08X", i);
		qlist_owners_put(t, rec(id, 1700000000));
		snprintf(name, sizeof name, "%s.env", id);
		fd = openat(dir, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		CHECK(fd != -1);
		close(fd);
	}
	qlist_owners_put(t, rec("6B02DEEDFFFFFFFF", 1700000000));
	racy = rec("6B02DEECFFFFFFFF", 1700000099);
	qlist_owners_put(t, racy);
	CHECK_INT(qlist_owners_save(t, dir, QLIST_SAVE_NAME), 0);
	CHECK(!there(dir, QLIST_SAVE_NAME ".tmp"));
	u = qlist_owners_new();
	CHECK_INT(qlist_owners_load(u, dir, QLIST_SAVE_NAME), 1500);	/* not the racy one */
	CHECK(!there(dir, QLIST_SAVE_NAME));	/* read once */
	a = qlist_owners_get(t, "6B02DEEC00000123");
	b = qlist_owners_get(u, "6B02DEEC00000123");
	CHECK(a != NULL && b != NULL);
	if (a != NULL && b != NULL)
		CHECK_MEM(b, sizeof(*b) + b->len, a, sizeof(*a) + a->len);
	CHECK(qlist_owners_get(u, "6B02DEECFFFFFFFF") == NULL);
	qlist_owners_free(u);

	/* Cut: refused whole. */
	CHECK_INT(qlist_owners_save(t, dir, QLIST_SAVE_NAME), 0);
	CHECK(fstatat(dir, QLIST_SAVE_NAME, &st, 0) == 0);
	fd = openat(dir, QLIST_SAVE_NAME, O_WRONLY);
	CHECK(fd != -1 && ftruncate(fd, st.st_size - 10) == 0);
	if (fd != -1)
		close(fd);
	u = qlist_owners_new();
	CHECK_INT(qlist_owners_load(u, dir, QLIST_SAVE_NAME), 0);
	CHECK_INT(qlist_owners_count(u), 0);
	qlist_owners_free(u);

	/* A record damaged in the middle: refused whole. */
	CHECK_INT(qlist_owners_save(t, dir, QLIST_SAVE_NAME), 0);
	fd = openat(dir, QLIST_SAVE_NAME, O_WRONLY);
	CHECK(fd != -1 && pwrite(fd, "\377\377\377\377", 4, 28 + 5) == 4);
	if (fd != -1)
		close(fd);
	u = qlist_owners_new();
	CHECK_INT(qlist_owners_load(u, dir, QLIST_SAVE_NAME), 0);
	qlist_owners_free(u);

	/* None there: nothing. */
	u = qlist_owners_new();
	CHECK_INT(qlist_owners_load(u, dir, QLIST_SAVE_NAME), 0);
	qlist_owners_free(u);
	qlist_owners_free(t);
}

int main(void)
{
	char cmd[128];
	int dir;

	test_record();
	test_table();
	if (mkdtemp(dirpath) == NULL) {
		CHECK(false);
		return check_summary("test_qlist_cache");
	}
	dir = open(dirpath, O_RDONLY | O_DIRECTORY);
	CHECK(dir != -1);
	if (dir != -1) {
		test_save(dir);
		close(dir);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dirpath);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dirpath);
	return check_summary("test_qlist_cache");
}
