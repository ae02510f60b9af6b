/*
 * Pick-up of drop files (SPEC §5.4, §5.6). For each file in incoming/new:
 * drop_file_open checks it as hostile input; a good one is copied into
 * queue/ID.msg with our Received: header first (the uid is the kernel's file
 * owner, never the claimed-uid line), its body scanned on the way (8-bit
 * bytes set BODY=8BITMIME; NUL, CR or a line over 998 octets means someone
 * wrote the file by hand, so it is quarantined: sendmail never writes that).
 * Then queue/ID.env is committed, the queue directory fsynced, and only then
 * is the drop file unlinked. A crash at any point leaves the drop file in
 * place; picking it up again finds ID.env recording the same drop identity
 * (dev, ino, uid, size) and ID.msg of the size it records, and just unlinks
 * the drop. A commit that fails (even after its rename) removes ID.env, then
 * ID.msg, and leaves the drop file for the next scan.
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
#include <unistd.h>

#include "log.h"
#include "pickup.h"
#include "tmp_sweep.h"
#include "relay_log.h"
#include "spool.h"

/* How soon to look again at a file that is still being written. */
#define PICKUP_NOT_YET_DELAY 2.0
#define LINE_MAX_OCTETS 998
/* A file name (NAME_MAX bytes) as log_safe shows it. */
#define SHOWN_MAX LOG_SAFE_SIZE(NAME_MAX)

struct pickup {
	const struct spool_dirs *d;
	int ino_fd;
	double due;		/* next scan, monotonic */
	time_t next_sweep;	/* next sweep of incoming/tmp, wall clock */
	pickup_cb cb;
	void *arg;
};

int spool_dirs_open(const char *spool, struct spool_dirs *d, char *err, size_t errlen)
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
			spool_dirs_close(d);
			return -1;
		}
		*(int *)(void *)((char *)d + dirs[i].off) = fd;
	}
	return 0;
}

void spool_dirs_close(struct spool_dirs *d)
{
	int *fds[] = { &d->spool, &d->newdir, &d->queue, &d->failed, &d->quarantine };
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(fds); i++) {
		if (*fds[i] != -1)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

void quarantine_file(const struct spool_dirs *d, int dir, const char *name, const char *why)
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

struct pickup *pickup_new(const struct spool_dirs *d, const char *spool, pickup_cb cb, void *arg)
{
	struct pickup *p = xcalloc(1, sizeof(*p));

	p->d = d;
	p->cb = cb;
	p->arg = arg;
	p->due = 0;
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

/* Write our Received: header then the body to out; fsync. */
static enum copy_result copy_body(const struct conf *c, const struct drop_file *df,
    const char *id, int out, uint64_t *size, struct scan *s, char *why, size_t whylen)
{
	char hdr[1024], date[64];
	unsigned char chunk[65536];
	uint64_t left = df->length;
	off_t off = df->body_off;
	int n;

	rfc5322_date(time(NULL), date, sizeof date);
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
	if (write_all(out, hdr, (size_t)n) == -1) {
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
		if (write_all(out, chunk, (size_t)r) == -1) {
			snprintf(why, whylen, "write %s.msg: %s", id, strerror(errno));
			return COPY_IOERR;
		}
		left -= (uint64_t)r;
		off += r;
		*size += (uint64_t)r;
	}
	if (fsync(out) == -1) {
		snprintf(why, whylen, "fsync %s.msg: %s", id, strerror(errno));
		return COPY_IOERR;
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

static bool same_drop(const struct qmsg *m, const struct drop_file *df)
{
	return m->has_drop && m->drop.dev == (uint64_t)df->st.st_dev &&
	    m->drop.ino == (uint64_t)df->st.st_ino && m->drop.uid == (uint64_t)df->st.st_uid &&
	    m->drop.size == (uint64_t)df->st.st_size;
}

/* Is queue/ID.msg there, whole (the size ID.env records)? */
static bool msg_whole(struct pickup *p, const struct qmsg *m)
{
	char msgname[32];
	struct stat st;

	snprintf(msgname, sizeof msgname, "%s.msg", m->id);
	return fstatat(p->d->queue, msgname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && (uint64_t)st.st_size == m->size;
}

/*
 * Choose the queue id: the drop's name unless taken by another message.
 * 1: use *id; 0: this drop is already queued (crash after commit). Only a
 * state file recording this very drop AND its whole message file say so:
 * the drop file is deleted on that word, so a state file alone (its
 * message lost to an I/O error) never is enough.
 */
static int choose_id(struct pickup *p, const char *name, const struct drop_file *df, char id[17])
{
	char err[256];
	struct qmsg old;
	int tries;

	strlcpy(id, name, 17);
	for (tries = 0; tries < 8; tries++) {
		if (qmsg_load(p->d->queue, id, &old, err, sizeof err) == -1) {
			if (errno == ENOENT)
				return 1;
			/* Some unreadable state file holds this id: leave it be. */
		} else {
			bool same = same_drop(&old, df), whole = same && msg_whole(p, &old);

			qmsg_free(&old);
			if (whole)
				return 0;
			if (same)
				log_warnx("%s: queue/%s.env records this drop file but its message "
				    "file is missing or short; queuing the drop file afresh", name,
				    id);
		}
		queue_id_new(id);
	}
	return 1;
}

static void unlink_drop(struct pickup *p, const char *name)
{
	if (unlinkat(p->d->newdir, name, 0) == -1 && errno != ENOENT)
		log_warn("%s: cannot remove the drop file after queuing it", name);
}

/*
 * Undo a pick-up whose commit failed, perhaps after ID.env was renamed into
 * place: ID.env goes first (and that is made durable if the disk lets us),
 * so no state file is ever left whose message file is gone. The drop file
 * stays and is picked up again at the next scan.
 */
static void unqueue(struct pickup *p, const char *id)
{
	char name[32];

	snprintf(name, sizeof name, "%s.env", id);
	if (unlinkat(p->d->queue, name, 0) == 0)
		fsync(p->d->queue);
	snprintf(name, sizeof name, "%s.msg", id);
	unlinkat(p->d->queue, name, 0);
}

static int queue_it(struct pickup *p, const struct conf *c, const char *name, struct drop_file *df)
{
	char id[17], msgname[32], why[256], err[256];
	struct scan s = { 0 };
	struct qmsg m;
	uint64_t size = 0;
	enum copy_result cr;
	int out;

	trusted_client(name, df);
	if (choose_id(p, name, df, id) == 0) {
		log_info("%s: already queued as %s before a restart; removing the drop file",
		    name, id);
		unlink_drop(p, name);
		return 0;
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
			quarantine_file(p->d, p->d->newdir, name, why);
			return -1;
		}
		log_warnx("%s: not queued yet: %s", name, why);
		return 0;
	}

	qmsg_init(&m);
	strlcpy(m.id, id, sizeof m.id);
	m.env = df->env;	/* take it over */
	envelope_init(&df->env);
	m.env.body_8bit = m.env.body_8bit || s.eightbit;
	qmsg_init_rcpts(&m);
	m.uid = df->st.st_uid;
	m.arrival = now_wall();
	m.has_drop = true;
	m.drop.dev = (uint64_t)df->st.st_dev;
	m.drop.ino = (uint64_t)df->st.st_ino;
	m.drop.uid = (uint64_t)df->st.st_uid;
	m.drop.size = (uint64_t)df->st.st_size;
	m.size = size;
	/* The state commit fsyncs the queue directory, covering ID.msg too. */
	if (qmsg_commit(p->d->queue, &m, err, sizeof err) == -1) {
		log_warnx("%s: not queued yet: %s", name, err);
		unqueue(p, id);
		qmsg_free(&m);
		return 0;
	}
	unlink_drop(p, name);
	rlog_pickup(&m);
	if (p->cb != NULL)
		p->cb(p->arg, &m);
	qmsg_free(&m);
	return 1;
}

int pickup_one(struct pickup *p, const struct conf *c, const char *name)
{
	struct drop_file df;
	char why[512], shown[SHOWN_MAX];
	enum drop_verdict v;
	int r = 0;

	log_safe(name, shown, sizeof shown);

	v = drop_file_open(p->d->newdir, name, c->max_message_size, time(NULL), &df, why,
	    sizeof why);
	switch (v) {
	case DROP_OK:
		r = queue_it(p, c, name, &df);
		break;
	case DROP_NOT_YET:
		log_debug("%s: not picked up yet: %s", shown, why);
		if (p->due > now_monotonic() + PICKUP_NOT_YET_DELAY)
			p->due = now_monotonic() + PICKUP_NOT_YET_DELAY;
		break;
	case DROP_REMOVE:
		if (unlinkat(p->d->newdir, name, 0) == -1 &&
		    (errno != EISDIR || unlinkat(p->d->newdir, name, AT_REMOVEDIR) == -1))
			log_warn("%s: cannot remove refused drop entry (%s)", shown, why);
		else
			log_warnx("%s: removed from incoming/new: %s", shown, why);
		r = -1;
		break;
	case DROP_QUARANTINE:
		quarantine_file(p->d, p->d->newdir, name, why);
		r = -1;
		break;
	}
	drop_file_close(&df);
	return r;
}

unsigned pickup_scan(struct pickup *p, const struct conf *c)
{
	unsigned n = 0;
	struct dirent *de;
	DIR *dir;
	int fd;

	p->due = now_monotonic() + (double)(c->rescan_interval > 0 ? c->rescan_interval : 60);
	if (time(NULL) >= p->next_sweep) {
		tmp_sweep(p->d->spool, time(NULL));
		p->next_sweep = time(NULL) + 3600;
	}
	fd = openat(p->d->newdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		log_warn("cannot read %s", SPOOL_DROP_NEW);
		if (fd != -1)
			close(fd);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (pickup_one(p, c, de->d_name) == 1)
			n++;
	}
	closedir(dir);
	return n;
}
