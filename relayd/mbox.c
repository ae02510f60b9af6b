/*
 * Appending one message to an existing mbox, locked the way Debian's mail
 * readers lock it. See mbox.h for the contract and the permission model.
 *
 * Order: open the mbox first (a missing one creates no lock file), take the
 * dot-lock, then the fcntl lock, then check that the path still names the
 * file we opened (a reader may have replaced it while we waited) and that
 * it is still a plain file owned by the expected user. Each lock
 * wait is bounded: a stuck reader delays a bounce, it never stalls relayd.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mbox.h"
#include "util.h"

#define CHUNK 65536
#define POLL_MS 100

/* The output side: a buffer in front of io_write_all on the mbox. */
struct wbuf {
	int fd;
	size_t len;
	unsigned char data[CHUNK];
};

void mbox_date(time_t t, char *out, size_t outlen)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	localtime_r(&t, &tm);
	snprintf(out, outlen, "%s %s %2d %02d:%02d:%02d %d", days[tm.tm_wday % 7],
	    months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tm.tm_year + 1900);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * The dot-lock: PATH.lock created O_EXCL (atomic on local filesystems,
 * which /var/mail is on any host we run on), holding our pid as
 * liblockfile writes it. 0, or -1 with err.
 */
static int dotlock_take(const char *lock, double deadline, bool *locked, char *err,
    size_t errlen)
{
	for (;;) {
		struct stat st;
		char pid[32];
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

		if (fd != -1) {
			int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

			/* The content is informative only: a failed write does not matter. */
			(void)io_write_all(fd, pid, (size_t)n);
			close(fd);
			return 0;
		}
		if (errno != EEXIST) {
			err_format(err, errlen, "cannot create the dot-lock %s: %s", lock, strerror(errno));
			return -1;
		}
		/* A lock nobody touched for MBOX_STALE_LOCK seconds: its holder died. */
		if (lstat(lock, &st) == 0 && st.st_mtime + MBOX_STALE_LOCK < time(NULL)) {
			if (unlink(lock) == 0 || errno == ENOENT)
				continue;
		}
		if (time_monotonic() >= deadline) {
			err_format(err, errlen, "mailbox is locked (%s exists)", lock);
			*locked = true;
			return -1;
		}
		sleep_ms(POLL_MS);
	}
}

/* The fcntl write lock on the whole file, polled until deadline. */
static int fcntl_take(int fd, const char *path, double deadline, bool *locked, char *err,
    size_t errlen)
{
	struct flock fl;

	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
			err_format(err, errlen, "cannot lock %s: %s", path, strerror(errno));
			return -1;
		}
		if (time_monotonic() >= deadline) {
			err_format(err, errlen, "mailbox is locked (fcntl lock on %s held)", path);
			*locked = true;
			return -1;
		}
		sleep_ms(POLL_MS);
	}
}

static void fcntl_release(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	(void)fcntl(fd, F_SETLK, &fl);
}

/*
 * 0 if the mailbox st belongs to owner, else -1 with err naming both uids
 * and, when the passwd file knows it, the user (getpwuid_r: the caller may
 * hold a getpwuid result of its own).
 */
static int check_owner(const char *path, const struct stat *st, uid_t owner, char *err,
    size_t errlen)
{
	struct passwd pwbuf, *pw = NULL;
	char pwmem[4096];

	if (st->st_uid == owner)
		return 0;
	if (getpwuid_r(owner, &pwbuf, pwmem, sizeof(pwmem), &pw) != 0)
		pw = NULL;
	err_format(err, errlen, "mailbox %s is owned by uid %lu, not by %s (uid %lu): not delivering",
	    path, (unsigned long)st->st_uid, pw != NULL ? pw->pw_name : "the user",
	    (unsigned long)owner);
	return -1;
}

/* Open the existing mailbox, refusing anything but a plain regular file of
 * owner (checked here so a foreign file gets no dot-lock next to it, and
 * again once locked). */
static int open_mbox(const char *path, uid_t owner, struct stat *st, char *err,
    size_t errlen)
{
	int fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd == -1) {
		if (errno == ENOENT)
			err_format(err, errlen, "no mailbox %s", path);
		else if (errno == ELOOP)
			err_format(err, errlen, "mailbox %s is a symbolic link: refused", path);
		else
			err_format(err, errlen, "cannot open mailbox %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		err_format(err, errlen, "cannot stat mailbox %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		err_format(err, errlen, "mailbox %s is not a regular file: refused", path);
		close(fd);
		return -1;
	}
	if (st->st_nlink != 1) {
		err_format(err, errlen, "mailbox %s has %ju links: refused", path,
		    (uintmax_t)st->st_nlink);
		close(fd);
		return -1;
	}
	if (check_owner(path, st, owner, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int wb_flush(struct wbuf *w)
{
	if (w->len == 0)
		return 0;
	if (io_write_all(w->fd, w->data, w->len) == -1)
		return -1;
	w->len = 0;
	return 0;
}

static int wb_put(struct wbuf *w, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n > 0) {
		size_t room = sizeof(w->data) - w->len, take = n < room ? n : room;

		memcpy(w->data + w->len, s, take);
		w->len += take;
		s += take;
		n -= take;
		if (w->len == sizeof(w->data) && wb_flush(w) == -1)
			return -1;
	}
	return 0;
}

static int wb_repeat(struct wbuf *w, char c, uint64_t n)
{
	for (; n > 0; n--)
		if (wb_put(w, &c, 1) == -1)
			return -1;
	return 0;
}

/*
 * Copy the message with mboxrd quoting: at the start of each line, a run
 * of '>' followed by "From " gets one more '>'. A byte-wise state machine
 * (count of '>' seen, how much of "From " matched) so lines may straddle
 * chunks and no line is held in memory. *last is the last byte copied.
 */
static int copy_quoted(struct wbuf *w, int fd, off_t off, uint64_t len, int *last,
    char *err, size_t errlen)
{
	static const char from[] = "From ";
	unsigned char *chunk = xmalloc(CHUNK);
	uint64_t pos = 0, gts = 0;
	size_t m = 0;
	bool deciding = true;

	*last = -1;
	while (pos < len) {
		size_t want = len - pos > CHUNK ? CHUNK : (size_t)(len - pos), i;
		ssize_t got = pread(fd, chunk, want, off + (off_t)pos);

		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0) {
			err_format(err, errlen, "cannot read the message: %s",
			    got == 0 ? "shorter than its recorded length" : strerror(errno));
			goto fail;
		}
		for (i = 0; i < (size_t)got; i++) {
			unsigned char c = chunk[i];

			if (deciding) {
				if (m == 0 && c == '>') {
					gts++;
					continue;
				}
				if (c == (unsigned char)from[m]) {
					if (++m < sizeof(from) - 1)
						continue;
					/* ^>*From : quote it */
					if (wb_put(w, ">", 1) == -1)
						goto wfail;
				}
				/* Decided: put back what was held, then this byte. */
				if (wb_repeat(w, '>', gts) == -1 ||
				    wb_put(w, from, m == sizeof(from) - 1 ? m - 1 : m) == -1)
					goto wfail;
				deciding = false;
				gts = 0;
				m = 0;
			}
			if (wb_put(w, &c, 1) == -1)
				goto wfail;
			if (c == '\n')
				deciding = true;
		}
		pos += (uint64_t)got;
	}
	/* A last line with no LF ended while undecided: flush what was held. */
	if (deciding && (wb_repeat(w, '>', gts) == -1 || wb_put(w, from, m) == -1))
		goto wfail;
	if (len > 0) {
		unsigned char c;

		if (pread(fd, &c, 1, off + (off_t)len - 1) != 1) {
			err_format(err, errlen, "cannot read the message: %s", strerror(errno));
			goto fail;
		}
		*last = c;
	}
	free(chunk);
	return 0;
wfail:
	err_format(err, errlen, "cannot write the mailbox: %s", strerror(errno));
fail:
	free(chunk);
	return -1;
}

/* What must precede our From_ line so it starts after a blank line. */
static const char *separator(int fd, off_t size)
{
	unsigned char t[2];

	if (size == 0)
		return "";
	if (size == 1)
		return pread(fd, t, 1, 0) == 1 && t[0] == '\n' ? "" : "\n\n";
	if (pread(fd, t, 2, size - 2) != 2)
		return "\n\n";
	if (t[1] != '\n')
		return "\n\n";
	return t[0] == '\n' ? "" : "\n";
}

/* Write the From_ line, the quoted message and the trailing blank line. */
static int append(int fd, off_t size, const char *sender, time_t t, int msg_fd, off_t off,
    uint64_t len, const char *path, char *err, size_t errlen)
{
	struct wbuf *w = xmalloc(sizeof(*w));
	char date[32];
	const char *s;
	int last, r = -1;

	w->fd = fd;
	w->len = 0;
	mbox_date(t, date, sizeof(date));
	if (wb_put(w, separator(fd, size), strlen(separator(fd, size))) == -1 ||
	    wb_put(w, "From ", 5) == -1)
		goto wfail;
	if (sender[0] == '\0')
		sender = "MAILER-DAEMON";
	/* The From_ line is split at spaces by readers: keep the sender one word. */
	for (s = sender; *s != '\0'; s++) {
		char c = (unsigned char)*s <= ' ' || *s == 0x7f ? '_' : *s;

		if (wb_put(w, &c, 1) == -1)
			goto wfail;
	}
	if (wb_put(w, " ", 1) == -1 || wb_put(w, date, strlen(date)) == -1 ||
	    wb_put(w, "\n", 1) == -1)
		goto wfail;
	if (copy_quoted(w, msg_fd, off, len, &last, err, errlen) == -1)
		goto out;
	if ((last != '\n' && wb_put(w, "\n", 1) == -1) || wb_put(w, "\n", 1) == -1 ||
	    wb_flush(w) == -1)
		goto wfail;
	if (fsync(fd) == -1) {
		err_format(err, errlen, "cannot fsync mailbox %s: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
	goto out;
wfail:
	err_format(err, errlen, "cannot write mailbox %s: %s", path, strerror(errno));
out:
	free(w);
	return r;
}

int mbox_deliver_try(const char *path, uid_t expected_owner, const char *envelope_sender,
    time_t t, int msg_fd, off_t off, uint64_t len, unsigned wait_ms, bool *locked, char *err,
    size_t errlen)
{
	char lock[4096];
	struct stat st, now;
	int fd, r = -1;

	*locked = false;
	if (path == NULL || path[0] == '\0' || envelope_sender == NULL || msg_fd < 0) {
		err_format(err, errlen, "mbox: bad arguments");
		return -1;
	}
	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock)) {
		err_format(err, errlen, "mailbox path too long: %s", path);
		return -1;
	}
	if ((fd = open_mbox(path, expected_owner, &st, err, errlen)) == -1)
		return -1;
	if (dotlock_take(lock, time_monotonic() + wait_ms / 1000.0, locked, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	if (fcntl_take(fd, path, time_monotonic() + wait_ms / 1000.0, locked, err, errlen) == -1)
		goto out;
	/* Still the file we opened, and still ours to append to? */
	if (lstat(path, &now) == -1 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
		err_format(err, errlen, "mailbox %s was replaced while we waited for the lock", path);
		goto unlock;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		err_format(err, errlen, "mailbox %s changed while we waited for the lock", path);
		goto unlock;
	}
	if (check_owner(path, &st, expected_owner, err, errlen) == -1)
		goto unlock;
	if (append(fd, st.st_size, envelope_sender, t, msg_fd, off, len, path, err, errlen) == 0)
		r = 0;
	else if (ftruncate(fd, st.st_size) == -1 || fsync(fd) == -1) {
		/* Say so: the mailbox now ends with part of a message. */
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, "; and cannot truncate it back to %jd bytes: %s",
		    (intmax_t)st.st_size, strerror(errno));
	}
unlock:
	fcntl_release(fd);
out:
	/* A lock we cannot remove goes stale in MBOX_STALE_LOCK: no reason to fail. */
	(void)unlink(lock);
	close(fd);
	return r;
}

int mbox_deliver_wait(const char *path, uid_t expected_owner, const char *envelope_sender,
    time_t t, int msg_fd, off_t off, uint64_t len, unsigned wait_ms, char *err,
    size_t errlen)
{
	bool locked;

	return mbox_deliver_try(path, expected_owner, envelope_sender, t, msg_fd, off, len,
	    wait_ms, &locked, err, errlen);
}

int mbox_deliver(const char *path, uid_t expected_owner, const char *envelope_sender,
    time_t t, int msg_fd, off_t off, uint64_t len, char *err, size_t errlen)
{
	return mbox_deliver_wait(path, expected_owner, envelope_sender, t, msg_fd, off, len,
	    MBOX_LOCK_WAIT_MS, err, errlen);
}
