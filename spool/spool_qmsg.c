/*
 * The queue's state files (spool_qmsg.h), shared by relayd and by sendmail's
 * mailq (which reads the spool directly when relayd is stopped). queue/ID.env is the truth about one message;
 * it is only ever replaced whole (ID.env.tmp, fsync, rename, fsync queue/),
 * so a crash leaves the old or the new version, never a mix. Format: text,
 * one "keyword value" line each, LF-terminated:
 *
 *   NULLRELAY-STATE 1                  first line, the format version
 *   sender <...>, rcpt <...>, ...      the envelope lines (spool_envelope.h), first
 *   uid N                              submitter (owner of the drop file)
 *   arrival SECONDS.MMM                wall-clock arrival, for delay= and expiry
 *   drop DEV INO UID SIZE              the drop file it came from (crash-safe
 *                                      pick-up: a re-seen drop is not queued twice)
 *   size N                             bytes of ID.msg
 *   tries N                            delivery attempts so far
 *   next T                             next attempt, absolute epoch seconds
 *                                      (a restart resumes the backoff)
 *   last-attempt T                     0 = never
 *   warned                             flag: the delay warning went out
 *   held                               flag: on hold (relayd --hold), never
 *                                      attempted until released
 *   redirected                         flag: an undeliverable bounce already
 *                                      re-addressed to admin_addr (never twice)
 *   status N pending|deferred|sent|failed   per recipient N (0-based, in
 *                                      rcpt order); absent = pending
 *   last-reply N CODE DSN TEXT         last outcome for recipient N: reply
 *                                      code (0 = none, our own reason), DSN
 *                                      ("-" = none), text to end of line
 *   relay N NAME                       the smarthost that gave that reply
 *
 * The envelope lines come before every state line. uid, arrival and size are
 * required; anything unknown, repeated or out of range is an error: a state
 * file that does not parse is quarantined by the caller, never deleted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_qmsg.h"

#define SEEN_UID 0x01
#define SEEN_ARRIVAL 0x02
#define SEEN_DROP 0x04
#define SEEN_SIZE 0x08
#define SEEN_TRIES 0x10
#define SEEN_NEXT 0x20
#define SEEN_LAST 0x40
#define SEEN_WARNED 0x80
#define SEEN_HELD 0x100
#define SEEN_REDIRECTED 0x200

static const char *const state_names[] = {
	[RCPT_PENDING] = "pending",
	[RCPT_DEFERRED] = "deferred",
	[RCPT_SENT] = "sent",
	[RCPT_FAILED] = "failed",
};

const char *qmsg_rcpt_state_name(enum rcpt_state st)
{
	return state_names[st];
}

void qmsg_init(struct qmsg *m)
{
	memset(m, 0, sizeof(*m));
	envelope_init(&m->env);
}

static void qrcpt_clear(struct qrcpt *r)
{
	free(r->text);
	free(r->relay);
	memset(r, 0, sizeof(*r));
}

void qmsg_free(struct qmsg *m)
{
	size_t i;

	if (m->rcpts != NULL) {
		for (i = 0; i < m->env.nrcpts; i++)
			qrcpt_clear(&m->rcpts[i]);
		free(m->rcpts);
	}
	envelope_free(&m->env);
	qmsg_init(m);
}

void qmsg_init_rcpts(struct qmsg *m)
{
	free(m->rcpts);
	m->rcpts = xcalloc(m->env.nrcpts ? m->env.nrcpts : 1, sizeof(*m->rcpts));
}

/* A copy of s fit for one state-file and log line: printable ASCII only,
 * at most QUEUE_TEXT_MAX bytes. */
static char *clean_text(const char *s)
{
	size_t n = strnlen(s, QUEUE_TEXT_MAX), i;
	char *t = xstrndup(s, n);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c < 0x20 || c >= 0x7f)
			t[i] = '?';
	}
	return t;
}

static bool dsn_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= 16)
		return false;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
			return false;
	}
	return true;
}

void qmsg_set_reply(struct qmsg *m, size_t i, enum rcpt_state st, int code, const char *dsn,
    const char *text, const char *relay)
{
	struct qrcpt *r = &m->rcpts[i];

	qrcpt_clear(r);
	r->state = st;
	r->code = (code >= 100 && code <= 599) ? code : 0;
	if (dsn != NULL && dsn_ok(dsn))
		strlcpy(r->dsn, dsn, sizeof r->dsn);
	r->text = text != NULL && *text != '\0' ? clean_text(text) : NULL;
	r->relay = relay != NULL && *relay != '\0' ? clean_text(relay) : NULL;
	if (r->relay != NULL) {
		char *sp;

		/* One word: the state file splits on spaces. */
		while ((sp = strchr(r->relay, ' ')) != NULL)
			*sp = '_';
	}
}

size_t qmsg_remaining(const struct qmsg *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->env.nrcpts; i++)
		n += m->rcpts[i].state == RCPT_PENDING || m->rcpts[i].state == RCPT_DEFERRED;
	return n;
}

size_t qmsg_failed(const struct qmsg *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->env.nrcpts; i++)
		n += m->rcpts[i].state == RCPT_FAILED;
	return n;
}

int qmsg_format(const struct qmsg *m, struct buf *b)
{
	size_t i;
	/* Milliseconds, rounded, without libm. */
	long long ms = m->arrival > 0 ? (long long)(m->arrival * 1000.0 + 0.5) : 0;

	if (buf_appends(b, QUEUE_STATE_MAGIC "\n") == -1 || envelope_write(b, &m->env) == -1)
		return -1;
	if (buf_appendf(b, "uid %lu\narrival %lld.%03lld\n", (unsigned long)m->uid, ms / 1000,
		ms % 1000) == -1)
		return -1;
	if (m->has_drop &&
	    buf_appendf(b, "drop %llu %llu %llu %llu\n", (unsigned long long)m->drop.dev,
		(unsigned long long)m->drop.ino, (unsigned long long)m->drop.uid,
		(unsigned long long)m->drop.size) == -1)
		return -1;
	if (buf_appendf(b, "size %llu\ntries %u\nnext %lld\nlast-attempt %lld\n",
		(unsigned long long)m->size, m->tries, (long long)m->next,
		(long long)m->last_attempt) == -1)
		return -1;
	if (m->warned && buf_appends(b, "warned\n") == -1)
		return -1;
	if (m->held && buf_appends(b, "held\n") == -1)
		return -1;
	if (m->redirected && buf_appends(b, "redirected\n") == -1)
		return -1;
	for (i = 0; i < m->env.nrcpts; i++) {
		const struct qrcpt *r = &m->rcpts[i];

		if (r->state != RCPT_PENDING &&
		    buf_appendf(b, "status %zu %s\n", i, state_names[r->state]) == -1)
			return -1;
		if ((r->code != 0 || r->text != NULL || r->dsn[0] != '\0') &&
		    buf_appendf(b, "last-reply %zu %d %s %s\n", i, r->code,
			r->dsn[0] ? r->dsn : "-", r->text ? r->text : "") == -1)
			return -1;
		if (r->relay != NULL && buf_appendf(b, "relay %zu %s\n", i, r->relay) == -1)
			return -1;
	}
	return 0;
}

/* ---- parsing ---- */

struct pctx {
	struct qmsg *m;
	unsigned seen;
	bool in_state;		/* a state line was seen: no more envelope lines */
	char *err;
	size_t errlen;
	unsigned lineno;
};

static int perr(struct pctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(struct pctx *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "line %u: %s", p->lineno, msg);
	return -1;
}

static int num(struct pctx *p, const char *kw, const char *s, unsigned long long max,
    unsigned long long *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return perr(p, "%s: expected a number", kw);
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out > max)
		return perr(p, "%s: number out of range", kw);
	return 0;
}

static int once(struct pctx *p, const char *kw, unsigned bit)
{
	if (p->seen & bit)
		return perr(p, "%s: given twice", kw);
	p->seen |= bit;
	return 0;
}

/* Split "a b c" in place into up to n words; the last takes the rest of the
 * line when rest is true. Returns the number of words. */
static size_t words(char *s, char **w, size_t n, bool rest)
{
	size_t k = 0;

	while (s != NULL && *s != '\0' && k < n) {
		if (rest && k == n - 1) {
			w[k++] = s;
			break;
		}
		w[k++] = s;
		s = strchr(s, ' ');
		if (s != NULL)
			*s++ = '\0';
	}
	return k;
}

static int rcpt_index(struct pctx *p, const char *kw, const char *s, size_t *out)
{
	unsigned long long v;

	if (num(p, kw, s, ENV_MAX_RCPTS, &v) == -1)
		return -1;
	if (v >= p->m->env.nrcpts)
		return perr(p, "%s: no recipient %llu", kw, v);
	*out = (size_t)v;
	return 0;
}

static int parse_arrival(struct pctx *p, const char *s)
{
	unsigned long long sec, ms = 0;
	char buf[32], *dot;

	if (s == NULL || strlcpy(buf, s, sizeof buf) >= sizeof buf)
		return perr(p, "arrival: bad value");
	dot = strchr(buf, '.');
	if (dot != NULL) {
		*dot++ = '\0';
		if (strlen(dot) != 3 || num(p, "arrival", dot, 999, &ms) == -1)
			return perr(p, "arrival: expected SECONDS.MMM");
	}
	if (num(p, "arrival", buf, 1ULL << 40, &sec) == -1)
		return -1;
	p->m->arrival = (double)sec + (double)ms / 1000.0;
	return 0;
}

/* Per-recipient lines: status, last-reply, relay. */
static int parse_rcpt_line(struct pctx *p, const char *kw, char *val)
{
	struct qmsg *m = p->m;
	char *w[4];
	size_t n, i = 0;
	unsigned long long v;

	if (m->rcpts == NULL)
		qmsg_init_rcpts(m);
	if (strcmp(kw, "status") == 0) {
		n = words(val, w, 2, false);
		if (n != 2 || rcpt_index(p, kw, w[0], &i) == -1)
			return n != 2 ? perr(p, "status: expected N STATE") : -1;
		for (v = 0; v < NR_ARRAY_LEN(state_names); v++) {
			if (strcmp(w[1], state_names[v]) == 0)
				break;
		}
		if (v == NR_ARRAY_LEN(state_names))
			return perr(p, "status: unknown state");
		m->rcpts[i].state = (enum rcpt_state)v;
		return 0;
	}
	if (strcmp(kw, "relay") == 0) {
		n = words(val, w, 2, false);
		if (n != 2 || rcpt_index(p, kw, w[0], &i) == -1)
			return n != 2 ? perr(p, "relay: expected N NAME") : -1;
		free(m->rcpts[i].relay);
		m->rcpts[i].relay = clean_text(w[1]);
		return 0;
	}
	/* last-reply N CODE DSN TEXT (TEXT may be empty) */
	n = words(val, w, 4, true);
	if (n < 3 || rcpt_index(p, kw, w[0], &i) == -1)
		return n < 3 ? perr(p, "last-reply: expected N CODE DSN TEXT") : -1;
	if (num(p, kw, w[1], 599, &v) == -1)
		return -1;
	if (v != 0 && v < 100)
		return perr(p, "last-reply: bad code");
	if (strcmp(w[2], "-") != 0 && !dsn_ok(w[2]))
		return perr(p, "last-reply: bad dsn");
	m->rcpts[i].code = (int)v;
	if (strcmp(w[2], "-") != 0)
		strlcpy(m->rcpts[i].dsn, w[2], sizeof m->rcpts[i].dsn);
	free(m->rcpts[i].text);
	m->rcpts[i].text = n == 4 && *w[3] != '\0' ? clean_text(w[3]) : NULL;
	return 0;
}

static int parse_drop(struct pctx *p, char *val)
{
	char *w[4];
	unsigned long long v[4];
	size_t i;

	if (once(p, "drop", SEEN_DROP) == -1)
		return -1;
	if (words(val, w, 4, false) != 4)
		return perr(p, "drop: expected DEV INO UID SIZE");
	for (i = 0; i < 4; i++) {
		if (num(p, "drop", w[i], UINT64_MAX, &v[i]) == -1)
			return -1;
	}
	p->m->has_drop = true;
	p->m->drop.dev = v[0];
	p->m->drop.ino = v[1];
	p->m->drop.uid = v[2];
	p->m->drop.size = v[3];
	return 0;
}

/* A state line; 1 if kw is not a state keyword. */
static int parse_state_line(struct pctx *p, const char *kw, char *val)
{
	struct qmsg *m = p->m;
	unsigned long long v;

	if (strcmp(kw, "status") == 0 || strcmp(kw, "last-reply") == 0 || strcmp(kw, "relay") == 0)
		return parse_rcpt_line(p, kw, val);
	if (strcmp(kw, "uid") == 0) {
		if (once(p, kw, SEEN_UID) == -1 || num(p, kw, val, 4294967294ULL, &v) == -1)
			return -1;
		m->uid = (uid_t)v;
	} else if (strcmp(kw, "arrival") == 0) {
		if (once(p, kw, SEEN_ARRIVAL) == -1 || parse_arrival(p, val) == -1)
			return -1;
	} else if (strcmp(kw, "drop") == 0) {
		return parse_drop(p, val);
	} else if (strcmp(kw, "size") == 0) {
		if (once(p, kw, SEEN_SIZE) == -1 || num(p, kw, val, UINT64_MAX, &v) == -1)
			return -1;
		m->size = v;
	} else if (strcmp(kw, "tries") == 0) {
		if (once(p, kw, SEEN_TRIES) == -1 || num(p, kw, val, 1000000, &v) == -1)
			return -1;
		m->tries = (unsigned)v;
	} else if (strcmp(kw, "next") == 0) {
		if (once(p, kw, SEEN_NEXT) == -1 || num(p, kw, val, 1ULL << 40, &v) == -1)
			return -1;
		m->next = (time_t)v;
	} else if (strcmp(kw, "last-attempt") == 0) {
		if (once(p, kw, SEEN_LAST) == -1 || num(p, kw, val, 1ULL << 40, &v) == -1)
			return -1;
		m->last_attempt = (time_t)v;
	} else if (strcmp(kw, "warned") == 0) {
		if (val != NULL)
			return perr(p, "warned: takes no value");
		if (once(p, kw, SEEN_WARNED) == -1)
			return -1;
		m->warned = true;
	} else if (strcmp(kw, "held") == 0) {
		if (val != NULL)
			return perr(p, "held: takes no value");
		if (once(p, kw, SEEN_HELD) == -1)
			return -1;
		m->held = true;
	} else if (strcmp(kw, "redirected") == 0) {
		if (val != NULL)
			return perr(p, "redirected: takes no value");
		if (once(p, kw, SEEN_REDIRECTED) == -1)
			return -1;
		m->redirected = true;
	} else {
		return 1;
	}
	return 0;
}

static int parse_line(struct pctx *p, char *line, size_t len)
{
	char *val, errbuf[256];
	int r;

	if (memchr(line, '\0', len) != NULL)
		return perr(p, "NUL byte");
	val = strchr(line, ' ');
	if (val != NULL)
		*val++ = '\0';
	r = parse_state_line(p, line, val);
	if (r != 1) {
		p->in_state = true;
		return r;
	}
	if (val != NULL)
		val[-1] = ' ';
	if (p->in_state) {
		/* Refused, but parsed for the reason into a scratch envelope: a
		 * recipient added to m now would have no state entry. */
		struct envelope scratch;

		envelope_init(&scratch);
		r = envelope_parse_line(&scratch, line, len, errbuf, sizeof errbuf);
		envelope_free(&scratch);
	} else {
		r = envelope_parse_line(&p->m->env, line, len, errbuf, sizeof errbuf);
	}
	if (r == 1)
		return perr(p, "unknown keyword \"%.40s\"", line);
	if (r == -1)
		return perr(p, "%s", errbuf);
	if (p->in_state)
		return perr(p, "envelope line after the state lines");
	return 0;
}

int qmsg_parse(struct qmsg *m, const char *id, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct pctx p = { .m = m, .err = err, .errlen = errlen };
	const char *s = text, *end = text + len, *nl;
	const char *why;
	char *line;
	int r = 0;

	qmsg_init(m);
	if (!queue_id_valid(id)) {
		snprintf(err, errlen, "bad queue id");
		return -1;
	}
	strlcpy(m->id, id, sizeof m->id);
	if (len == 0 || text[len - 1] != '\n') {
		snprintf(err, errlen, "truncated: no final newline");
		return -1;
	}
	while (s < end && r == 0) {
		nl = memchr(s, '\n', (size_t)(end - s));
		p.lineno++;
		line = xstrndup(s, (size_t)(nl - s));
		if (p.lineno == 1) {
			if (strcmp(line, QUEUE_STATE_MAGIC) != 0 || (size_t)(nl - s) != strlen(line))
				r = perr(&p, "not a state file (no \"%s\" line)", QUEUE_STATE_MAGIC);
		} else {
			r = parse_line(&p, line, (size_t)(nl - s));
		}
		free(line);
		s = nl + 1;
	}
	if (r == 0 && (why = envelope_check(&m->env)) != NULL) {
		snprintf(err, errlen, "%s", why);
		r = -1;
	}
	if (r == 0 && (p.seen & (SEEN_UID | SEEN_ARRIVAL | SEEN_SIZE)) !=
	    (SEEN_UID | SEEN_ARRIVAL | SEEN_SIZE)) {
		snprintf(err, errlen, "missing uid, arrival or size");
		r = -1;
	}
	if (r == 0 && m->rcpts == NULL)
		qmsg_init_rcpts(m);
	if (r != 0)
		qmsg_free(m);
	return r;
}

int qmsg_load(int qdir, const char *id, struct qmsg *m, char *err, size_t errlen)
{
	struct stat st;

	return qmsg_load_stat(qdir, id, m, &st, err, errlen);
}

int qmsg_load_stat(int qdir, const char *id, struct qmsg *m, struct stat *stp, char *err,
    size_t errlen)
{
	char name[QUEUE_NAME_SIZE], *text;
	struct stat st;
	ssize_t n;
	int fd, r, saved;

	qmsg_init(m);
	queue_name(name, id, QUEUE_ENV);
	/* O_NOATIME: a state file read for the first time since it was
	 * written would otherwise have its inode rewritten (relatime), and
	 * start-up reads 100 000 of them. Only the owner (the relay user) or
	 * root may ask for it; anyone else reads it plainly. */
	fd = openat(qdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd == -1 && errno == EPERM)
		fd = openat(qdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		saved = errno;
		snprintf(err, errlen, "open %s: %s", name, strerror(errno));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > QUEUE_STATE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of sane size", name);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* One read of the size fstat gave: a state file is replaced whole
	 * (rename), never written in place, so nothing follows; start-up and
	 * mailq read 100 000 of these, a syscall each counts. */
	text = xmalloc((size_t)st.st_size + 1);
	n = io_read_full(fd, text, (size_t)st.st_size);
	saved = errno;
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "read %s: %s", name, strerror(saved));
		free(text);
		errno = saved;
		return -1;
	}
	r = qmsg_parse(m, id, text, (size_t)n, err, errlen);
	free(text);
	*stp = st;
	errno = EINVAL;
	return r;
}

/* Root editing the queue (relayd --hold with relayd stopped) must leave the
 * files to the relay user: give the new file the owner of the one it
 * replaces, or of the directory. Nothing to do for anyone else. */
static int keep_owner(int qdir, const char *name, int fd)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (fstatat(qdir, name, &st, AT_SYMLINK_NOFOLLOW) == -1 && fstat(qdir, &st) == -1)
		return -1;
	return fchown(fd, st.st_uid, st.st_gid);
}

/* Write ID.env.tmp and rename it over ID.env; with sync, fsync the file
 * before the rename and the directory after it (qmsg_commit), without,
 * leave both to the caller's batch sync (qmsg_stage). */
static int write_state(int qdir, const struct qmsg *m, bool sync, char *err, size_t errlen)
{
	char tmp[QUEUE_NAME_SIZE], name[QUEUE_NAME_SIZE];
	struct stat st;
	struct buf b;
	bool created;
	int fd;

	queue_name(tmp, m->id, QUEUE_ENV_TMP);
	queue_name(name, m->id, QUEUE_ENV);
	buf_init(&b, QUEUE_STATE_MAX);
	if (qmsg_format(m, &b) == -1) {
		snprintf(err, errlen, "%s: state too large", name);
		buf_free(&b);
		return -1;
	}
	fd = openat(qdir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "create %s: %s", tmp, strerror(errno));
		buf_free(&b);
		return -1;
	}
	if (keep_owner(qdir, name, fd) == -1) {
		snprintf(err, errlen, "chown %s: %s", tmp, strerror(errno));
		close(fd);
		unlinkat(qdir, tmp, 0);
		buf_free(&b);
		return -1;
	}
	if (io_write_all(fd, b.data, b.len) == -1 || (sync && fsync(fd) == -1)) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlinkat(qdir, tmp, 0);
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	created = sync && fstatat(qdir, name, &st, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT;
	if (close(fd) == -1 || renameat(qdir, tmp, qdir, name) == -1) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		unlinkat(qdir, tmp, 0);
		return -1;
	}
	if (!sync)
		return 0;
	if (fsync(qdir) == -1) {
		int saved = errno;

		snprintf(err, errlen, "fsync queue directory: %s", strerror(saved));
		/* A new message's callers take -1 as "not queued" and remove
		 * ID.msg: take back the state file first, so none is left
		 * without its message. A replaced one stays: the message is
		 * still there and the old state is gone either way. */
		if (created && unlinkat(qdir, name, 0) == 0)
			fsync(qdir);
		errno = saved;
		return -1;
	}
	return 0;
}


int qmsg_commit(int qdir, const struct qmsg *m, char *err, size_t errlen)
{
	return write_state(qdir, m, true, err, errlen);
}

int qmsg_stage(int qdir, const struct qmsg *m, char *err, size_t errlen)
{
	return write_state(qdir, m, false, err, errlen);
}
