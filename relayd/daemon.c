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
#include "child.h"
#include "control.h"
#include "control_hooks.h"
#include "daemon.h"
#include "daemon_state.h"
#include "health.h"
#include "listen.h"
#include "log.h"
#include "mbox_client.h"
#include "ctl_mailq.h"
#include "metrics.h"
#include "netwatch.h"
#include "picker.h"
#include "pickup.h"
#include "qadmin.h"
#include "quarantine.h"
#include "spool_qlist.h"
#include "queue.h"
#include "queue_index.h"
#include "queue_recover.h"
#include "sched.h"
#include "sd_notify.h"
#include "spool.h"
#include "spool_lock.h"
#include "worker.h"

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

/*
 * In a freshly forked child (worker, pick-up run, listener): nothing of the
 * parent's event loop stays open. The spool lock stays in a worker and a
 * pick-up run, so that an orphaned one keeps it; the listener lets it go
 * (and the spool's directories), so that a new relayd is not held up by it.
 */
static void close_in_child(struct daemon *dm, bool keep_lock)
{
	close(dm->sfd);
	if (!keep_lock)
		close(dm->lockfd);
	worker_close_all(dm->wp);
	if (pickup_fd(dm->p) != -1)
		close(pickup_fd(dm->p));
	if (dm->k != NULL && picker_fd(dm->k) != -1)
		close(picker_fd(dm->k));
	control_forget(dm->ctl);
	netwatch_forget(dm->net);
	if (mbox_client_fd(dm->mbox) != -1)
		close(mbox_client_fd(dm->mbox));
	if (keep_lock)
		listen_forget(dm->lst);
	else
		queue_dirs_close(&dm->d);
}

static void picker_child(void *arg)
{
	close_in_child(arg, true);
}

static void listener_child(void *arg)
{
	close_in_child(arg, false);
}

/* After an attempt or an expiry (queue_recover.h); the metrics follow. */
static void review(struct daemon *dm, const char *id)
{
	queue_review(dm->c, &dm->d, dm->s, id);
	dm->metrics_dirty = true;
}

/* ---- workers (worker.h) ---- */

/* In the child worker_spawn forked: the worker program (worker.h). */
static void worker_child(void *arg, int sock, const char *id)
{
	struct daemon *dm = arg;

	close_in_child(dm, true);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, &dm->oldmask, NULL);
	worker_exec(sock, dm->lockfd, dm->o->conf_must_exist ? dm->o->conf_path : NULL, id,
	    sched_host_until(dm->s), dm->c->nsmarthosts);
}

static bool take(struct daemon *dm, char id[QUEUE_ID_SIZE])
{
	return sched_take_due(dm->s, dm->c, dm->o->once, id, &dm->rate_wake);
}

/* Give idle workers work, or let them go; start new ones for what is due. */
static void dispatch(struct daemon *dm)
{
	time_t now = time(NULL);
	char id[QUEUE_ID_SIZE];
	size_t i;

	for (i = 0; i < worker_count(dm->wp); i++) {
		struct worker *w = worker_at(dm->wp, i);

		if (w->st != W_IDLE)
			continue;
		if (!dm->stopping && take(dm, id))
			worker_give(w, id);
		else if (dm->stopping || time_monotonic() >= w->idle_until ||
		    (dm->o->once && !picker_running(dm->k)))
			/* --once keeps a connection only while pick-up may
			 * still bring more. */
			worker_quit(w);
	}
	if (dm->stopping)
		return;
	while (worker_count(dm->wp) < dm->c->concurrency &&
	    sched_host_available(dm->s, dm->c->nsmarthosts, now) && take(dm, id)) {
		if (!worker_spawn(dm->wp, id, worker_child, dm)) {
			sched_release(dm->s, id);
			break;
		}
	}
}

/* A worker's report (worker.h): the schedule, hold-downs, health and
 * counters follow it. */
static void on_worker_event(void *arg, struct worker *w, const struct worker_event *ev)
{
	struct daemon *dm = arg;

	switch (ev->type) {
	case WEV_UP:
		sched_host_up(dm->s, ev->host);
		health_host_up(&dm->health, ev->host);
		break;
	case WEV_DOWN:
		sched_host_down(dm->s, ev->host, dm->c, time(NULL));
		health_host_down(&dm->health, ev->host, ev->auth, ev->reason, time_wall());
		break;
	case WEV_DONE:
	case WEV_RELEASE:
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
		break;
	}
	dm->metrics_dirty = true;
}

/* A worker exited holding id, never reported: the state file says what
 * happened; back off so a crashing message cannot spin. */
static void on_worker_lost(void *arg, const char *id)
{
	struct daemon *dm = arg;
	char err[256];
	struct qmsg m;

	if (qmsg_load(dm->d.queue, id, &m, err, sizeof err) == 0) {
		time_t later = time(NULL) + dm->c->retry_min;

		sched_update(dm->s, id, m.next > later ? m.next : later);
		if (qmsg_remaining(&m) == 0)
			review(dm, id);
		qmsg_free(&m);
	} else if (errno == ENOENT) {
		sched_remove(dm->s, id);
	} else {
		sched_update(dm->s, id, time(NULL) + dm->c->retry_max);
	}
}

static void reap(struct daemon *dm)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (listen_reaped(dm->lst, pid, status) || mbox_client_reaped(dm->mbox, pid, status))
			continue;
		if (picker_reaped(dm->k, pid, status)) {
			dm->trim = true;
			continue;
		}
		worker_reaped(dm->wp, pid, status);
	}
}

/* ---- expiry, reload, signals ---- */

/* Bounce what outlived queue_lifetime. The index is scanned whole for it,
 * so at most once a second (and once per batch of 64). */
static void expire_due(struct daemon *dm)
{
	char ids[64][QUEUE_ID_SIZE], err[512];
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
				log_info("stopping: letting %zu worker(s) finish", worker_count(dm->wp));
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
	metrics_tick(&dm->m, &dm->metrics_dirty, &dm->metrics_at, dm->c, dm->s, &dm->health);
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
	if (next != 0 && !dm->stopping && !worker_can_take(dm->wp, dm->c->concurrency))
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
	for (i = 0; i < worker_count(dm->wp); i++) {
		struct worker *w = worker_at(dm->wp, i);

		if (w->st == W_IDLE && w->idle_until < t)
			t = w->idle_until;
	}
	if (netwatch_due(dm->net) > 0 && netwatch_due(dm->net) < t)
		t = netwatch_due(dm->net);
	if (mbox_client_due(dm->mbox) > 0 && mbox_client_due(dm->mbox) < t)
		t = mbox_client_due(dm->mbox);
	if (t <= now || (dm->rec != NULL && !dm->stopping))
		return 0;	/* recovery goes on between events */
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

	if (worker_count(dm->wp) > 0 || picker_running(dm->k) || picker_runs(dm->k) == 0 ||
	    mbox_client_busy(dm->mbox))
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
	struct pollfd pfd[6 + WORKER_MAX + CONTROL_MAX_FDS];
	size_t n, nctl, i, base;
	struct worker *ws[WORKER_MAX];
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
		if (dm->rec != NULL && !dm->stopping && !queue_recover_step(dm->rec,
		    QUEUE_RECOVER_SLICE))
			dm->rec = NULL;
		dm->health.unread = queue_recover_unread(dm->rec);
		if (!dm->stopping)
			expire_due(dm);
		dispatch(dm);
		if (!dm->stopping)
			mbox_client_tick(dm->mbox);
		listen_tick(dm->lst, dm->c);
		write_metrics(dm);
		if (dm->stopping && worker_count(dm->wp) == 0 && !picker_running(dm->k) &&
		    !mbox_client_busy(dm->mbox))
			break;
		if (dm->o->once && once_finished(dm))
			break;
		if (dm->trim && worker_count(dm->wp) == 0 && !picker_running(dm->k)) {
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
		pfd[n++] = (struct pollfd){ .fd = mbox_client_fd(dm->mbox), .events = POLLIN };
		nws = 0;
		base = n;
		for (i = 0; i < worker_count(dm->wp); i++) {
			struct worker *w = worker_at(dm->wp, i);

			if (w->fd == -1)
				continue;
			ws[nws++] = w;
			pfd[n++] = (struct pollfd){ .fd = w->fd, .events = POLLIN };
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
			if (pfd[base + i].revents != 0 && !worker_read(dm->wp, ws[i])) {
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
		if (pfd[5].revents != 0)
			mbox_client_read(dm->mbox);
		if (pfd[0].revents != 0)
			read_signals(dm);
	}
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
	dm->wp = worker_pool_new(on_worker_event, on_worker_lost, dm);
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
		worker_pool_free(dm->wp);
		free(dm);
		return 0;
	}
	if (queue_dirs_open(c->spool, &dm->d, err, sizeof err) == -1)
		log_fatalx(EX_OSFILE, "spool: %s", err);
	dm->s = sched_new();
	/* Before the first review (queue_recover_begin): reports to local
	 * mailboxes go to the mailbox process (bounce_queue.h). */
	dm->mbox = mbox_client_new(o->mbox_fd, o->mbox_pid, c, o->once);
	bounce_queue_mbox_attach(dm->mbox, c, &dm->d, dm->s);
	health_reset(&dm->health, c, time_wall());
	dm->owners = qlist_owners_new();
	qlist_owners_load_later(dm->owners, dm->d.queue, QLIST_SAVE_NAME);
	dm->p = pickup_new(&dm->d, c->spool);
	dm->k = picker_new(dm->p, on_queued, picker_child, dm);
	/* The queue as it was: what queue/index lists now, the rest of the
	 * state files from the loop (queue_recover.h). */
	dm->rec = queue_recover_begin_cached(c, &dm->d, dm->s, o->once,
	    o->once ? NULL : dm->owners);	/* --once lists nothing */
	dm->health.unread = queue_recover_unread(dm->rec);
	if (!o->once) {
		control_hooks_fill(dm, &hooks);
		dm->ctl = control_open(c->spool, &hooks, err, sizeof err);
		if (dm->ctl == NULL)
			log_warnx("control socket: %s (sendmail -q and mailq will not reach relayd)",
			    err);
		dm->net = netwatch_open();
	}
	if (!o->once) {
		dm->lst = listen_start(c, o->listen, listener_child, dm);
		dm->m.listening = dm->lst != NULL;
	}
	dm->metrics_dirty = true;
	log_info("started: %zu smarthost(s), concurrency %u%s", c->nsmarthosts, c->concurrency,
	    o->once ? ", once" : "");
	sd_notify_send("READY=1");
	loop(dm);
	queue_recover_abandon(dm->rec);
	dm->rec = NULL;
	/* A clean stop: the next start indexes the queue from one file. */
	if (sched_count(dm->s) >= QUEUE_INDEX_MIN)
		queue_index_write(dm->d.queue, dm->s);
	if (qlist_owners_count(dm->owners) >= QUEUE_INDEX_MIN && !dm->o->once)
		qlist_owners_save(dm->owners, dm->d.queue, QLIST_SAVE_NAME);
	dm->metrics_dirty = true;
	dm->metrics_at = 0;
	write_metrics(dm);
	listen_free(dm->lst);
	control_close(dm->ctl);
	netwatch_close(dm->net);
	picker_free(dm->k);
	worker_pool_free(dm->wp);
	pickup_free(dm->p);
	bounce_queue_mbox_attach(NULL, NULL, NULL, NULL);
	mbox_client_free(dm->mbox);
	sched_free(dm->s);
	qlist_owners_free(dm->owners);
	queue_dirs_close(&dm->d);
	close(dm->sfd);
	log_info("stopped");
	/* Last: workers we no longer wait for would still hold it. */
	close(dm->lockfd);
	free(dm);
	return rc;
}
