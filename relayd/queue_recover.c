/*
 * Start-up recovery (queue_recover.h). What each leftover means, by the
 * order of writes elsewhere (docs/ARCHITECTURE.md, "On disk"):
 *
 *   ID.env.tmp                a commit cut short: the old ID.env stands; removed
 *   ID.msg, no ID.env         delivered (ID.env goes first) or a pick-up cut
 *                             short (its drop file is still there): removed
 *   ID.env that does not parse  quarantined with its ID.msg, never deleted
 *   ID.env, ID.msg in failed/ a move into failed/ cut short: finished
 *   ID.env, ID.msg and ID.env in failed/
 *                             a requeue cut short (qadmin.c): finished
 *   ID.env, no ID.msg at all  quarantined
 *   ID.env whose drop file is still in incoming/new
 *                             a pick-up perhaps not durable: left to pick-up
 *   ID.env with nothing left to deliver
 *                             committed, then a crash: reviewed now
 *
 * Memory for 100 000 messages: two sorted arrays of ids (queue/ has them
 * twice, as .env and .msg), 17 bytes each, and one flag per state file;
 * no hash table, and one readdir of queue/.
 *
 * failed/ and incoming/new are listed once too, at the start (two more
 * sorted arrays): a state file then costs open, fstat, read and close, not
 * two more look-ups that nearly always find nothing. A name in those
 * listings is looked up again when its state file is read (it may be gone
 * by then); a name not in them cannot appear later for a state file listed
 * at the start (ID.env enters failed/ by a rename, leaving queue/ in the
 * same instant, and new drop files get new names). A directory that cannot
 * be listed, or an incoming/new holding more names than the queue has
 * state files (any user can fill it), is asked file by file instead.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bounce_queue.h"
#include "log.h"
#include "pickup.h"
#include "queue_index.h"
#include "queue_recover.h"

/* Below this many state files to read, recovery is done at once, before
 * relayd says it started (a few hundred ms at most). */
#define RECOVER_SYNC_MAX 2000

struct ids {
	char (*v)[QUEUE_ID_SIZE];
	size_t n, cap;
	bool unlisted;		/* the directory could not be listed: ask it */
};

struct queue_recovery {
	const struct conf *c;
	const struct spool_dirs *d;
	struct sched *s;
	struct qlist_owners *owners;	/* mailq's cache, fed as state files are read */
	struct ids env, msg;
	struct ids failed_env;	/* failed/ID.env at the start */
	struct ids drops;	/* incoming/new/ID at the start */
	bool *indexed;		/* per env.v[i]: scheduled from the index */
	size_t next;		/* env.v[next..] still to look at */
	size_t msg_at;		/* msg.v[msg_at..]: not below env.v[next] */
	size_t unread;		/* of those, not scheduled from the index */
	size_t from_index, read;
};

static void ids_push(struct ids *l, const char *id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	memcpy(l->v[l->n++], id, QUEUE_ID_SIZE);
}

static int by_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Index of id in the sorted l, or -1. */
static long ids_find(const struct ids *l, const char *id)
{
	char(*p)[QUEUE_ID_SIZE];

	if (l->n == 0)
		return -1;	/* l->v is NULL: bsearch must not see it */
	p = bsearch(id, l->v, l->n, sizeof(*l->v), by_id);
	return p == NULL ? -1 : (long)(p - l->v);
}

/* Might id be in the directory l lists? */
static bool ids_maybe(const struct ids *l, const char *id)
{
	return l->unlisted || ids_find(l, id) >= 0;
}

static int collect(void *ctx, const char *id, enum queue_part part)
{
	struct queue_recovery *r = ctx;
	char name[QUEUE_NAME_SIZE];

	switch (part) {
	case QUEUE_ENV_TMP:
		unlinkat(r->d->queue, queue_name(name, id, part), 0);
		break;
	case QUEUE_ENV:
		ids_push(&r->env, id);
		break;
	case QUEUE_MSG:
		ids_push(&r->msg, id);
		break;
	}
	return 0;
}

static int collect_failed(void *ctx, const char *id, enum queue_part part)
{
	struct queue_recovery *r = ctx;

	if (part == QUEUE_ENV)
		ids_push(&r->failed_env, id);
	return 0;
}

/* The drop files named like a queue id (the drop's id is its name); at
 * most max names besides . and .. are read (a bigger directory is asked
 * file by file). */
static void collect_drops(struct queue_recovery *r, size_t max)
{
	struct dirent *de;
	size_t seen = 0;
	DIR *dir = NULL;
	int fd, e = 0;

	fd = openat(r->d->newdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		e = errno;
		if (fd != -1)
			close(fd);
	} else {
		for (;;) {
			errno = 0;
			if ((de = readdir(dir)) == NULL) {
				e = errno;
				break;
			}
			if (seen++ == max + 2) {
				r->drops.unlisted = true;
				break;
			}
			if (queue_id_valid(de->d_name))
				ids_push(&r->drops, de->d_name);
		}
		closedir(dir);
	}
	if (e != 0) {
		errno = e;
		log_warn("cannot list incoming/new (each state file asks it instead)");
		r->drops.unlisted = true;
	}
}

static void ids_sort(struct ids *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), by_id);
}

/* An index entry whose two files are there: scheduled as it was. */
static void from_index(void *ctx, const char *id, double arrival, time_t next, long uid)
{
	struct queue_recovery *r = ctx;
	long i = ids_find(&r->env, id);

	if (i < 0 || r->indexed[i] || ids_find(&r->msg, id) < 0)
		return;
	sched_add(r->s, id, arrival, next);
	/* In the per-uid round robin from the start, not after a first try. */
	if (uid >= 0)
		sched_owner(r->s, id, (uid_t)uid);
	r->indexed[i] = true;
	r->from_index++;
}

/* queue/ID.env and failed/ID.msg: finish what was cut short. true if the
 * message is now in queue/ (a requeue finished). */
static bool finish_move(struct queue_recovery *r, const char *id)
{
	const struct spool_dirs *d = r->d;
	char env[QUEUE_NAME_SIZE], msg[QUEUE_NAME_SIZE];

	queue_name(env, id, QUEUE_ENV);
	queue_name(msg, id, QUEUE_MSG);
	if (queue_has(d->failed, id, QUEUE_ENV)) {
		/* A requeue (qadmin.c): its new state is committed in queue/;
		 * bring the message after it. */
		if (renameat(d->failed, msg, d->queue, msg) == 0 && fsync(d->queue) == 0 &&
		    fsync(d->failed) == 0 && unlinkat(d->failed, env, 0) == 0) {
			fsync(d->failed);
			log_info("%s: finished the requeue out of failed/", id);
			return true;
		}
		log_warn("%s: cannot finish the requeue out of failed/", id);
		return false;
	}
	/* A move into failed/ (queue.c:queue_finish). */
	if (renameat(d->queue, env, d->failed, env) == 0) {
		fsync(d->failed);
		fsync(d->queue);
		log_info("%s: finished moving into failed/", id);
	}
	return false;
}

/* One queue/ID.env not scheduled from the index. */
static void recover_one(struct queue_recovery *r, const char *id, bool has_msg)
{
	const struct spool_dirs *d = r->d;
	char env[QUEUE_NAME_SIZE], msg[QUEUE_NAME_SIZE], err[512];
	struct stat st;
	struct qmsg m;

	/* Scheduled meanwhile (a pick-up run's report, an operator's
	 * release): the loop knows it better than this look would. */
	if (sched_has(r->s, id))
		return;
	/* Scheduled, attempted and reviewed meanwhile: out of the schedule
	 * until the mailbox process has delivered its report. */
	if (bounce_queue_report_pending(id))
		return;
	queue_name(env, id, QUEUE_ENV);
	queue_name(msg, id, QUEUE_MSG);
	if (qmsg_load_stat(d->queue, id, &m, &st, err, sizeof err) == -1) {
		if (errno == ENOENT)
			return;	/* deleted meanwhile (relayd --delete) */
		/* Never delete what we cannot read: keep both for the admin. */
		pickup_quarantine_file(d, d->queue, env, err);
		if (queue_has(d->queue, id, QUEUE_MSG))
			pickup_quarantine_file(d, d->queue, msg, "its state file did not parse");
		return;
	}
	r->read++;
	if (!has_msg && !queue_has(d->queue, id, QUEUE_MSG)) {
		if (queue_has(d->failed, id, QUEUE_MSG)) {
			/* A finished requeue is scheduled like any message. */
			if (!finish_move(r, id)) {
				qmsg_free(&m);
				return;
			}
		} else {
			pickup_quarantine_file(d, d->queue, env, "its message file is missing");
			qmsg_free(&m);
			return;
		}
	} else if (ids_maybe(&r->failed_env, id) && queue_has(d->failed, id, QUEUE_ENV)) {
		/* A requeue cut short after it moved the message: the stale
		 * failed/ID.env would show in mailq once this one is sent. */
		if (unlinkat(d->failed, env, 0) == 0)
			fsync(d->failed);
	}
	if (ids_maybe(&r->drops, id) && pickup_drop_pending(d, &m)) {
		/* Its drop file is still there: the pick-up may not have been
		 * made durable; the first pick-up run finishes it, then it is
		 * scheduled. Sending it now could send it twice. */
		log_info("%s: pick-up not finished before the restart; left to pick-up", id);
		qmsg_free(&m);
		return;
	}
	if (!m.held) {	/* relayd --hold: never attempted until released */
		sched_add(r->s, id, m.arrival, m.next);
		sched_owner(r->s, id, m.uid);
	}
	/* Read anyway: root's first mailq need not read it again. */
	if (r->owners != NULL)
		qlist_owners_put(r->owners, qlist_rec_new(&m, false, false, &st, time(NULL)));
	/* Committed, then a crash before it left the queue or was bounced. */
	if (qmsg_remaining(&m) == 0 && !m.held)
		queue_review(r->c, d, r->s, id);
	qmsg_free(&m);
}

static void recovery_free(struct queue_recovery *r)
{
	free(r->env.v);
	free(r->msg.v);
	free(r->failed_env.v);
	free(r->drops.v);
	free(r->indexed);
	free(r);
}

struct queue_recovery *queue_recover_begin(const struct conf *c, const struct spool_dirs *d,
    struct sched *s, bool all)
{
	return queue_recover_begin_cached(c, d, s, all, NULL);
}

struct queue_recovery *queue_recover_begin_cached(const struct conf *c,
    const struct spool_dirs *d, struct sched *s, bool all, struct qlist_owners *owners)
{
	struct queue_recovery *r = xcalloc(1, sizeof(*r));
	char name[QUEUE_NAME_SIZE];
	size_t i, j, slow;

	r->c = c;
	r->d = d;
	r->s = s;
	r->owners = owners;
	if (queue_each(d->queue, collect, r) == -1)
		log_fatalx(EX_OSERR, "cannot read the queue directory: %s", strerror(errno));
	ids_sort(&r->env);
	ids_sort(&r->msg);
	/* A .msg without its .env: not mail we hold (before any pick-up run
	 * starts, so never one a run is writing). */
	for (i = j = 0; i < r->msg.n; i++) {
		int cmp = 1;

		while (j < r->env.n && (cmp = strcmp(r->env.v[j], r->msg.v[i])) < 0)
			j++;
		if (j < r->env.n && cmp == 0)
			continue;
		queue_name(name, r->msg.v[i], QUEUE_MSG);
		log_info("%s: removing queue/%s left by an interrupted run", r->msg.v[i], name);
		unlinkat(d->queue, name, 0);
	}
	r->indexed = xcalloc(r->env.n ? r->env.n : 1, sizeof(*r->indexed));
	queue_index_take(d->queue, from_index, r);
	slow = r->env.n - r->from_index;
	r->unread = slow;
	if (queue_each(d->failed, collect_failed, r) == -1) {
		log_warn("cannot list failed/ (each state file asks it instead)");
		r->failed_env.unlisted = true;
	}
	collect_drops(r, r->env.n);
	ids_sort(&r->failed_env);
	ids_sort(&r->drops);
	if (all || slow <= RECOVER_SYNC_MAX) {
		while (queue_recover_step(r, SIZE_MAX))
			;
		return NULL;
	}
	log_info("queue: %zu messages from queue/%s; reading %zu more state files while "
	    "serving", r->from_index, QUEUE_INDEX_NAME, slow);
	return r;
}

bool queue_recover_step(struct queue_recovery *r, size_t max)
{
	size_t done = 0;

	for (; r->next < r->env.n && done < max; r->next++) {
		const char *id = r->env.v[r->next];
		int cmp = 1;

		/* Both lists are sorted and walked in order: a merge, not a
		 * search per state file. */
		while (r->msg_at < r->msg.n && (cmp = strcmp(r->msg.v[r->msg_at], id)) < 0)
			r->msg_at++;
		if (r->indexed[r->next])
			continue;
		recover_one(r, id, r->msg_at < r->msg.n && cmp == 0);
		r->unread--;
		done++;
	}
	if (r->next < r->env.n)
		return true;
	log_info("queue: %zu messages (%zu from queue/%s)", sched_count(r->s), r->from_index,
	    QUEUE_INDEX_NAME);
	recovery_free(r);
	return false;
}

size_t queue_recover_unread(const struct queue_recovery *r)
{
	return r != NULL ? r->unread : 0;
}

void queue_recover_abandon(struct queue_recovery *r)
{
	if (r == NULL)
		return;
	log_info("queue: stopping with %zu state files not read yet (the next start reads them)",
	    r->env.n - r->next);
	recovery_free(r);
}
