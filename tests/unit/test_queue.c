/* The queue's state files (round trip, malformed input) and the backoff. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "queue.h"
#include "sched.h"

#define ID "6B02DEEA1868A3F7"

static void make_msg(struct qmsg *m)
{
	qmsg_init(m);
	strlcpy(m->id, ID, sizeof m->id);
	m->env.sender = xstrdup("alice@example.org");
	envelope_add_rcpt(&m->env, "a@example.org", NULL);
	envelope_add_rcpt(&m->env, "b@example.org", "root");
	envelope_add_rcpt(&m->env, "c@example.org", NULL);
	m->env.body_8bit = true;
	qmsg_init_rcpts(m);
	m->uid = 1000;
	m->arrival = 1700000000.25;
	m->has_drop = true;
	m->drop = (struct qdrop){ .dev = 65024, .ino = 123456, .uid = 1000, .size = 999 };
	m->size = 4242;
	m->tries = 3;
	m->next = 1700000600;
	m->last_attempt = 1700000300;
	m->warned = true;
	qmsg_set_reply(m, 0, RCPT_SENT, 250, "2.0.0", "250 2.0.0 Ok: queued as X", "mx[192.0.2.1]:587");
	qmsg_set_reply(m, 1, RCPT_DEFERRED, 451, "4.3.0", "451 4.3.0 busy\r\nagain", "mx with space");
	/* c stays pending, without a reply */
}

static char *fmt(const struct qmsg *m, size_t *len)
{
	struct buf b;

	buf_init(&b, QUEUE_STATE_MAX);
	CHECK(qmsg_format(m, &b) == 0);
	*len = b.len;
	return b.data;
}

static void test_round_trip(void)
{
	struct qmsg m, m2;
	char err[256], *t1, *t2;
	size_t l1, l2;

	make_msg(&m);
	t1 = fmt(&m, &l1);
	CHECK(strncmp(t1, QUEUE_STATE_MAGIC "\n", strlen(QUEUE_STATE_MAGIC) + 1) == 0);
	CHECK(strstr(t1, "arrival 1700000000.250\n") != NULL);
	CHECK(strstr(t1, "drop 65024 123456 1000 999\n") != NULL);
	CHECK(strstr(t1, "status 1 deferred\n") != NULL);
	CHECK(strstr(t1, "last-reply 1 451 4.3.0 451 4.3.0 busy??again\n") != NULL);
	CHECK(strstr(t1, "relay 1 mx_with_space\n") != NULL);
	CHECK(strstr(t1, "status 2") == NULL);
	CHECK_INT(qmsg_parse(&m2, ID, t1, l1, err, sizeof err), 0);
	CHECK_STR(m2.env.sender, "alice@example.org");
	CHECK_INT(m2.env.nrcpts, 3);
	CHECK_STR(m2.env.rcpts[1].orcpt, "root");
	CHECK(m2.env.body_8bit);
	CHECK_INT(m2.uid, 1000);
	CHECK(m2.arrival > 1700000000.24 && m2.arrival < 1700000000.26);
	CHECK(m2.has_drop && m2.drop.ino == 123456 && m2.drop.size == 999);
	CHECK_INT(m2.size, 4242);
	CHECK_INT(m2.tries, 3);
	CHECK_INT(m2.next, 1700000600);
	CHECK_INT(m2.last_attempt, 1700000300);
	CHECK(m2.warned);
	CHECK_INT(m2.rcpts[0].state, RCPT_SENT);
	CHECK_INT(m2.rcpts[0].code, 250);
	CHECK_STR(m2.rcpts[0].dsn, "2.0.0");
	CHECK_STR(m2.rcpts[0].text, "250 2.0.0 Ok: queued as X");
	CHECK_STR(m2.rcpts[0].relay, "mx[192.0.2.1]:587");
	CHECK_INT(m2.rcpts[1].state, RCPT_DEFERRED);
	CHECK_INT(m2.rcpts[2].state, RCPT_PENDING);
	CHECK(m2.rcpts[2].text == NULL);
	CHECK_INT(qmsg_remaining(&m2), 2);
	CHECK_INT(qmsg_failed(&m2), 0);
	t2 = fmt(&m2, &l2);
	CHECK_MEM(t2, l2, t1, l1);
	free(t1);
	free(t2);
	qmsg_free(&m);
	qmsg_free(&m2);
}

static void test_commit_load(void)
{
	char dir[] = "/tmp/test_queue.XXXXXX", err[256], path[128];
	struct qmsg m, m2;
	int qdir, fdir, r;
	unsigned nb;

	CHECK(mkdtemp(dir) != NULL);
	qdir = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(qdir != -1);
	make_msg(&m);
	CHECK_INT(qmsg_commit(qdir, &m, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/%s.env.tmp", dir, ID);
	CHECK(access(path, F_OK) == -1);
	CHECK_INT(qmsg_load(qdir, ID, &m2, err, sizeof err), 0);
	CHECK_INT(m2.tries, 3);
	qmsg_free(&m2);
	CHECK_INT(qmsg_load(qdir, "6B02DEEA00000000", &m2, err, sizeof err), -1);
	CHECK_INT(errno, ENOENT);

	/* Expiry: remaining recipients fail, the message moves to failed/. */
	snprintf(path, sizeof path, "%s/failed", dir);
	CHECK(mkdir(path, 0700) == 0);
	fdir = open(path, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof path, "%s/%s.msg", dir, ID);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	r = queue_expire_id(qdir, fdir, ID, 1700999999.0, &nb, err, sizeof err);
	CHECK_INT(r, 0);
	CHECK_INT(nb, 2);
	CHECK(access(path, F_OK) == -1);
	CHECK_INT(qmsg_load(fdir, ID, &m2, err, sizeof err), 0);
	CHECK_INT(m2.rcpts[1].state, RCPT_FAILED);
	CHECK_STR(m2.rcpts[2].dsn, "4.4.7");
	CHECK_STR(m2.rcpts[2].text, "delivery time expired");
	CHECK(strstr(m2.rcpts[1].text, "last error: 451") != NULL);
	qmsg_free(&m2);

	/* All sent: both files go. */
	qmsg_set_reply(&m, 1, RCPT_SENT, 250, "2.0.0", "250 ok", NULL);
	qmsg_set_reply(&m, 2, RCPT_SENT, 250, "2.0.0", "250 ok", NULL);
	CHECK_INT(qmsg_commit(qdir, &m, err, sizeof err), 0);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	CHECK_INT(queue_finish(qdir, fdir, &m, err, sizeof err), 1);
	CHECK(access(path, F_OK) == -1);
	CHECK_INT(qmsg_load(qdir, ID, &m2, err, sizeof err), -1);
	qmsg_free(&m);
	close(fdir);
	close(qdir);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	CHECK(system(path) == 0);
}

static int parse_str(const char *s, char *err, size_t errlen)
{
	struct qmsg m;
	int r = qmsg_parse(&m, ID, s, strlen(s), err, errlen);

	if (r == 0)
		qmsg_free(&m);
	return r;
}

#define HEAD QUEUE_STATE_MAGIC "\nsender <a@x.org>\nrcpt <b@x.org>\nbody 7BIT\n"
#define REQ "uid 1\narrival 5.000\nsize 10\n"

static void test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"NULLRELAY-STATE 2\n",
		HEAD REQ "tries 1",			/* no final newline */
		HEAD "uid 1\nsize 10\n",		/* no arrival */
		QUEUE_STATE_MAGIC "\nrcpt <b@x.org>\n" REQ,	/* no sender */
		HEAD REQ "status 1 sent\n",		/* no such recipient */
		HEAD REQ "status 0 done\n",		/* unknown state */
		HEAD REQ "status x sent\n",
		HEAD REQ "last-reply 0 99 4.0.0 x\n",	/* bad code */
		HEAD REQ "last-reply 0 450 4.x.0 x\n",	/* bad dsn */
		HEAD REQ "last-reply 0\n",
		HEAD REQ "tries 1\ntries 2\n",		/* repeated */
		HEAD REQ "next -5\n",
		HEAD REQ "next 99999999999999999999999\n",
		HEAD REQ "frobnicate 1\n",		/* unknown keyword */
		HEAD REQ "rcpt <c@x.org>\n",		/* envelope after state */
		HEAD REQ "warned yes\n",
		HEAD REQ "drop 1 2 3\n",
		HEAD "uid 1\narrival 5.5\nsize 10\n",	/* arrival needs .MMM */
		HEAD "uid -1\narrival 5.000\nsize 10\n",
	};
	char err[256];
	size_t i;

	CHECK_INT(parse_str(HEAD REQ, err, sizeof err), 0);
	CHECK_INT(parse_str(HEAD REQ "last-reply 0 0 - \n", err, sizeof err), 0);
	for (i = 0; i < NR_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		if (parse_str(bad[i], err, sizeof err) != -1)
			printf("accepted bad state file #%zu\n", i);
		CHECK_INT(parse_str(bad[i], err, sizeof err), -1);
		CHECK(err[0] != '\0');
	}
	{
		struct qmsg m;
		const char nul[] = HEAD REQ "tries 1\0\n";

		CHECK_INT(qmsg_parse(&m, ID, nul, sizeof nul - 1, err, sizeof err), -1);
		CHECK_INT(qmsg_parse(&m, "not-an-id", HEAD REQ, strlen(HEAD REQ), err, sizeof err), -1);
	}
}

static void test_backoff(void)
{
	uint32_t rnds[] = { 0, 1, 0x40000000, 0x80000000, 0xC0000000, 0xFFFFFFFF };
	unsigned tries;
	size_t k;

	for (tries = 0; tries <= 64; tries++) {
		for (k = 0; k < NR_ARRAY_LEN(rnds); k++) {
			time_t d = queue_backoff(60, 3600, tries, rnds[k]);

			CHECK(d >= 60 && d <= 3600);
		}
	}
	/* Doubling, with the jitter at its middle (factor 1.0). */
	CHECK_INT(queue_backoff(60, 3600, 1, 0x80000000), 60);
	CHECK_INT(queue_backoff(60, 3600, 2, 0x80000000), 120);
	CHECK_INT(queue_backoff(60, 3600, 3, 0x80000000), 240);
	CHECK_INT(queue_backoff(60, 3600, 7, 0x80000000), 3600);
	CHECK_INT(queue_backoff(60, 3600, 1000000, 0x80000000), 3600);
	/* Jitter ±25% inside the bounds. */
	CHECK_INT(queue_backoff(60, 3600, 3, 0), 180);
	CHECK(queue_backoff(60, 3600, 3, 0xFFFFFFFF) >= 299);
	CHECK(queue_backoff(60, 3600, 3, 0xFFFFFFFF) <= 300);
	CHECK_INT(queue_backoff(60, 3600, 1, 0), 60);	/* never below retry_min */
	CHECK_INT(queue_backoff(60, 3600, 20, 0xFFFFFFFF), 3600);	/* never above retry_max */
	CHECK(queue_backoff(0, 0, 5, 0) >= 1);
	CHECK_INT(queue_backoff(100, 50, 5, 0), 100);	/* max < min: min wins */
}

/*
 * The heap and the id map against a brute-force model: random adds,
 * takes, updates, releases and removes over a few hundred ids; every take
 * must return the model's earliest (next, arrival) idle entry.
 */
static void test_sched_model(void)
{
	enum { N = 300, OPS = 20000 };
	struct { bool in, busy; time_t next; double arrival; } mdl[N];
	struct sched *s = sched_new();
	uint32_t r = 12345;
	char id[17], got[17];
	size_t count = 0, k;
	int op;

	memset(mdl, 0, sizeof mdl);
	for (op = 0; op < OPS; op++) {
		size_t i, best = N;
		time_t now;

		r = r * 1103515245u + 12345u;
		i = (r >> 8) % N;
		snprintf(id, sizeof id, "6B02DEEA%08zX", i);
		now = (time_t)((r >> 4) % 64);
		switch ((r >> 20) % 5) {
		case 0:	/* add (or re-add) */
			if (!mdl[i].in)
				count++;
			mdl[i].in = true;
			mdl[i].next = (time_t)((r >> 12) % 64);
			mdl[i].arrival = (double)((r >> 14) % 1000);
			sched_add(s, id, mdl[i].arrival, mdl[i].next);
			break;
		case 1:	/* take */
			for (k = 0; k < N; k++) {
				if (!mdl[k].in || mdl[k].busy || mdl[k].next > now)
					continue;
				if (best == N || mdl[k].next < mdl[best].next ||
				    (mdl[k].next == mdl[best].next && mdl[k].arrival < mdl[best].arrival))
					best = k;
			}
			if (best == N) {
				CHECK(!sched_take(s, now, false, got));
				break;
			}
			CHECK(sched_take(s, now, false, got));
			/* Ties on (next, arrival) may come out in either order. */
			k = (size_t)strtoul(got + 8, NULL, 16);
			CHECK(k < N && mdl[k].in && !mdl[k].busy && mdl[k].next == mdl[best].next &&
			    mdl[k].arrival == mdl[best].arrival);
			if (k < N)
				mdl[k].busy = true;
			break;
		case 2:	/* update */
			if (mdl[i].in) {
				mdl[i].busy = false;
				mdl[i].next = (time_t)((r >> 12) % 64);
				sched_update(s, id, mdl[i].next);
			}
			break;
		case 3:	/* release */
			if (mdl[i].in) {
				mdl[i].busy = false;
				sched_release(s, id);
			}
			break;
		case 4:	/* remove */
			if (mdl[i].in)
				count--;
			mdl[i].in = false;
			mdl[i].busy = false;
			sched_remove(s, id);
			break;
		}
		CHECK_INT(sched_count(s), count);
		CHECK(sched_has(s, id) == mdl[i].in);
	}
	sched_free(s);
}

static void test_sched(void)
{
	struct conf c;
	struct sched *s = sched_new();
	char id[17];
	double wake = 0;

	memset(&c, 0, sizeof c);
	c.retry_min = 60;
	c.retry_max = 300;
	sched_add(s, "6B02DEEA00000002", 2.0, 100);
	sched_add(s, "6B02DEEA00000001", 1.0, 0);
	CHECK(sched_take(s, 50, false, id));
	CHECK_STR(id, "6B02DEEA00000001");
	CHECK(!sched_take(s, 50, false, id));
	CHECK_INT(sched_next_due(s, false), 100);
	sched_update(s, "6B02DEEA00000001", 500);
	CHECK(sched_take(s, 100, false, id));
	CHECK_STR(id, "6B02DEEA00000002");
	sched_release(s, id);
	sched_free(s);
	s = sched_new();
	sched_add(s, "6B02DEEA00000002", 2.0, 100);
	sched_add(s, "6B02DEEA00000001", 1.0, 0);
	sched_flush(s, true);
	CHECK(sched_take(s, 0, true, id));
	CHECK(sched_take(s, 0, true, id));
	sched_release(s, "6B02DEEA00000001");
	CHECK(!sched_take(s, 0, true, id));	/* once: each handed out once */
	CHECK_INT(sched_count(s), 2);
	sched_remove(s, "6B02DEEA00000001");
	CHECK_INT(sched_count(s), 1);

	/* Hold-downs: retry_min, doubling, capped at retry_max. */
	sched_host_down(s, 0, &c, 1000);
	CHECK_INT(sched_host_until(s)[0], 1060);
	CHECK(!sched_host_available(s, 1, 1000));
	sched_host_down(s, 0, &c, 1060);
	CHECK_INT(sched_host_until(s)[0], 1180);
	sched_host_down(s, 0, &c, 1180);
	sched_host_down(s, 0, &c, 1420);
	CHECK_INT(sched_host_until(s)[0], 1720);
	CHECK(sched_host_available(s, 2, 1000));	/* the second host is fine */
	CHECK_INT(sched_host_wake(s, 1, 1500), 1720);
	sched_host_up(s, 0);
	CHECK(sched_host_available(s, 1, 1500));

	/* Rate limit: 2 per 10 s, sliding. */
	c.rate_limit_count = 2;
	c.rate_limit_period = 10;
	CHECK(sched_rate_ok(s, &c, 100.0, &wake));
	sched_rate_note(s, &c, 100.0);
	sched_rate_note(s, &c, 101.0);
	CHECK(!sched_rate_ok(s, &c, 105.0, &wake));
	CHECK(wake > 109.9 && wake < 110.1);
	CHECK(sched_rate_ok(s, &c, 110.5, &wake));
	sched_free(s);
}

int main(void)
{
	test_round_trip();
	test_commit_load();
	test_malformed();
	test_backoff();
	test_sched();
	test_sched_model();
	return check_summary("test_queue");
}
