/* Unit tests for relayd/mbox.c: appending to an existing, locked mbox. */
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mbox.h"
#include "util.h"

#define T0 1795003600	/* Wed Nov 18 12:06:40 2026 UTC */

static char dir[64];

static void path_in(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", dir, name);
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || io_write_all(fd, text, strlen(text)) == -1) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/* The whole file, NUL-terminated (caller frees); "" if unreadable. */
static char *slurp(const char *path)
{
	struct buf b;
	char tmp[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	buf_init(&b, 1 << 24);
	buf_appends(&b, "");
	if (fd != -1) {
		while ((n = read(fd, tmp, sizeof(tmp))) > 0)
			buf_append(&b, tmp, (size_t)n);
		close(fd);
	}
	return b.data;
}

/* A message file holding a prefix (like a drop file's header) then msg. */
static int msg_fd(const char *msg)
{
	char p[128];
	int fd;

	path_in(p, sizeof(p), "msg");
	put_file(p, "PREFIX\n");
	fd = open(p, O_RDWR | O_APPEND);
	if (fd == -1 || io_write_all(fd, msg, strlen(msg)) == -1) {
		perror(p);
		exit(1);
	}
	return fd;
}

static int deliver(const char *mbox, const char *sender, const char *msg, unsigned wait_ms,
    char *err, size_t errlen)
{
	int fd = msg_fd(msg), r;

	r = mbox_deliver_wait(mbox, geteuid(), sender, T0, fd, 7, strlen(msg), wait_ms, err,
	    errlen);
	close(fd);
	return r;
}

/* deliver, through mbox_deliver_try: *locked as it says. */
static int deliver_try(const char *mbox, const char *msg, unsigned wait_ms, bool *locked,
    char *err, size_t errlen)
{
	int fd = msg_fd(msg), r;

	r = mbox_deliver_try(mbox, geteuid(), "", T0, fd, 7, strlen(msg), wait_ms, locked, err,
	    errlen);
	close(fd);
	return r;
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static void test_date(void)
{
	char d[32];

	mbox_date(T0, d, sizeof(d));
	CHECK_STR(d, "Wed Nov 18 12:06:40 2026");
	mbox_date(1793613600, d, sizeof(d));
	CHECK_STR(d, "Mon Nov  2 10:00:00 2026");	/* one-digit day: space-padded */
	mbox_date(1791133200, d, sizeof(d));
	CHECK_STR(d, "Sun Oct  4 17:00:00 2026");
}

static void test_append(void)
{
	char mb[128], lock[160], err[512] = "";
	char *got;
	const char *m1 = "Subject: one\n\nFrom the top\n>From quoted\n>>From twice\nFromage\n>From\nbody\n";
	const char *m2 = "Subject: two\n\nno final newline";

	path_in(mb, sizeof(mb), "mbox");
	snprintf(lock, sizeof(lock), "%s.lock", mb);
	put_file(mb, "");
	CHECK_INT(deliver(mb, "", m1, 1000, err, sizeof(err)), 0);
	CHECK_INT(deliver(mb, "alice@example.net", m2, 1000, err, sizeof(err)), 0);
	got = slurp(mb);
	CHECK_STR(got,
	    "From MAILER-DAEMON Wed Nov 18 12:06:40 2026\n"
	    "Subject: one\n\n>From the top\n>>From quoted\n>>>From twice\nFromage\n>From\nbody\n"
	    "\n"
	    "From alice@example.net Wed Nov 18 12:06:40 2026\n"
	    "Subject: two\n\nno final newline\n"
	    "\n");
	free(got);
	CHECK(!exists(lock));

	/* An mbox not ending in a blank line gets one before our From_ line. */
	put_file(mb, "From x Wed Nov 18 12:06:40 2026\nSubject: old\n\nold body");
	CHECK_INT(deliver(mb, "a b@example.net", "X: y\n\nz\n", 1000, err, sizeof(err)), 0);
	got = slurp(mb);
	CHECK_STR(got, "From x Wed Nov 18 12:06:40 2026\nSubject: old\n\nold body\n\n"
	    "From a_b@example.net Wed Nov 18 12:06:40 2026\nX: y\n\nz\n\n");
	free(got);
	put_file(mb, "old\n");
	CHECK_INT(deliver(mb, "", "X: y\n\nFrom", 1000, err, sizeof(err)), 0);
	got = slurp(mb);
	CHECK_STR(got, "old\n\nFrom MAILER-DAEMON Wed Nov 18 12:06:40 2026\nX: y\n\nFrom\n\n");
	free(got);
}

static void test_refused(void)
{
	char mb[128], other[128], lock[160], err[512] = "";
	char *got;

	/* Missing: an error, and no lock file or mbox left behind. */
	path_in(mb, sizeof(mb), "nobody");
	snprintf(lock, sizeof(lock), "%s.lock", mb);
	CHECK_INT(deliver(mb, "", "X: y\n\nz\n", 1000, err, sizeof(err)), -1);
	CHECK(strstr(err, "no mailbox") != NULL);
	CHECK(!exists(mb) && !exists(lock));
	{
		bool locked = true;

		CHECK_INT(deliver_try(mb, "X: y\n\nz\n", 100, &locked, err, sizeof(err)), -1);
		CHECK(!locked);
	}

	/* A symlink is refused and its target untouched. */
	path_in(other, sizeof(other), "target");
	put_file(other, "precious\n");
	path_in(mb, sizeof(mb), "link");
	CHECK_INT(symlink(other, mb), 0);
	CHECK_INT(deliver(mb, "", "X: y\n\nz\n", 1000, err, sizeof(err)), -1);
	CHECK(strstr(err, "symbolic link") != NULL);
	got = slurp(other);
	CHECK_STR(got, "precious\n");
	free(got);

	/* A hard link is refused. */
	path_in(mb, sizeof(mb), "hard");
	CHECK_INT(link(other, mb), 0);
	CHECK_INT(deliver(mb, "", "X: y\n\nz\n", 1000, err, sizeof(err)), -1);
	CHECK(strstr(err, "links") != NULL);
	got = slurp(other);
	CHECK_STR(got, "precious\n");
	free(got);

	/* A FIFO or a directory is refused without hanging. */
	path_in(mb, sizeof(mb), "fifo");
	CHECK_INT(mkfifo(mb, 0600), 0);
	CHECK_INT(deliver(mb, "", "X: y\n\nz\n", 1000, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a regular file") != NULL);
	CHECK_INT(deliver(dir, "", "X: y\n\nz\n", 1000, err, sizeof(err)), -1);
}

/* deliver() to an mbox that must belong to owner. */
static int deliver_to(const char *mbox, uid_t owner, unsigned wait_ms, char *err,
    size_t errlen)
{
	const char *msg = "X: y\n\nz\n";
	int fd = msg_fd(msg), r;

	r = mbox_deliver_wait(mbox, owner, "", T0, fd, 7, strlen(msg), wait_ms, err, errlen);
	close(fd);
	return r;
}

/*
 * A mailbox not owned by the user the bounce is for is refused (F12): group
 * mail can write any file in /var/mail, so one planted there by another
 * user must not receive the bounce.
 */
static void test_owner(void)
{
	char mb[128], lock[160], err[512] = "", want[512];
	const uid_t other = 65534;
	struct passwd *pw;
	char *got;
	pid_t pid;
	int status;

	path_in(mb, sizeof(mb), "owned");
	snprintf(lock, sizeof(lock), "%s.lock", mb);
	put_file(mb, "before\n\n");

	/* Our own file, expected to be someone else's: refused, unchanged. */
	CHECK_INT(deliver_to(mb, geteuid() + 1, 1000, err, sizeof(err)), -1);
	CHECK(strstr(err, "is owned by uid") != NULL && strstr(err, "not delivering") != NULL);
	CHECK(!exists(lock));
	got = slurp(mb);
	CHECK_STR(got, "before\n\n");
	free(got);

	if (geteuid() != 0) {
		printf("SKIP: mbox owned by another uid (need root to chown)\n");
		return;
	}
	/* As root: a mailbox owned by another uid, delivered for root. */
	CHECK_INT(chown(mb, other, (gid_t)-1), 0);
	CHECK_INT(deliver_to(mb, 0, 1000, err, sizeof(err)), -1);
	pw = getpwuid(0);
	snprintf(want, sizeof(want), "mailbox %s is owned by uid %lu, not by %s (uid 0): "
	    "not delivering", mb, (unsigned long)other, pw != NULL ? pw->pw_name : "the user");
	CHECK_STR(err, want);
	CHECK(!exists(lock));
	got = slurp(mb);
	CHECK_STR(got, "before\n\n");
	free(got);

	/* For its owner it is delivered. */
	CHECK_INT(deliver_to(mb, other, 1000, err, sizeof(err)), 0);
	got = slurp(mb);
	CHECK(strncmp(got, "before\n\nFrom MAILER-DAEMON ", 27) == 0);
	free(got);

	/* Ownership changes while we wait for the dot-lock: the check after
	 * locking refuses it, and the mbox is unchanged. */
	CHECK_INT(chown(mb, 0, (gid_t)-1), 0);
	put_file(mb, "before\n\n");
	put_file(lock, "12345\n");
	if ((pid = fork()) == 0) {
		usleep(300000);
		if (chown(mb, other, (gid_t)-1) == -1)
			_exit(1);
		unlink(lock);
		_exit(0);
	}
	CHECK_INT(deliver_to(mb, 0, 5000, err, sizeof(err)), -1);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strstr(err, "is owned by uid 65534") != NULL);
	CHECK(!exists(lock));
	got = slurp(mb);
	CHECK_STR(got, "before\n\n");
	free(got);
}

static void test_locks(void)
{
	char mb[128], lock[160], err[512] = "";
	bool locked;
	char *got;
	struct timeval tv[2];
	int pfd[2], fd, status;
	pid_t pid;
	double t;
	char c;

	path_in(mb, sizeof(mb), "locked");
	snprintf(lock, sizeof(lock), "%s.lock", mb);
	put_file(mb, "before\n\n");

	/* A fresh dot-lock (a live holder): we wait, then give up, leaving it. */
	put_file(lock, "12345\n");
	t = time_monotonic();
	CHECK_INT(deliver(mb, "", "X: y\n\nz\n", 400, err, sizeof(err)), -1);
	CHECK(time_monotonic() - t >= 0.35);
	CHECK(strstr(err, "locked") != NULL);
	CHECK(exists(lock));
	/* ... which mbox_deliver_try tells apart (the mailbox process retries). */
	locked = false;
	CHECK_INT(deliver_try(mb, "X: y\n\nz\n", 100, &locked, err, sizeof(err)), -1);
	CHECK(locked);
	got = slurp(mb);
	CHECK_STR(got, "before\n\n");
	free(got);

	/* The holder releases it while we wait: delivered. */
	if ((pid = fork()) == 0) {
		usleep(300000);
		unlink(lock);
		_exit(0);
	}
	CHECK_INT(deliver(mb, "", "X: y\n\nz\n", 5000, err, sizeof(err)), 0);
	waitpid(pid, &status, 0);
	CHECK(!exists(lock));

	/* A dot-lock older than MBOX_STALE_LOCK is removed. */
	put_file(mb, "before\n\n");
	put_file(lock, "99999\n");
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= MBOX_STALE_LOCK + 60;
	tv[1] = tv[0];
	CHECK_INT(utimes(lock, tv), 0);
	CHECK_INT(deliver(mb, "", "X: y\n\nz\n", 400, err, sizeof(err)), 0);
	CHECK(!exists(lock));

	/* Another process holds the fcntl lock: we give up, mbox unchanged,
	 * and our own dot-lock is gone. */
	put_file(mb, "before\n\n");
	if (pipe(pfd) == -1) {
		perror("pipe");
		exit(1);
	}
	if ((pid = fork()) == 0) {
		struct flock fl;

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fd = open(mb, O_RDWR);
		if (fd == -1 || fcntl(fd, F_SETLK, &fl) == -1)
			_exit(1);
		(void)write(pfd[1], "x", 1);
		close(pfd[1]);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	CHECK_INT(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	CHECK_INT(deliver(mb, "", "X: y\n\nz\n", 400, err, sizeof(err)), -1);
	CHECK(strstr(err, "fcntl") != NULL);
	CHECK(!exists(lock));
	locked = false;
	CHECK_INT(deliver_try(mb, "X: y\n\nz\n", 100, &locked, err, sizeof(err)), -1);
	CHECK(locked && strstr(err, "fcntl") != NULL);
	got = slurp(mb);
	CHECK_STR(got, "before\n\n");
	free(got);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

static void test_failure_restores(void)
{
	char mb[128], lock[160], err[512] = "";
	char *got;
	int fd;
	const char *msg = "Subject: partial\n\nsome text\n";

	path_in(mb, sizeof(mb), "restore");
	snprintf(lock, sizeof(lock), "%s.lock", mb);
	put_file(mb, "From a Wed Nov 18 12:06:40 2026\nX: 1\n\nkept\n\n");
	/* The message is shorter than claimed: the copy fails part way, after
	 * the From_ line and the text were written; the mbox is cut back. */
	fd = msg_fd(msg);
	CHECK_INT(mbox_deliver_wait(mb, geteuid(), "", T0, fd, 7, strlen(msg) + 100, 1000, err,
	    sizeof(err)), -1);
	close(fd);
	CHECK(strstr(err, "shorter") != NULL);
	got = slurp(mb);
	CHECK_STR(got, "From a Wed Nov 18 12:06:40 2026\nX: 1\n\nkept\n\n");
	free(got);
	CHECK(!exists(lock));

	/* A large message goes through the buffered path intact. */
	{
		struct buf b;
		size_t i;

		buf_init(&b, 1 << 24);
		buf_appends(&b, "Subject: big\n\n");
		for (i = 0; i < 20000; i++)
			buf_appendf(&b, "%sline %zu\n", i % 7 == 0 ? "From " : "", i);
		put_file(mb, "");
		CHECK_INT(deliver(mb, "", b.data, 1000, err, sizeof(err)), 0);
		got = slurp(mb);
		CHECK(strstr(got, "\n>From line 19999\n\n") != NULL || strstr(got, "\nline 19999\n\n") != NULL);
		CHECK(strstr(got, "\nFrom line") == NULL);
		CHECK_INT(strlen(got), strlen("From MAILER-DAEMON Wed Nov 18 12:06:40 2026\n") +
		    b.len + (20000 + 6) / 7 + 1);
		free(got);
		buf_free(&b);
	}
}

int main(void)
{
	char cmd[128];

	setenv("TZ", "UTC", 1);
	snprintf(dir, sizeof(dir), "/tmp/test_mbox.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_date();
	test_append();
	test_refused();
	test_owner();
	test_locks();
	test_failure_restores();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_summary("test_mbox");
}
