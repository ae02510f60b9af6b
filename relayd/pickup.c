/*
 * Pick-up of drop files (SPEC §5.4, §5.6), in batches, in a child process
 * of its own (picker.c forks it; pickup_run is its main) so that pick-up
 * never waits for sending and sending never waits for a whole scan.
 *
 * Each drop file in incoming/new is checked as hostile input
 * (drop_file_open) and COPIED into queue/ID.msg with our Received: header
 * first (the uid is the kernel's file owner, never the claimed-uid line),
 * the body scanned on the way (8-bit bytes set BODY=8BITMIME; NUL, CR or a
 * line over 998 octets means someone wrote the file by hand: quarantined).
 * A copy, not a link or a rename: the drop file belongs to its submitter,
 * who may still hold it open and could write into a linked queue file after
 * the checks (bare CR into the SMTP stream, a changed length); a copy is
 * ours alone, mode 0600 in a 0700 directory.
 *
 * Durability, per batch of up to PICKUP_BATCH files, taken round robin by
 * owner uid (one user's flood cannot starve another user's message):
 *
 *   step                           on disk after it        a crash here leaves
 *   1. stage each file: write       ID.msg, ID.env written  drops all still in new/;
 *      ID.msg, then ID.env.tmp      (page cache only),      staged files may be lost,
 *      renamed to ID.env, no fsync  drops untouched         short or whole (power loss)
 *   2. syncfs(queue/) + fsync(queue/)  every ID.msg and ID.env of the batch durable
 *   3. unlink each drop file        drops gone (not yet     a drop whose unlink is lost
 *                                   durable)                is "already queued" (below)
 *   4. fsync(incoming/new)          unlinks durable
 *   5. report the ids to the parent, which schedules them: nothing is sent
 *      before step 2 (and 4), so nothing is sent that a crash could lose.
 *
 * Recovery. A drop file seen again (a crash before step 3 or 4) whose
 * queue/ID.env records this very drop (dev, ino, uid, size) AND whose
 * ID.msg has the size it records is "already queued": it joins the current
 * batch without being copied again, so step 2 makes it durable before step 3
 * removes its drop. If ID.msg is missing or short (a power loss between 1
 * and 2), the drop is copied afresh under the same id. At start-up
 * (daemon.c) a state file whose recorded drop is still in incoming/new is
 * left to pick-up and not scheduled, so a staged, not yet durable copy is
 * never sent while its drop may still be picked up again (that would send
 * twice). A kill -9 loses no write already made (the page cache survives),
 * so for SPEC §5.6 only the power-loss rows matter for durability, and
 * they never lose a message: until step 4 the drop file, durable since
 * sendmail's fsync, is still there. A commit that fails (step 2) removes
 * every fresh ID.env, then ID.msg, and leaves the drops for the next scan.
 *
 * Files still being written (DROP_NOT_YET) are looked at again after
 * PICKUP_NOT_YET_DELAY; one that stays incomplete for pickup_wait_max
 * (default 2m) after relayd first saw it (by dev and inode, whatever its
 * mtime says) is quarantined, so a file whose length never matches costs
 * at most pickup_wait_max / PICKUP_NOT_YET_DELAY header reads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "idmap.h"
#include "log.h"
#include "pickup.h"
#include "tmp_sweep.h"
#include "relay_log.h"
#include "spool.h"

#define LINE_MAX_OCTETS 998
/* A file name (NAME_MAX bytes) as log_safe shows it. */
#define SHOWN_MAX LOG_SAFE_SIZE(NAME_MAX)

/* A drop file seen incomplete: since when (monotonic), which inode. */
struct waiting {
	char id[17];
	uint64_t dev, ino;
	double first;
	unsigned gen;	/* the pick-up run that last reported it */
};

struct pickup {
	const struct spool_dirs *d;
	int ino_fd;
	double due;		/* next scan, monotonic */
	time_t next_sweep;	/* next sweep of incoming/tmp, wall clock */
	bool sweep;		/* this run sweeps incoming/tmp */
	struct waiting *w;	/* the parent's table, inherited by each run */
	size_t nw, wcap;
	struct idmap *wmap;	/* id → index in w */
};

int pickup_dirs_open(const char *spool, struct spool_dirs *d, char *err, size_t errlen)
{
	static const struct {
		const char *rel;
		size_t off;
	} dirs[] = {
		{ SPOOL_DROP_NEW, offsetof(struct spool_dirs, newdir) },
		{ SPOOL_QUEUE, offsetof(struct spool_dirs, queue) },
		{ SPOOL_FAILED, offsetof(struct spool_dirs, failed) },
		{ SPOOL_QUARANTINE, offsetof(struct spool_dirs, quarantine) },
	};
	size_t i;

	d->newdir = d->queue = d->failed = d->quarantine = -1;
	d->spool = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->spool == -1) {
		snprintf(err, errlen, "%s: %s", spool, strerror(errno));
		return -1;
	}
	for (i = 0; i < NR_ARRAY_LEN(dirs); i++) {
		int fd = openat(d->spool, dirs[i].rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd == -1) {
			snprintf(err, errlen, "%s/%s: %s", spool, dirs[i].rel, strerror(errno));
			pickup_dirs_close(d);
			return -1;
		}
		*(int *)(void *)((char *)d + dirs[i].off) = fd;
	}
	return 0;
}

void pickup_dirs_close(struct spool_dirs *d)
{
	int *fds[] = { &d->spool, &d->newdir, &d->queue, &d->failed, &d->quarantine };
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(fds); i++) {
		if (*fds[i] != -1)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

void pickup_quarantine_file(const struct spool_dirs *d, int dir, const char *name, const char *why)
{
	char dst[128], shown[SHOWN_MAX], shown_dst[LOG_SAFE_SIZE(sizeof dst)];
	unsigned char rnd[4];

	/* The name may be anything a local user chose: never log it raw. */
	log_safe(name, shown, sizeof shown);

	if (renameat2(dir, name, d->quarantine, name, RENAME_NOREPLACE) == 0) {
		strlcpy(dst, name, sizeof dst);
	} else {
		if (errno != EEXIST) {
			log_warn("%s: cannot quarantine (%s)", shown, why);
			return;
		}
		random_bytes(rnd, sizeof rnd);
		snprintf(dst, sizeof dst, "%.64s.%02x%02x%02x%02x", name, rnd[0], rnd[1], rnd[2],
		    rnd[3]);
		if (renameat2(dir, name, d->quarantine, dst, RENAME_NOREPLACE) == -1) {
			log_warn("%s: cannot quarantine (%s)", shown, why);
			return;
		}
	}
	fsync(d->quarantine);
	fsync(dir);
	log_warnx("%s: quarantined as quarantine/%s: %s", shown, log_safe(dst, shown_dst,
	    sizeof shown_dst), why);
}

struct pickup *pickup_new(const struct spool_dirs *d, const char *spool)
{
	struct pickup *p = xcalloc(1, sizeof(*p));

	p->d = d;
	p->due = 0;
	p->wmap = idmap_new();
	p->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->ino_fd == -1)
		log_warn("inotify_init1 (falling back to periodic scans)");
	if (p->ino_fd != -1) {
		char path[4096];
		uint32_t mask = IN_MOVED_TO | IN_CLOSE_WRITE;

		/* Watch through the directory descriptor we already hold; the
		 * path is the fallback when /proc is not mounted. */
		snprintf(path, sizeof path, "/proc/self/fd/%d", d->newdir);
		if (inotify_add_watch(p->ino_fd, path, mask) == -1 &&
		    (spool_path(path, sizeof path, spool, SPOOL_DROP_NEW) == -1 ||
			inotify_add_watch(p->ino_fd, path, mask) == -1)) {
			log_warn("inotify_add_watch %s (falling back to periodic scans)",
			    SPOOL_DROP_NEW);
			close(p->ino_fd);
			p->ino_fd = -1;
		}
	}
	return p;
}

void pickup_free(struct pickup *p)
{
	if (p == NULL)
		return;
	if (p->ino_fd != -1)
		close(p->ino_fd);
	free(p->w);
	idmap_free(p->wmap);
	free(p);
}

int pickup_fd(const struct pickup *p)
{
	return p->ino_fd;
}

void pickup_events(struct pickup *p)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* The events themselves do not matter: any of them means "scan". */
	while (read(p->ino_fd, ev, sizeof ev) > 0)
		;
	p->due = 0;
}

double pickup_due(const struct pickup *p)
{
	return p->due;
}

void pickup_poke(struct pickup *p)
{
	p->due = 0;
}

void pickup_started(struct pickup *p, const struct conf *c, bool once)
{
	time_t now = time(NULL);

	/* --once scans once; otherwise the periodic rescan covers anything
	 * inotify missed. */
	p->due = once ? 1e300 :
	    time_monotonic() + (double)(c->rescan_interval > 0 ? c->rescan_interval : 60);
	p->sweep = now >= p->next_sweep;
	if (p->sweep)
		p->next_sweep = now + 3600;
}

void pickup_retry_soon(struct pickup *p)
{
	if (p->due > time_monotonic() + PICKUP_NOT_YET_DELAY)
		p->due = time_monotonic() + PICKUP_NOT_YET_DELAY;
}

void pickup_not_yet(struct pickup *p, const char *id, uint64_t dev, uint64_t ino, unsigned gen)
{
	struct waiting *w;
	size_t i;

	pickup_retry_soon(p);
	if (idmap_get(p->wmap, id, &i)) {
		w = &p->w[i];
		if (w->dev != dev || w->ino != ino) {
			/* Another file under the same name: its own clock. */
			w->dev = dev;
			w->ino = ino;
			w->first = time_monotonic();
		}
		w->gen = gen;
		return;
	}
	if (p->nw == p->wcap) {
		p->wcap = p->wcap ? p->wcap * 2 : 16;
		p->w = xreallocarray(p->w, p->wcap, sizeof(*p->w));
	}
	w = &p->w[p->nw];
	strlcpy(w->id, id, sizeof w->id);
	w->dev = dev;
	w->ino = ino;
	w->first = time_monotonic();
	w->gen = gen;
	idmap_put(p->wmap, id, p->nw++);
}

void pickup_forget(struct pickup *p, unsigned gen)
{
	size_t i = 0;

	while (i < p->nw) {
		if (p->w[i].gen == gen) {
			i++;
			continue;
		}
		idmap_del(p->wmap, p->w[i].id);
		p->w[i] = p->w[--p->nw];
		if (i < p->nw)
			idmap_put(p->wmap, p->w[i].id, i);
	}
}

/* Seconds since the parent first saw this file (dev, ino) incomplete. */
static double waited(const struct pickup *p, const char *name, const struct stat *st)
{
	size_t i;

	if (!idmap_get(p->wmap, name, &i) || p->w[i].dev != (uint64_t)st->st_dev ||
	    p->w[i].ino != (uint64_t)st->st_ino)
		return 0;
	return time_monotonic() - p->w[i].first;
}

/* Body checks while copying. */
struct scan {
	size_t linelen;
	bool eightbit;
	const char *bad;	/* why the body is refused, NULL if fine */
};

static void scan_bytes(struct scan *s, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && s->bad == NULL; i++) {
		unsigned char c = p[i];

		if (c == '\n') {
			s->linelen = 0;
			continue;
		}
		if (c == '\0')
			s->bad = "NUL byte in the message";
		else if (c == '\r')
			s->bad = "bare CR in the message";
		else if (c >= 0x80)
			s->eightbit = true;
		if (++s->linelen > LINE_MAX_OCTETS)
			s->bad = "line over 998 octets in the message";
	}
}

enum copy_result { COPY_OK, COPY_IOERR, COPY_HOSTILE };

/* Write our Received: header then the body to out (no fsync: step 2 of
 * the batch makes it durable). */
static enum copy_result copy_body(const struct conf *c, const struct drop_file *df,
    const char *id, int out, uint64_t *size, struct scan *s, char *why, size_t whylen)
{
	char hdr[1024], date[64];
	unsigned char chunk[65536];
	uint64_t left = df->length;
	off_t off = df->body_off;
	int n;

	time_rfc5322_date(time(NULL), date, sizeof date);
	if (df->env.client_ip != NULL)
		/* Only the listener's own drops keep a client line (trusted_client). */
		n = snprintf(hdr, sizeof hdr, "Received: from %s ([%s]) by %s (nullrelay) with %s "
		    "id %s; %s\n", df->env.client_helo, df->env.client_ip, c->hostname,
		    df->env.client_proto, id, date);
	else
		n = snprintf(hdr, sizeof hdr, "Received: by %s (nullrelay, from userid %lu) id %s; "
		    "%s\n", c->hostname, (unsigned long)df->st.st_uid, id, date);
	if (n < 0 || (size_t)n >= sizeof hdr) {
		snprintf(why, whylen, "Received: header too long");
		return COPY_IOERR;
	}
	if (io_write_all(out, hdr, (size_t)n) == -1) {
		snprintf(why, whylen, "write %s.msg: %s", id, strerror(errno));
		return COPY_IOERR;
	}
	*size = (uint64_t)n;
	while (left > 0) {
		size_t want = left < sizeof chunk ? (size_t)left : sizeof chunk;
		ssize_t r = pread(df->fd, chunk, want, off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* The submitter owns the file and may have cut it. */
			snprintf(why, whylen, "drop file shrank while read");
			return COPY_HOSTILE;
		}
		scan_bytes(s, chunk, (size_t)r);
		if (s->bad != NULL) {
			snprintf(why, whylen, "%s", s->bad);
			return COPY_HOSTILE;
		}
		if (io_write_all(out, chunk, (size_t)r) == -1) {
			snprintf(why, whylen, "write %s.msg: %s", id, strerror(errno));
			return COPY_IOERR;
		}
		left -= (uint64_t)r;
		off += r;
		*size += (uint64_t)r;
	}
	return COPY_OK;
}

/*
 * The "client" line says the SMTP listener wrote this drop (SPEC §6.1). The
 * listener runs as the relay user, and no other local user can make a file
 * owned by it, so the line is believed only in a drop the relay user owns;
 * anywhere else it is a forgery and is dropped: the Received: line then
 * names the real owner's uid, as for any other local submission.
 */
static void trusted_client(const char *name, struct drop_file *df)
{
	char shown[SHOWN_MAX];

	if (df->env.client_ip == NULL || df->st.st_uid == geteuid())
		return;
	log_warnx("%s: drop file owned by uid %lu claims to come from the SMTP listener; "
	    "ignoring the claim", log_safe(name, shown, sizeof shown),
	    (unsigned long)df->st.st_uid);
	envelope_set_client(&df->env, NULL, NULL, NULL);
}

static bool same_drop(const struct qmsg *m, const struct stat *st)
{
	return m->has_drop && m->drop.dev == (uint64_t)st->st_dev &&
	    m->drop.ino == (uint64_t)st->st_ino && m->drop.uid == (uint64_t)st->st_uid &&
	    m->drop.size == (uint64_t)st->st_size;
}

/* Is queue/ID.msg there, whole (the size ID.env records)? */
static bool msg_whole(int qdir, const struct qmsg *m)
{
	char msgname[32];
	struct stat st;

	snprintf(msgname, sizeof msgname, "%s.msg", m->id);
	return fstatat(qdir, msgname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && (uint64_t)st.st_size == m->size;
}

bool pickup_drop_pending(const struct spool_dirs *d, const struct qmsg *m)
{
	struct stat st;

	return m->has_drop && fstatat(d->newdir, m->id, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    same_drop(m, &st);
}

/*
 * Choose the queue id: the drop's name unless taken by another message.
 * 1: use *id (a state file of this very drop whose message is missing or
 * short is overwritten: the drop is still the truth); 0: this drop is
 * already queued (a crash before its unlink), *old filled. Only a state
 * file recording this very drop AND its whole message file say so: the
 * drop file is deleted on that word.
 */
static int choose_id(struct pickup *p, const char *name, const struct drop_file *df, char id[17],
    struct qmsg *old)
{
	char err[256];
	int tries;

	strlcpy(id, name, 17);
	for (tries = 0; tries < 8; tries++) {
		if (qmsg_load(p->d->queue, id, old, err, sizeof err) == -1) {
			if (errno == ENOENT)
				return 1;
			/* Some unreadable state file holds this id: leave it be. */
		} else {
			bool same = same_drop(old, &df->st);

			if (same && msg_whole(p->d->queue, old))
				return 0;
			qmsg_free(old);
			if (same) {
				log_warnx("%s: queue/%s.env records this drop file but its message "
				    "file is missing or short; queuing the drop file afresh", name,
				    id);
				return 1;
			}
		}
		queue_id_new(id);
	}
	return 1;
}

/*
 * Undo a staged pick-up: ID.env goes first, so no state file is ever left
 * whose message file is gone. The drop file stays and is picked up again.
 */
static void unqueue(struct pickup *p, const char *id)
{
	char name[32];

	snprintf(name, sizeof name, "%s.env", id);
	unlinkat(p->d->queue, name, 0);
	snprintf(name, sizeof name, "%s.msg", id);
	unlinkat(p->d->queue, name, 0);
}

/* ---- one batch ---- */

struct staged {
	char name[17];		/* the drop file (a valid queue id) */
	bool fresh;		/* copied in this batch (else: already queued) */
	struct qmsg m;
};

struct batch {
	struct staged it[PICKUP_BATCH];
	size_t n;
	/* Reports for the parent, sent as whole datagrams. */
	char q[PICKUP_REPORT_MAX], w[PICKUP_REPORT_MAX];
	size_t qlen, wlen;
	int sock;
	unsigned gen;
};

static void report_flush(struct batch *b, char *buf, size_t *len)
{
	if (*len <= 2)
		return;
	while (send(b->sock, buf, *len, MSG_NOSIGNAL) == -1) {
		if (errno != EINTR)
			_exit(0);	/* the parent is gone: it reschedules at start */
	}
	*len = 2;
}

/* One line into buf ("Q\n..." or "W\n..."), flushing first if it would
 * not fit. */
static void report(struct batch *b, char *buf, size_t *len, const char *line)
{
	size_t n = strlen(line);

	if (*len + n > PICKUP_REPORT_MAX)
		report_flush(b, buf, len);
	memcpy(buf + *len, line, n);
	*len += n;
}

/* Copy a checked drop file into the queue (step 1). 1 staged, 0 left for
 * later, -1 refused (quarantined). */
static int stage(struct pickup *p, const struct conf *c, struct batch *b, const char *name,
    struct drop_file *df)
{
	struct staged *it = &b->it[b->n];
	char id[17], msgname[32], why[256], err[256];
	struct scan s = { 0 };
	struct qmsg *m = &it->m;
	uint64_t size = 0;
	enum copy_result cr;
	int out;

	trusted_client(name, df);
	strlcpy(it->name, name, sizeof it->name);
	if (choose_id(p, name, df, id, m) == 0) {
		it->fresh = false;
		b->n++;
		return 1;
	}
	snprintf(msgname, sizeof msgname, "%s.msg", id);
	out = openat(p->d->queue, msgname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (out == -1) {
		log_warn("%s: cannot create queue/%s", name, msgname);
		return 0;
	}
	cr = copy_body(c, df, id, out, &size, &s, why, sizeof why);
	if (close(out) == -1 && cr == COPY_OK) {
		snprintf(why, sizeof why, "close %s: %s", msgname, strerror(errno));
		cr = COPY_IOERR;
	}
	if (cr != COPY_OK) {
		unlinkat(p->d->queue, msgname, 0);
		if (cr == COPY_HOSTILE) {
			pickup_quarantine_file(p->d, p->d->newdir, name, why);
			return -1;
		}
		log_warnx("%s: not queued yet: %s", name, why);
		return 0;
	}

	qmsg_init(m);
	strlcpy(m->id, id, sizeof m->id);
	m->env = df->env;	/* take it over */
	envelope_init(&df->env);
	m->env.body_8bit = m->env.body_8bit || s.eightbit;
	qmsg_init_rcpts(m);
	m->uid = df->st.st_uid;
	m->arrival = time_wall();
	m->has_drop = true;
	m->drop.dev = (uint64_t)df->st.st_dev;
	m->drop.ino = (uint64_t)df->st.st_ino;
	m->drop.uid = (uint64_t)df->st.st_uid;
	m->drop.size = (uint64_t)df->st.st_size;
	m->size = size;
	if (qmsg_stage(p->d->queue, m, err, sizeof err) == -1) {
		log_warnx("%s: not queued yet: %s", name, err);
		unqueue(p, id);
		qmsg_free(m);
		return 0;
	}
	it->fresh = true;
	b->n++;
	return 1;
}

/* Steps 2 to 5 for the whole batch. */
static void commit(struct pickup *p, struct batch *b)
{
	char line[128], err[256];
	size_t i;

	if (b->n == 0)
		return;
	err[0] = '\0';
	if (syncfs(p->d->queue) == -1)
		snprintf(err, sizeof err, "syncfs queue directory: %s", strerror(errno));
	else if (fsync(p->d->queue) == -1)
		snprintf(err, sizeof err, "fsync queue directory: %s", strerror(errno));
	if (err[0] != '\0') {
		for (i = 0; i < b->n; i++) {
			log_warnx("%s: not queued yet: %s", b->it[i].name, err);
			if (b->it[i].fresh)
				unqueue(p, b->it[i].m.id);
			qmsg_free(&b->it[i].m);
		}
		b->n = 0;
		return;
	}
	for (i = 0; i < b->n; i++) {
		if (unlinkat(p->d->newdir, b->it[i].name, 0) == -1 && errno != ENOENT)
			log_warn("%s: cannot remove the drop file after queuing it", b->it[i].name);
	}
	if (fsync(p->d->newdir) == -1)
		log_warn("fsync %s (a drop file may be seen again: it is then found queued)",
		    SPOOL_DROP_NEW);
	for (i = 0; i < b->n; i++) {
		struct qmsg *m = &b->it[i].m;

		if (b->it[i].fresh)
			relay_log_pickup(m);
		else
			log_info("%s: already queued as %s before a restart; removed the drop file",
			    b->it[i].name, m->id);
		snprintf(line, sizeof line, "%s %.3f %lld %lu\n", m->id, m->arrival,
		    (long long)m->next, (unsigned long)m->uid);
		report(b, b->q, &b->qlen, line);
		qmsg_free(m);
	}
	b->n = 0;
	report_flush(b, b->q, &b->qlen);
}

/* Check and stage one name. */
static void take_one(struct pickup *p, const struct conf *c, struct batch *b, const char *name)
{
	struct drop_file df;
	char why[512], shown[SHOWN_MAX], line[96];
	enum drop_verdict v;
	double age;

	log_safe(name, shown, sizeof shown);
	v = drop_file_open(p->d->newdir, name, c->max_message_size, time(NULL), &df, why,
	    sizeof why);
	switch (v) {
	case DROP_OK:
		stage(p, c, b, name, &df);
		break;
	case DROP_NOT_YET:
		if (df.st.st_ino == 0 || !queue_id_valid(name)) {
			log_debug("%s: not picked up yet: %s", shown, why);
			break;
		}
		age = waited(p, name, &df.st);
		if (age >= (double)c->pickup_wait_max) {
			char longer[600];

			snprintf(longer, sizeof longer, "still incomplete %.0f s after it was "
			    "first seen: %s", age, why);
			pickup_quarantine_file(p->d, p->d->newdir, name, longer);
			break;
		}
		log_debug("%s: not picked up yet: %s", shown, why);
		snprintf(line, sizeof line, "%s %llu %llu\n", name,
		    (unsigned long long)df.st.st_dev, (unsigned long long)df.st.st_ino);
		report(b, b->w, &b->wlen, line);
		break;
	case DROP_REMOVE:
		if (unlinkat(p->d->newdir, name, 0) == -1 &&
		    (errno != EISDIR || unlinkat(p->d->newdir, name, AT_REMOVEDIR) == -1))
			log_warn("%s: cannot remove refused drop entry (%s)", shown, why);
		else
			log_warnx("%s: removed from incoming/new: %s", shown, why);
		break;
	case DROP_QUARANTINE:
		pickup_quarantine_file(p->d, p->d->newdir, name, why);
		break;
	}
	drop_file_close(&df);
}

/* ---- fairness: names queued per owner, taken round robin ---- */

struct owner {
	uid_t uid;
	char **names;
	size_t head, n, cap;
};

struct fair {
	struct owner *o;
	size_t no, cap, next;	/* next: the owner whose turn it is */
	struct idmap *seen;	/* every name met in this run */
};

static void fair_push(struct fair *f, uid_t uid, const char *name)
{
	struct owner *o = NULL;
	size_t i;

	for (i = 0; i < f->no; i++) {
		if (f->o[i].uid == uid) {
			o = &f->o[i];
			break;
		}
	}
	if (o == NULL) {
		if (f->no == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 8;
			f->o = xreallocarray(f->o, f->cap, sizeof(*f->o));
		}
		o = &f->o[f->no++];
		memset(o, 0, sizeof(*o));
		o->uid = uid;
	}
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->names = xreallocarray(o->names, o->cap, sizeof(*o->names));
	}
	o->names[o->n++] = xstrdup(name);
}

/* Read incoming/new; queue every name not met before in this run under
 * its owner. */
static void fair_readdir(struct pickup *p, struct fair *f)
{
	struct dirent *de;
	struct stat st;
	size_t dummy;
	DIR *dir;
	int fd;

	fd = openat(p->d->newdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		log_warn("cannot read %s", SPOOL_DROP_NEW);
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    idmap_get(f->seen, de->d_name, &dummy))
			continue;
		if (fstatat(p->d->newdir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;	/* gone already */
		idmap_put(f->seen, de->d_name, 1);
		fair_push(f, st.st_uid, de->d_name);
	}
	closedir(dir);
}

/* The next name, owners taken in turn; NULL when all are empty. The
 * caller frees it. */
static char *fair_pop(struct fair *f)
{
	size_t tried;

	for (tried = 0; tried < f->no; tried++) {
		struct owner *o = &f->o[f->next];

		f->next = (f->next + 1) % f->no;
		if (o->head < o->n)
			return o->names[o->head++];
	}
	return NULL;
}

static void fair_free(struct fair *f)
{
	size_t i;

	for (i = 0; i < f->no; i++) {
		while (f->o[i].head < f->o[i].n)
			free(f->o[i].names[f->o[i].head++]);
		free(f->o[i].names);
	}
	free(f->o);
	idmap_free(f->seen);
}

/* Datagrams from the parent: SCAN (new files arrived), STOP. */
static void hear(int sock, bool *rescan, bool *stop)
{
	char msg[16];
	ssize_t n;

	while ((n = recv(sock, msg, sizeof msg - 1, MSG_DONTWAIT)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				*stop = true;
			return;
		}
		msg[n] = '\0';
		if (strcmp(msg, "SCAN") == 0)
			*rescan = true;
		else
			*stop = true;
	}
	*stop = true;	/* end of file: the parent is gone */
}

noreturn void pickup_run(struct pickup *p, const struct conf *c, int sock, unsigned gen)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	struct fair f = { .seen = idmap_new() };
	bool rescan = true, stop = false;
	char *name;

	b->sock = sock;
	b->gen = gen;
	memcpy(b->q, "Q\n", 2);
	memcpy(b->w, "W\n", 2);
	b->qlen = b->wlen = 2;
	if (p->sweep)
		tmp_sweep(p->d->spool, time(NULL));
	for (;;) {
		hear(sock, &rescan, &stop);
		if (stop)
			break;
		if (rescan) {
			rescan = false;
			fair_readdir(p, &f);
		}
		while (b->n < PICKUP_BATCH && (name = fair_pop(&f)) != NULL) {
			take_one(p, c, b, name);
			free(name);
		}
		if (b->n == 0) {
			/* Nothing left: one last look for a SCAN that came meanwhile. */
			hear(sock, &rescan, &stop);
			if (!rescan || stop)
				break;
			continue;
		}
		commit(p, b);
	}
	commit(p, b);
	report_flush(b, b->w, &b->wlen);
	fair_free(&f);
	_exit(0);
}
