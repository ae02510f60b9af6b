/*
 * The parent process: one poll loop over signals (signalfd), inotify, the
 * control socket and the workers' sockets. It picks up drop files, keeps the
 * schedule, expires old messages, and hands due messages to up to
 * `concurrency` workers (deliver.c), each holding one smarthost connection.
 * Workers commit delivery state themselves; the parent only learns the
 * outcome to update its index, hold-downs and counters.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <sysexits.h>
#include <unistd.h>

#include "bounce_queue.h"
#include "control.h"
#include "daemon.h"
#include "deliver.h"
#include "health.h"
#include "listen.h"
#include "log.h"
#include "ctl_mailq.h"
#include "metrics.h"
#include "netwatch.h"
#include "picker.h"
#include "pickup.h"
#include "qadmin.h"
#include "quarantine.h"
#include "spool_qlist.h"
#include "idmap.h"
#include "queue.h"
#include "queue_index.h"
#include "sched.h"
#include "sd_notify.h"
#include "spool.h"
#include "spool_lock.h"

/* How long a worker with nothing to do keeps its connection for more. */
#define WORKER_IDLE_SECONDS 5
#define MAX_WORKERS 64

enum wstate { W_BUSY, W_IDLE, W_QUITTING };

struct worker {
	pid_t pid;
	int fd;
	enum wstate st;
	char id[17];		/* the message it holds while busy */
	double idle_until;	/* monotonic */
};

struct daemon {
	struct conf *c;
	const struct daemon_opts *o;
	struct spool_dirs d;
	struct sched *s;
	struct pickup *p;
	struct picker *k;	/* the pick-up runs (child processes) */
	struct control *ctl;
	int sfd;
	int lockfd;		/* SPOOL/relayd.lock, held; workers inherit it */
	struct qlist_owners *owners;	/* submitters learnt by LIST (spool_qlist_owner.h) */
	sigset_t oldmask;
	struct worker w[MAX_WORKERS];
	size_t nw;
	bool stopping, flush, reload;
	bool flush_hosts;	/* the flush also resets smarthost hold-downs */
	double user_flush_at;	/* monotonic time of the last ordinary user's flush */
	double trim_at;		/* next quarantine_trim (monotonic) */
	double rate_wake;
	struct metrics m;
	struct health health;	/* relayd --health (health.h) */
	struct netwatch *net;	/* network changes (netwatch.h); NULL: none */
	bool metrics_dirty;
	double metrics_at;
	struct listener *lst;	/* the SMTP listener (listen.h), or NULL */
	double expire_at;	/* next expiry pass, monotonic */
	bool trim;		/* a burst (mailq, pick-up) freed memory: give it back */
};

/* A pick-up run made id durable in the queue. Already indexed (a drop
 * seen again after a crash whose message start-up found): keep its state. */
static void on_queued(void *arg, const char *id, double arrival, time_t next, uid_t uid)
{
	struct daemon *dm = arg;

	if (!sched_has(dm->s, id)) {
		sched_add(dm->s, id, arrival, next);
		sched_owner(dm->s, id, uid);
	}
	dm->metrics_dirty = true;
}

static void health_now(struct daemon *dm, struct health_queue *q, struct health_verdict *v)
{
	q->messages = sched_count(dm->s);
	q->oldest_arrival = sched_oldest(dm->s);
	health_judge(&dm->health, q, dm->c->retry_max, time_wall(), v);
}

static void on_health(void *ctx, bool json, struct buf *out)
{
	struct daemon *dm = ctx;
	struct health_verdict v;
	struct health_queue q;

	health_now(dm, &q, &v);
	if (health_format(&dm->health, &q, &v, time_wall(), json, out) != 0)
		buf_appends(out, "ERR reply too long\n");
}

/* In a freshly forked child (worker or pick-up run): nothing of the
 * parent's event loop stays open; the spool lock does, so an orphaned
 * child keeps it. */
static void close_parent_fds(void *arg)
{
	struct daemon *dm = arg;
	size_t i;

	close(dm->sfd);
	for (i = 0; i < dm->nw; i++) {
		if (dm->w[i].fd != -1)
			close(dm->w[i].fd);
	}
	if (pickup_fd(dm->p) != -1)
		close(pickup_fd(dm->p));
	if (dm->k != NULL && picker_fd(dm->k) != -1)
		close(picker_fd(dm->k));
	control_forget(dm->ctl);
	netwatch_forget(dm->net);
	listen_forget(dm->lst);
}

/*
 * sendmail -q. Root and the relay user flush everything, smarthost
 * hold-downs included. Anyone else may flush the messages at most once per
 * retry_min, and never resets a hold-down (issue 14: an unlimited flush
 * let one user make relayd retry a refusing smarthost hundreds of times a
 * minute, which gets accounts locked and addresses blocked).
 */
static int on_flush(void *ctx, uid_t peer, char *err, size_t errlen)
{
	struct daemon *dm = ctx;
	double now = time_monotonic();
	double gap = dm->c->retry_min > 0 ? (double)dm->c->retry_min : 60;

	if (peer != 0 && (long)peer != dm->o->relay_uid) {
		if (dm->user_flush_at > 0 && now - dm->user_flush_at < gap) {
			snprintf(err, errlen, "ordinary users may flush the queue at most once per "
			    "%.0f s (retry_min); try again in %.0f s", gap,
			    gap - (now - dm->user_flush_at) + 0.5);
			log_info("flush by uid %lu refused: the last one was %.0f s ago",
			    (unsigned long)peer, now - dm->user_flush_at);
			return 1;
		}
		dm->user_flush_at = now;
		log_info("flush requested by uid %lu (messages only)", (unsigned long)peer);
		dm->flush = true;
		return 0;
	}
	log_info("flush requested by uid %lu", (unsigned long)peer);
	dm->flush = true;
	dm->flush_hosts = true;
	return 0;
}

/* ---- mailq and the queue tools (control socket) ---- */

/* Is a worker delivering id right now? */
static bool held_by_worker(void *ctx, const char *id)
{
	struct daemon *dm = ctx;
	size_t i;

	for (i = 0; i < dm->nw; i++) {
		if (dm->w[i].st == W_BUSY && strcmp(dm->w[i].id, id) == 0)
			return true;
	}
	return false;
}

static int on_list(void *ctx, bool json, bool all, uid_t peer, struct buf *out, char *err,
    size_t errlen)
{
	struct daemon *dm = ctx;
	struct qlist_opts o = { .json = json, .all = all, .uid = peer, .busy = held_by_worker,
		.ctx = dm, .owners = dm->owners };

	dm->trim = true;
	return qlist_format(dm->d.queue, dm->d.failed, &o, out, err, errlen);
}

static void admin_one(struct daemon *dm, enum qadmin_op op, const char *id, struct buf *out)
{
	struct qadmin_after after;
	char err[600];

	if (held_by_worker(dm, id)) {
		buf_appendf(out, "BUSY %s\n", id);
		return;
	}
	switch (qadmin_apply(&dm->d, op, id, &after, err, sizeof err)) {
	case QA_DONE:
		/* The index follows the files: held messages are not in it. */
		if (after.queued)
			sched_add(dm->s, id, after.arrival, after.next);
		else
			sched_remove(dm->s, id);
		dm->metrics_dirty = true;
		buf_appendf(out, "OK %s\n", id);
		break;
	case QA_MISSING:
		buf_appendf(out, "MISSING %s\n", id);
		break;
	case QA_REFUSED:
		buf_appendf(out, "FAIL %s %s\n", id, err);
		break;
	}
}

static void on_admin(void *ctx, uid_t peer, enum qadmin_op op, const char *id, struct buf *out)
{
	struct daemon *dm = ctx;
	char (*ids)[17];
	size_t n, i;

	log_info("%s %s requested by uid %lu", qadmin_op_cmd(op), id, (unsigned long)peer);
	if (strcmp(id, "ALL") != 0) {
		admin_one(dm, op, id, out);
		return;
	}
	n = qadmin_all(&dm->d, op, &ids);
	for (i = 0; i < n; i++)
		admin_one(dm, op, ids[i], out);
	free(ids);
}

/*
 * After an attempt, an expiry or at start-up, with no worker holding ID:
 * bounce, re-address or warn (bounce_queue.h), and keep the index in step.
 * Here in the parent, which owns the index a new report must join.
 */
static void review(struct daemon *dm, const char *id)
{
	struct bounce_queue_outcome o;

	bounce_queue_review(dm->c, &dm->d, id, time_wall(), &o);
	if (o.newid[0] != '\0')
		sched_add(dm->s, o.newid, o.new_arrival, 0);
	switch (o.act) {
	case BQ_STAYS:
		break;
	case BQ_DUE_NOW:
		sched_add(dm->s, id, o.arrival, 0);
		sched_update(dm->s, id, 0);
		break;
	case BQ_LEFT:
		sched_remove(dm->s, id);
		break;
	case BQ_RETRY:
		sched_update(dm->s, id, time(NULL) + dm->c->retry_max);
		break;
	}
	dm->metrics_dirty = true;
}

/* ---- start-up recovery ---- */

static bool exists_at(int dir, const char *name)
{
	struct stat st;

	return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* One queue/ID.env at start-up. */
static void recover_one(struct daemon *dm, const char *id)
{
	char env[32], msg[32], err[512];
	struct qmsg m;

	snprintf(env, sizeof env, "%s.env", id);
	snprintf(msg, sizeof msg, "%s.msg", id);
	if (qmsg_load(dm->d.queue, id, &m, err, sizeof err) == -1) {
		/* Never delete what we cannot read: keep both for the admin. */
		pickup_quarantine_file(&dm->d, dm->d.queue, env, err);
		if (exists_at(dm->d.queue, msg))
			pickup_quarantine_file(&dm->d, dm->d.queue, msg, "its state file did not parse");
		return;
	}
	if (!exists_at(dm->d.queue, msg)) {
		if (exists_at(dm->d.failed, msg)) {
			/* A move into failed/ was cut short: finish it. */
			if (renameat(dm->d.queue, env, dm->d.failed, env) == 0) {
				fsync(dm->d.failed);
				fsync(dm->d.queue);
				log_info("%s: finished moving into failed/", id);
			}
		} else {
			pickup_quarantine_file(&dm->d, dm->d.queue, env, "its message file is missing");
		}
		qmsg_free(&m);
		return;
	}
	if (pickup_drop_pending(&dm->d, &m)) {
		/* Its drop file is still there: the pick-up may not have been
		 * made durable; the first pick-up run finishes it, then it is
		 * scheduled. Sending it now could send it twice. */
		log_info("%s: pick-up not finished before the restart; left to pick-up", id);
		qmsg_free(&m);
		return;
	}
	if (!m.held) {	/* relayd --hold: never attempted until released */
		sched_add(dm->s, id, m.arrival, m.next);
		sched_owner(dm->s, id, m.uid);
	}
	/* Committed, then a crash before it left the queue or was bounced. */
	if (qmsg_remaining(&m) == 0 && !m.held)
		review(dm, id);
	qmsg_free(&m);
}

/* What readdir found for an id (bits), and whether the index placed it. */
#define HAS_ENV 1u
#define HAS_MSG 2u
#define INDEXED 4u

struct recovery {
	struct daemon *dm;
	struct idmap *ids;	/* id → HAS_ENV | HAS_MSG | INDEXED */
	size_t indexed;
};

/* An index entry whose two files are there: scheduled as it was. */
static void recover_indexed(void *ctx, const char *id, double arrival, time_t next)
{
	struct recovery *r = ctx;
	size_t have;

	if (!idmap_get(r->ids, id, &have) || (have & (HAS_ENV | HAS_MSG)) != (HAS_ENV | HAS_MSG) ||
	    (have & INDEXED) != 0)
		return;
	sched_add(r->dm->s, id, arrival, next);
	idmap_put(r->ids, id, have | INDEXED);
	r->indexed++;
}

/*
 * Start-up: one readdir of queue/; the index a clean stop wrote
 * (queue_index.h) schedules what it lists without opening a file; every
 * other state file is read (recover_one). A .msg without its .env was
 * delivered (the .env goes first) or its pick-up was cut short (the drop
 * file is still there and will be picked up again): either way it is not
 * mail we hold.
 */
static void recover_queue(struct daemon *dm)
{
	struct recovery r = { .dm = dm, .ids = idmap_new() };
	struct dirent *de;
	char id[17], (*slow)[17] = NULL;
	size_t len, nslow = 0, capslow = 0, have;
	DIR *dir;
	int fd;

	fd = openat(dm->d.queue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (dir = fdopendir(fd)) == NULL)
		log_fatalx(EX_OSERR, "cannot read the queue directory: %s", strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len == 16 + 8 && strcmp(de->d_name + 16, ".env.tmp") == 0) {
			unlinkat(dm->d.queue, de->d_name, 0);
			continue;
		}
		if (len != 16 + 4 || (strcmp(de->d_name + 16, ".env") != 0 &&
		    strcmp(de->d_name + 16, ".msg") != 0))
			continue;
		memcpy(id, de->d_name, 16);
		id[16] = '\0';
		if (!queue_id_valid(id))
			continue;
		if (!idmap_get(r.ids, id, &have))
			have = 0;
		idmap_put(r.ids, id, have | (de->d_name[17] == 'e' ? HAS_ENV : HAS_MSG));
	}
	closedir(dir);
	queue_index_take(dm->d.queue, recover_indexed, &r);
	/* The rest the slow way, ids collected first: recover_one moves files. */
	fd = openat(dm->d.queue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (dir = fdopendir(fd)) == NULL)
		log_fatalx(EX_OSERR, "cannot read the queue directory: %s", strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len != 16 + 4)
			continue;
		memcpy(id, de->d_name, 16);
		id[16] = '\0';
		if (!idmap_get(r.ids, id, &have) || (have & INDEXED) != 0)
			continue;
		if (strcmp(de->d_name + 16, ".env") == 0) {
			if (nslow == capslow) {
				capslow = capslow ? capslow * 2 : 64;
				slow = xreallocarray(slow, capslow, sizeof(*slow));
			}
			memcpy(slow[nslow++], id, 17);
		} else if (strcmp(de->d_name + 16, ".msg") == 0 && (have & HAS_ENV) == 0) {
			log_info("%s: removing queue/%s left by an interrupted run", id,
			    de->d_name);
			unlinkat(dm->d.queue, de->d_name, 0);
		}
	}
	closedir(dir);
	for (len = 0; len < nslow; len++)
		recover_one(dm, slow[len]);
	free(slow);
	idmap_free(r.ids);
	log_info("queue: %zu messages (%zu from queue/%s)", sched_count(dm->s), r.indexed,
	    QUEUE_INDEX_NAME);
}

/* ---- workers ---- */

static struct worker *worker_by_pid(struct daemon *dm, pid_t pid)
{
	size_t i;

	for (i = 0; i < dm->nw; i++) {
		if (dm->w[i].pid == pid)
			return &dm->w[i];
	}
	return NULL;
}

static size_t active_workers(const struct daemon *dm)
{
	return dm->nw;
}

static void tell(struct worker *w, const char *msg)
{
	if (w->fd != -1 && send(w->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_warn("worker %ld: cannot send", (long)w->pid);
}

static bool spawn(struct daemon *dm, const char *id)
{
	struct worker *w;
	int sv[2];
	pid_t pid;

	if (dm->nw >= MAX_WORKERS)
		return false;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return false;
	}
	pid = fork();
	if (pid == -1) {
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	if (pid == 0) {
		close(sv[0]);
		close_parent_fds(dm);
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &dm->oldmask, NULL);
		deliver_main(dm->c, &dm->d, sv[1], id, sched_host_until(dm->s),
		    dm->c->nsmarthosts);
	}
	close(sv[1]);
	w = &dm->w[dm->nw++];
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->fd = sv[0];
	w->st = W_BUSY;
	strlcpy(w->id, id, sizeof w->id);
	return true;
}

/* May a message start now (rate limit)? */
static bool rate_ok(struct daemon *dm)
{
	double wake = 0;

	if (sched_rate_ok(dm->s, dm->c, time_monotonic(), &wake))
		return true;
	dm->rate_wake = wake;
	return false;
}

static bool take(struct daemon *dm, char id[17])
{
	if (!rate_ok(dm) || !sched_take(dm->s, time(NULL), dm->o->once, id))
		return false;
	sched_rate_note(dm->s, dm->c, time_monotonic());
	return true;
}

/* Give idle workers work, or let them go; start new ones for what is due. */
static void dispatch(struct daemon *dm)
{
	time_t now = time(NULL);
	char id[17];
	size_t i;

	for (i = 0; i < dm->nw; i++) {
		struct worker *w = &dm->w[i];

		if (w->st != W_IDLE)
			continue;
		if (!dm->stopping && take(dm, id)) {
			char msg[32];

			snprintf(msg, sizeof msg, "MSG %s", id);
			tell(w, msg);
			w->st = W_BUSY;
			strlcpy(w->id, id, sizeof w->id);
		} else if (dm->stopping || time_monotonic() >= w->idle_until ||
		    (dm->o->once && !picker_running(dm->k))) {
			/* --once keeps a connection only while pick-up may
			 * still bring more. */
			tell(w, "QUIT");
			w->st = W_QUITTING;
		}
	}
	if (dm->stopping)
		return;
	while (active_workers(dm) < dm->c->concurrency &&
	    sched_host_available(dm->s, dm->c->nsmarthosts, now) && take(dm, id)) {
		if (!spawn(dm, id)) {
			sched_release(dm->s, id);
			break;
		}
	}
}

static void worker_event(struct daemon *dm, struct worker *w, const struct worker_event *ev)
{
	switch (ev->type) {
	case WEV_UP:
		sched_host_up(dm->s, ev->host);
		health_host_up(&dm->health, ev->host);
		dm->metrics_dirty = true;
		break;
	case WEV_DOWN:
		sched_host_down(dm->s, ev->host, dm->c, time(NULL));
		health_host_down(&dm->health, ev->host, ev->auth, ev->reason, time_wall());
		dm->metrics_dirty = true;
		break;
	case WEV_DONE:
	case WEV_RELEASE:
		if (strcmp(ev->id, w->id) != 0 || w->st != W_BUSY) {
			log_warnx("worker %ld: unexpected report for %s", (long)w->pid, ev->id);
			break;
		}
		if (ev->type == WEV_RELEASE)
			sched_release(dm->s, ev->id);
		else if (ev->final)
			sched_remove(dm->s, ev->id);
		else
			sched_update(dm->s, ev->id, ev->next);
		if (ev->type == WEV_DONE && !ev->final)
			review(dm, ev->id);
		if (ev->type == WEV_DONE) {
			dm->m.sent += ev->sent;
			dm->m.deferred += ev->deferred;
			dm->m.bounced += ev->bounced;
			if (ev->sent > 0) {
				dm->m.last_success = time_wall();
				health_delivered(&dm->health, dm->m.last_success);
			}
		}
		dm->metrics_dirty = true;
		w->id[0] = '\0';
		if (ev->more) {
			w->st = W_IDLE;
			w->idle_until = time_monotonic() + WORKER_IDLE_SECONDS;
		} else {
			w->st = W_QUITTING;
		}
		break;
	}
}

/* Read every datagram a worker has sent. false at end of file. */
static bool worker_read(struct daemon *dm, struct worker *w)
{
	struct worker_event ev;
	char msg[WMSG_MAX + 1];
	ssize_t n;

	for (;;) {
		n = recv(w->fd, msg, sizeof msg, MSG_DONTWAIT);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0)
			return false;
		if (deliver_event_parse(msg, (size_t)n, &ev) == -1) {
			log_warnx("worker %ld: malformed report", (long)w->pid);
			continue;
		}
		worker_event(dm, w, &ev);
	}
}

/* A worker exited: if it held a message it never reported, the state file
 * says what happened; back off so a crashing message cannot spin. */
static void worker_gone(struct daemon *dm, struct worker *w, int status)
{
	char err[256];
	struct qmsg m;

	if (w->fd != -1) {
		worker_read(dm, w);
		close(w->fd);
		w->fd = -1;
	}
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))
		log_warnx("worker %ld ended abnormally (%s %d)", (long)w->pid,
		    WIFSIGNALED(status) ? "signal" : "exit",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (w->st == W_BUSY && w->id[0] != '\0') {
		if (qmsg_load(dm->d.queue, w->id, &m, err, sizeof err) == 0) {
			time_t later = time(NULL) + dm->c->retry_min;

			sched_update(dm->s, w->id, m.next > later ? m.next : later);
			if (qmsg_remaining(&m) == 0)
				review(dm, w->id);
			qmsg_free(&m);
		} else if (errno == ENOENT) {
			sched_remove(dm->s, w->id);
		} else {
			sched_update(dm->s, w->id, time(NULL) + dm->c->retry_max);
		}
	}
	*w = dm->w[--dm->nw];
}

static void reap(struct daemon *dm)
{
	struct worker *w;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (listen_reaped(dm->lst, pid, status))
			continue;
		if (picker_reaped(dm->k, pid, status)) {
			dm->trim = true;
			continue;
		}
		if ((w = worker_by_pid(dm, pid)) != NULL)
			worker_gone(dm, w, status);
	}
}

/* ---- expiry, reload, signals, metrics ---- */

/* Bounce what outlived queue_lifetime. The index is scanned whole for it,
 * so at most once a second (and once per batch of 64). */
static void expire_due(struct daemon *dm)
{
	char ids[64][17], err[512];
	size_t n, i;
	unsigned nb;

	if (dm->c->queue_lifetime <= 0 || time_monotonic() < dm->expire_at)
		return;
	dm->expire_at = time_monotonic() + 1.0;
	do {
		n = sched_take_expired(dm->s, time(NULL), dm->o->once,
		    time_wall() - (double)dm->c->queue_lifetime, ids, NR_ARRAY_LEN(ids));
		for (i = 0; i < n; i++) {
			if (queue_expire_id(dm->d.queue, -1, ids[i], time_wall(), &nb, err,
			    sizeof err) == -1) {
				log_warnx("%s: cannot expire: %s", ids[i], err);
				sched_update(dm->s, ids[i], time(NULL) + dm->c->retry_max);
				continue;
			}
			dm->m.bounced += nb;
			review(dm, ids[i]);
		}
	} while (n == NR_ARRAY_LEN(ids));
}

static void reload(struct daemon *dm)
{
	char err[CONF_ERR_MAX];
	struct conf nc;

	memset(&nc, 0, sizeof nc);
	if (conf_load(dm->o->conf_path, dm->o->conf_must_exist, &nc, err, sizeof err) == -1 ||
	    conf_check_relay(&nc, dm->o->relay_uid, err, sizeof err) == -1) {
		log_warnx("reload: %s; keeping the old configuration", err);
		conf_free(&nc);
		return;
	}
	if (strcmp(nc.spool, dm->c->spool) != 0 || strcmp(nc.user, dm->c->user) != 0) {
		log_warnx("reload: spool or user changed: that takes a restart; keeping %s",
		    dm->c->spool);
		free(nc.spool);
		nc.spool = xstrdup(dm->c->spool);
		free(nc.user);
		nc.user = xstrdup(dm->c->user);
	}
	conf_free(dm->c);
	*dm->c = nc;
	sched_hosts_reset(dm->s);
	health_reset(&dm->health, dm->c, time_wall());
	listen_reload(dm->lst);
	dm->metrics_dirty = true;
	log_info("configuration reloaded from %s", dm->c->path);
}

static void read_signals(struct daemon *dm)
{
	struct signalfd_siginfo si;

	while (read(dm->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!dm->stopping) {
				log_info("stopping: letting %zu worker(s) finish", dm->nw);
				sd_notify_send("STOPPING=1");
			}
			dm->stopping = true;
			listen_stop(dm->lst);
			break;
		case SIGHUP:
			dm->reload = true;
			break;
		case SIGUSR1:
			log_info("flush requested by signal");
			dm->flush = true;
			dm->flush_hosts = true;
			break;
		case SIGCHLD:
			reap(dm);
			break;
		default:
			break;
		}
	}
}

static void write_metrics(struct daemon *dm)
{
	double oldest;
	size_t i;

	/* Once a minute even when nothing happened: ages and health move. */
	if (dm->c->metrics_file == NULL || time_monotonic() - dm->metrics_at < 1.0 ||
	    (!dm->metrics_dirty && time_monotonic() - dm->metrics_at < 60.0))
		return;
	dm->m.queue_messages = sched_count(dm->s);
	oldest = sched_oldest(dm->s);
	dm->m.oldest_age = oldest > 0 ? time_wall() - oldest : 0;
	dm->m.nhosts = dm->c->nsmarthosts;
	for (i = 0; i < dm->c->nsmarthosts; i++) {
		snprintf(dm->m.hosts[i], sizeof dm->m.hosts[i], "%s:%u",
		    dm->c->smarthosts[i].host, dm->c->smarthosts[i].port);
		dm->m.up[i] = sched_host_is_up(dm->s, i);
		dm->m.auth_failing[i] = dm->health.h[i].state == HH_DOWN && dm->health.h[i].auth;
		dm->m.failing_since[i] = dm->health.h[i].state == HH_DOWN ?
		    dm->health.h[i].since : 0;
	}
	{
		struct health_verdict v;
		struct health_queue q;

		health_now(dm, &q, &v);
		dm->m.healthy = health_ok(&v);
	}
	if (metrics_write(dm->c->metrics_file, &dm->m) == -1)
		log_warn("cannot write %s", dm->c->metrics_file);
	dm->metrics_dirty = false;
	dm->metrics_at = time_monotonic();
}

/* Is there a worker to give a message to, or room to start one? */
static bool can_dispatch(const struct daemon *dm)
{
	size_t i;

	if (active_workers(dm) < dm->c->concurrency)
		return true;
	for (i = 0; i < dm->nw; i++) {
		if (dm->w[i].st == W_IDLE)
			return true;
	}
	return false;
}

/* Milliseconds until something is due (capped: clients time out too). */
static int poll_timeout(struct daemon *dm)
{
	double now = time_monotonic(), t = now + 5.0, due;
	time_t wall = time(NULL), next, wake;
	size_t i;

	if (dm->metrics_dirty && dm->c->metrics_file != NULL)
		t = now + 1.0;
	if (!dm->o->once && !picker_running(dm->k) && pickup_due(dm->p) < t)
		t = pickup_due(dm->p);
	/* Something due matters only if a worker could take it: with every
	 * worker busy, their reports wake us (no busy loop over a backlog). */
	next = sched_next_due(dm->s, dm->o->once);
	if (next != 0 && !dm->stopping && !can_dispatch(dm))
		next = 0;
	if (next != 0 && !dm->stopping) {
		wake = sched_host_wake(dm->s, dm->c->nsmarthosts, wall);
		if (!sched_host_available(dm->s, dm->c->nsmarthosts, wall) && wake > next)
			next = wake;
		due = now + (double)(next - wall);
		if (dm->rate_wake > now && due < dm->rate_wake)
			due = dm->rate_wake;
		if (due < t)
			t = due;
	}
	for (i = 0; i < dm->nw; i++) {
		if (dm->w[i].st == W_IDLE && dm->w[i].idle_until < t)
			t = dm->w[i].idle_until;
	}
	if (netwatch_due(dm->net) > 0 && netwatch_due(dm->net) < t)
		t = netwatch_due(dm->net);
	if (t <= now)
		return 0;
	return (int)((t - now) * 1000.0) + 1;
}

/* The network came back (netwatch.h): retry deferred mail now, as
 * sendmail -q would, hold-downs lifted. */
static void net_changed(struct daemon *dm)
{
	char why[256];

	if (!netwatch_take(dm->net, time_monotonic(), why, sizeof why) || dm->stopping)
		return;
	if (sched_count(dm->s) == 0) {
		log_debug("network change: %s; nothing queued", why);
		return;
	}
	log_info("network change: %s; retrying deferred mail now", why);
	dm->flush = true;
	dm->flush_hosts = true;	/* the hold-downs were earned on the old network */
}

static bool once_finished(struct daemon *dm)
{
	time_t now = time(NULL), next;

	if (dm->nw > 0 || picker_running(dm->k) || picker_runs(dm->k) == 0)
		return false;
	next = sched_next_due(dm->s, true);
	/* Something due and untried, but rate-limited: wait for the window. */
	if (next != 0 && next <= now && dm->rate_wake > time_monotonic() &&
	    sched_host_available(dm->s, dm->c->nsmarthosts, now))
		return false;
	return true;
}

static void loop(struct daemon *dm)
{
	/* signals, inotify, pick-up run, netlink, listener; workers; the
	 * control socket and its clients. */
	struct pollfd pfd[5 + MAX_WORKERS + CONTROL_MAX_FDS];
	size_t n, nctl, i, base;
	struct worker *ws[MAX_WORKERS];
	size_t nws;

	for (;;) {
		if (dm->reload) {
			dm->reload = false;
			sd_notify_reloading();
			reload(dm);
			sd_notify_send("READY=1");
		}
		net_changed(dm);
		if (dm->flush) {
			dm->flush = false;
			sched_flush(dm->s, dm->flush_hosts);
			dm->flush_hosts = false;
			pickup_poke(dm->p);
			picker_scan(dm->k);
		}
		if (dm->stopping)
			picker_stop(dm->k);
		else if (!picker_running(dm->k) && pickup_due(dm->p) <= time_monotonic() &&
		    (!dm->o->once || picker_runs(dm->k) == 0))
			picker_start(dm->k, dm->c, dm->o->once);
		/* The bound on refused drop files (quarantine.h). */
		if (!dm->stopping && !dm->o->once && time_monotonic() >= dm->trim_at) {
			quarantine_trim(dm->d.quarantine);
			dm->trim_at = time_monotonic() + 5;
		}
		if (!dm->stopping)
			expire_due(dm);
		dispatch(dm);
		listen_tick(dm->lst, dm->c);
		write_metrics(dm);
		if (dm->stopping && dm->nw == 0 && !picker_running(dm->k))
			break;
		if (dm->o->once && once_finished(dm))
			break;
		if (dm->trim && dm->nw == 0 && !picker_running(dm->k)) {
			/* Idle after a burst: the listing's buffers, a big
			 * index, go back to the system (idle RSS). */
			malloc_trim(0);
			dm->trim = false;
		}

		n = 0;
		pfd[n++] = (struct pollfd){ .fd = dm->sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = pickup_fd(dm->p), .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = picker_fd(dm->k), .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = netwatch_fd(dm->net), .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = listen_fd(dm->lst), .events = POLLIN };
		nws = 0;
		base = n;
		for (i = 0; i < dm->nw; i++) {
			if (dm->w[i].fd == -1)
				continue;
			ws[nws++] = &dm->w[i];
			pfd[n++] = (struct pollfd){ .fd = dm->w[i].fd, .events = POLLIN };
		}
		nctl = dm->ctl != NULL ? control_pollfds(dm->ctl, pfd + n) : 0;
		if (poll(pfd, n + nctl, poll_timeout(dm)) == -1) {
			if (errno != EINTR)
				log_warn("poll");
			continue;
		}
		if (dm->ctl != NULL)
			control_handle(dm->ctl, pfd + n, nctl);
		for (i = 0; i < nws; i++) {
			if (pfd[base + i].revents != 0 && !worker_read(dm, ws[i])) {
				/* End of file: the exit is reaped through SIGCHLD. */
				close(ws[i]->fd);
				ws[i]->fd = -1;
			}
		}
		if (pfd[2].revents != 0)
			picker_read(dm->k);
		if (pfd[1].revents != 0) {
			pickup_events(dm->p);
			picker_scan(dm->k);
		}
		if (pfd[3].revents != 0)
			netwatch_read(dm->net, time_monotonic());
		if (pfd[4].revents != 0) {
			listen_read(dm->lst, &dm->m.listen);
			dm->metrics_dirty = true;
		}
		if (pfd[0].revents != 0)
			read_signals(dm);
	}
}

/* In the listener process (listen.h): nothing of the parent's loop, and not
 * the spool lock, so that a new relayd is not held up by it. */
static void close_for_listener(void *arg)
{
	struct daemon *dm = arg;
	size_t i;

	close(dm->sfd);
	close(dm->lockfd);
	for (i = 0; i < dm->nw; i++)
		if (dm->w[i].fd != -1)
			close(dm->w[i].fd);
	if (pickup_fd(dm->p) != -1)
		close(pickup_fd(dm->p));
	if (dm->k != NULL && picker_fd(dm->k) != -1)
		close(picker_fd(dm->k));
	control_forget(dm->ctl);
	netwatch_forget(dm->net);
	pickup_dirs_close(&dm->d);
}

/* Wait up to ms for a signal; true once SIGTERM or SIGINT came. */
static bool stop_requested(struct daemon *dm, int ms)
{
	struct pollfd pfd = { .fd = dm->sfd, .events = POLLIN };

	if (poll(&pfd, 1, ms) > 0)
		read_signals(dm);
	return dm->stopping;
}

/* --once beside a running daemon: have it retry everything now, as
 * sendmail -q does. false if no daemon answers (a dead one's orphaned
 * workers may hold the lock). */
static bool ask_flush(struct daemon *dm)
{
	char reply[256], err[512];

	if (ctl_request(dm->c->spool, "FLUSH", -1, reply, sizeof reply, err, sizeof err) != 0 ||
	    strncmp(reply, "OK", 2) != 0)
		return false;
	log_info("another relayd is running on %s: asked it to flush the queue instead", dm->c->spool);
	return true;
}

/*
 * Take SPOOL/relayd.lock (spool_lock.h), waiting while another relayd or
 * its orphaned workers hold it; SIGTERM still stops us. 0: the spool is
 * ours; 1: exit now (stopped while waiting, or --once handed to the
 * running daemon).
 */
static int lock_spool(struct daemon *dm)
{
	char err[512];
	bool said = false;
	int r;

	dm->lockfd = spool_lock_open(dm->c->spool, err, sizeof err);
	if (dm->lockfd == -1)
		log_fatalx(errno == EACCES ? EX_NOPERM : EX_OSFILE, "spool lock: %s", err);
	while ((r = spool_lock_try(&dm->lockfd, dm->c->spool)) == 1) {
		if (dm->o->once && ask_flush(dm))
			return 1;
		if (!said)
			log_info("waiting for the other relayd on %s to exit", dm->c->spool);
		said = true;
		if (stop_requested(dm, 500))
			return 1;
	}
	if (r == -1)
		log_fatalx(EX_OSERR, "flock %s/%s: %s", dm->c->spool, SPOOL_LOCK, strerror(errno));
	if (said)
		log_info("the other relayd on %s is gone: starting", dm->c->spool);
	return 0;
}

int daemon_run(struct conf *c, const struct daemon_opts *o)
{
	struct control_hooks hooks;
	struct daemon *dm = xcalloc(1, sizeof(*dm));
	char err[512];
	sigset_t mask;
	int rc = 0;

	dm->c = c;
	dm->o = o;
	sd_notify_init();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &dm->oldmask) == -1 ||
	    (dm->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		log_fatalx(EX_OSERR, "signalfd: %s", strerror(errno));
	if (lock_spool(dm) == 1) {
		if (dm->stopping)
			log_info("stopped before the spool was free");
		close(dm->lockfd);
		close(dm->sfd);
		free(dm);
		return 0;
	}
	if (pickup_dirs_open(c->spool, &dm->d, err, sizeof err) == -1)
		log_fatalx(EX_OSFILE, "spool: %s", err);
	dm->s = sched_new();
	health_reset(&dm->health, c, time_wall());
	dm->owners = qlist_owners_new();
	dm->p = pickup_new(&dm->d, c->spool);
	dm->k = picker_new(dm->p, on_queued, close_parent_fds, dm);
	recover_queue(dm);
	if (!o->once) {
		hooks = (struct control_hooks){ .ctx = dm, .flush = on_flush, .list = on_list,
			.admin = on_admin, .health = on_health };
		dm->ctl = control_open(c->spool, &hooks, err, sizeof err);
		if (dm->ctl == NULL)
			log_warnx("control socket: %s (sendmail -q and mailq will not reach relayd)",
			    err);
		dm->net = netwatch_open();
	}
	if (!o->once) {
		dm->lst = listen_start(c, o->listen, close_for_listener, dm);
		dm->m.listening = dm->lst != NULL;
	}
	dm->metrics_dirty = true;
	log_info("started: %zu smarthost(s), concurrency %u%s", c->nsmarthosts, c->concurrency,
	    o->once ? ", once" : "");
	sd_notify_send("READY=1");
	loop(dm);
	/* A clean stop: the next start indexes the queue from one file. */
	if (sched_count(dm->s) >= QUEUE_INDEX_MIN)
		queue_index_write(dm->d.queue, dm->s);
	dm->metrics_dirty = true;
	dm->metrics_at = 0;
	write_metrics(dm);
	listen_free(dm->lst);
	control_close(dm->ctl);
	netwatch_close(dm->net);
	picker_free(dm->k);
	pickup_free(dm->p);
	sched_free(dm->s);
	qlist_owners_free(dm->owners);
	pickup_dirs_close(&dm->d);
	close(dm->sfd);
	log_info("stopped");
	/* Last: workers we no longer wait for would still hold it. */
	close(dm->lockfd);
	free(dm);
	return rc;
}
