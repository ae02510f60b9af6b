/*
 * Unit tests for the spool's two sides: spool_drop.c (writing a drop file) and
 * pickup.c (checking one as hostile input), in a scratch spool owned by
 * whoever runs the test.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "spool.h"

static char spool[1024];
static char tmpdir[1100], newdir[1100];
static int newfd = -1;

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			(void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* Whole contents of a file (malloc'd) and its length. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = xmalloc((size_t)n + 1);
	*len = fread(p, 1, (size_t)n, f);
	p[*len] = '\0';
	fclose(f);
	return p;
}

static void basic_envelope(struct envelope *e)
{
	envelope_init(e);
	e->sender = xstrdup("alice@example.org");
	envelope_add_rcpt(e, "bob@example.org", "bob");
	envelope_add_rcpt(e, "carol@example.org", NULL);
}

/* Write a whole drop file through the API; returns drop_commit's code and
 * the id in id. */
static int submit(const void *msg, size_t len, size_t step, char id[17])
{
	struct drop *d;
	struct envelope e;
	char err[512];
	size_t off;
	int rc;

	if ((rc = drop_create(spool, &d, err, sizeof(err))) != 0) {
		fprintf(stderr, "drop_create: %s\n", err);
		return rc;
	}
	basic_envelope(&e);
	rc = drop_write_envelope(d, &e, err, sizeof(err));
	envelope_free(&e);
	for (off = 0; rc == 0 && off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		rc = drop_write(d, (const char *)msg + off, n, err, sizeof(err));
	}
	if (rc != 0) {
		drop_abort(d);
		return rc;
	}
	CHECK_INT(drop_length(d), len);
	strlcpy(id, drop_id(d), 17);
	rc = drop_commit(d, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "drop_commit: %s\n", err);
	return rc;
}

static const char expect_env[] = "NULLRELAY-DROP 1\n"
				 "length %020zu\n"
				 "sender <alice@example.org>\n"
				 "rcpt <bob@example.org>\n"
				 "orcpt <bob>\n"
				 "rcpt <carol@example.org>\n"
				 "body 7BIT\n"
				 "\n";

static void test_commit_small(void)
{
	const char msg[] = "Subject: hi\n\nhello\n";
	char id[17], path[PATH_MAX + 32], want[1024];
	struct stat st;
	size_t len;
	char *got;
	int n;

	empty_dir(newdir);
	CHECK_INT(submit(msg, strlen(msg), 5, id), 0);
	CHECK(queue_id_valid(id));
	CHECK_INT(count_entries(tmpdir), 0);
	CHECK_INT(count_entries(newdir), 1);
	snprintf(path, sizeof(path), "%s/%s", newdir, id);
	CHECK(stat(path, &st) == 0);
	CHECK_INT(st.st_mode & 07777, 0640);
	CHECK_INT(st.st_nlink, 1);
	n = snprintf(want, sizeof(want), expect_env, strlen(msg));
	strlcat(want, msg, sizeof(want));
	got = slurp(path, &len);
	CHECK(got != NULL);
	if (got != NULL)
		CHECK_MEM(got, len, want, (size_t)n + strlen(msg));
	free(got);
}

static void test_commit_large(void)
{
	size_t len = 300 * 1024 + 17, i;
	char *msg = xmalloc(len), *got, id[17], path[PATH_MAX + 32];
	size_t glen, hdr;

	for (i = 0; i < len; i++)
		msg[i] = (i % 80 == 79) ? '\n' : (char)('a' + i % 26);
	empty_dir(newdir);
	/* Steps below, at and above the buffer size. */
	CHECK_INT(submit(msg, len, 1000, id), 0);
	CHECK_INT(submit(msg, len, 65536, id), 0);
	CHECK_INT(submit(msg, len, 100000, id), 0);
	CHECK_INT(count_entries(newdir), 3);
	CHECK_INT(count_entries(tmpdir), 0);
	snprintf(path, sizeof(path), "%s/%s", newdir, id);
	got = slurp(path, &glen);
	hdr = (size_t)snprintf(NULL, 0, expect_env, len);
	CHECK(got != NULL && glen == hdr + len);
	if (got != NULL && glen == hdr + len)
		CHECK(memcmp(got + hdr, msg, len) == 0);
	free(got);
	free(msg);
}

static void test_second_pass_and_abort(void)
{
	struct drop *d;
	struct envelope e;
	char err[512], buf[64];
	mode_t old;

	empty_dir(newdir);
	old = umask(077);
	CHECK_INT(drop_create(spool, &d, err, sizeof(err)), 0);
	umask(old);
	basic_envelope(&e);
	CHECK_INT(drop_write(d, "x", 1, err, sizeof(err)), EX_SOFTWARE);	/* before envelope */
	CHECK_INT(drop_write_envelope(d, &e, err, sizeof(err)), 0);
	CHECK_INT(drop_write(d, "line one\nline two\n", 18, err, sizeof(err)), 0);
	CHECK_INT(drop_flush(d, err, sizeof(err)), 0);
	{
		struct stat st;

		CHECK(fstat(drop_fd(d), &st) == 0);
		CHECK_INT(st.st_mode & 07777, 0640);	/* despite umask 077 */
	}
	CHECK_INT(pread(drop_fd(d), buf, 18, drop_message_offset(d)), 18);
	CHECK_MEM(buf, 18, "line one\nline two\n", 18);
	CHECK_INT(count_entries(tmpdir), 1);
	drop_abort(d);
	CHECK_INT(count_entries(tmpdir), 0);
	CHECK_INT(count_entries(newdir), 0);

	/* An envelope that could not be parsed back is refused up front. */
	CHECK_INT(drop_create(spool, &d, err, sizeof(err)), 0);
	envelope_free(&e);
	envelope_init(&e);
	e.sender = xstrdup("a@b");
	CHECK_INT(drop_write_envelope(d, &e, err, sizeof(err)), EX_DATAERR);
	CHECK(strstr(err, "recipient") != NULL);
	drop_abort(d);
	envelope_free(&e);
	CHECK_INT(count_entries(tmpdir), 0);
}

static void test_create_errors(void)
{
	struct drop *d = NULL;
	char err[512], path[PATH_MAX + 32];

	CHECK_INT(drop_create("/nonexistent/nullrelay-spool", &d, err, sizeof(err)), EX_CANTCREAT);
	CHECK(d == NULL);
	CHECK(strstr(err, "/nonexistent/nullrelay-spool") != NULL);
	CHECK(strstr(err, "relayd") != NULL);

	snprintf(path, sizeof(path), "%s/half", spool);
	CHECK(mkdir(path, 0755) == 0);
	CHECK_INT(drop_create(path, &d, err, sizeof(err)), EX_CANTCREAT);
	CHECK(strstr(err, "incoming/tmp") != NULL);
	CHECK(strstr(err, "relayd as root") != NULL);
	rmdir(path);
}

/*
 * A hand-made spool whose incoming/tmp lacks the setgid bit: a new file
 * would get the submitter's group, relayd could not read it. drop_create
 * refuses with 73 and says how to repair; nothing is left behind.
 */
static void test_create_not_setgid(void)
{
	char err[512], sp[PATH_MAX], tdir[PATH_MAX + 32], id[17];
	gid_t other = getegid() == 1 ? 2 : 1;
	struct drop *d = NULL;
	struct stat st;

	if (geteuid() != 0) {
		printf("SKIP: incoming/tmp without setgid (need root to chgrp)\n");
		return;
	}
	snprintf(sp, sizeof(sp), "%s/nosgid", spool);
	snprintf(tdir, sizeof(tdir), "%s/incoming/tmp", sp);
	CHECK_INT(spool_setup(sp, geteuid(), getegid(), err, sizeof(err)), 0);

	/* Mode 0733, group not ours, no setgid: refused. */
	CHECK(chown(tdir, (uid_t)-1, other) == 0);
	CHECK(chmod(tdir, 0733) == 0);
	CHECK(stat(tdir, &st) == 0 && st.st_gid == other && (st.st_mode & S_ISGID) == 0);
	err[0] = '\0';
	CHECK_INT(drop_create(sp, &d, err, sizeof(err)), EX_CANTCREAT);
	CHECK(d == NULL);
	CHECK(strstr(err, tdir) != NULL);
	CHECK(strstr(err, "incoming/tmp is not setgid to the relay group: start relayd as "
	    "root once to repair the spool") != NULL);
	CHECK_INT(count_entries(tdir), 0);
	drop_abort(d);

	/* The same group with setgid: the file inherits it, accepted. */
	CHECK(chmod(tdir, 03733) == 0);
	CHECK_INT(drop_create(sp, &d, err, sizeof(err)), 0);
	if (d != NULL) {
		char path[PATH_MAX + 64];

		strlcpy(id, drop_id(d), sizeof(id));
		snprintf(path, sizeof(path), "%s/%s", tdir, id);
		CHECK(stat(path, &st) == 0 && st.st_gid == other);
		drop_abort(d);
	}
	CHECK_INT(count_entries(tdir), 0);
}

/* Write a file by hand into new/ (as a hostile user would). */
static void put_file(const char *name, const char *text, size_t len)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", newdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	CHECK(fd != -1);
	if (fd == -1)
		return;
	CHECK(write(fd, text, len) == (ssize_t)len);
	close(fd);
}

static void set_age(const char *name, time_t age)
{
	struct timespec ts[2];
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", newdir, name);
	fd = open(path, O_RDONLY);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	CHECK(fd != -1 && futimens(fd, ts) == 0);
	if (fd != -1)
		close(fd);
}

static enum drop_verdict pick(const char *name, uint64_t max, char *why, size_t whylen)
{
	struct drop_file df;
	enum drop_verdict v;

	v = drop_file_open(newfd, name, max, time(NULL), &df, why, whylen);
	if (v == DROP_OK)
		drop_file_close(&df);
	else
		CHECK_INT(df.fd, -1);
	return v;
}

/* Expect verdict v with why containing frag. */
static void expect(const char *name, uint64_t max, enum drop_verdict v, const char *frag)
{
	char why[512] = "";
	enum drop_verdict got = pick(name, max, why, sizeof(why));

	if (got != v || strstr(why, frag) == NULL)
		fprintf(stderr, "%s: verdict %d why \"%s\", want %d \"%s\"\n", name, got, why, v,
		    frag);
	CHECK_INT(got, v);
	CHECK(strstr(why, frag) != NULL);
}

#define GOOD_HDR "NULLRELAY-DROP 1\nlength 00000000000000000006\nsender <a@b>\nrcpt <c@d>\n\n"
#define ID1 "0000000000000001"
#define ID2 "0000000000000002"

static void test_pickup_good(void)
{
	const char msg[] = "Subject: x\n\nbody\n";
	struct drop_file df;
	char id[17], why[256], buf[64];
	enum drop_verdict v;

	empty_dir(newdir);
	CHECK_INT(submit(msg, strlen(msg), 100, id), 0);
	v = drop_file_open(newfd, id, 1024, time(NULL), &df, why, sizeof(why));
	CHECK_INT(v, DROP_OK);
	if (v != DROP_OK) {
		fprintf(stderr, "good file refused: %s\n", why);
		return;
	}
	CHECK_INT(df.length, strlen(msg));
	CHECK_INT(df.st.st_uid, geteuid());
	CHECK_STR(df.env.sender, "alice@example.org");
	CHECK_INT(df.env.nrcpts, 2);
	CHECK_STR(df.env.rcpts[0].orcpt, "bob");
	CHECK_INT(df.body_off + (off_t)df.length, df.st.st_size);
	/* The descriptor is positioned at the message. */
	CHECK_INT(read(df.fd, buf, sizeof(buf)), strlen(msg));
	CHECK_MEM(buf, strlen(msg), msg, strlen(msg));
	drop_file_close(&df);
	CHECK_INT(df.fd, -1);

	/* A hand-written file with an empty message and no length mismatch. */
	put_file(ID1, GOOD_HDR "hello\n", strlen(GOOD_HDR) + 6);
	expect(ID1, 100, DROP_OK, "");
	/* claimed-uid is parsed but the owner is what counts. */
	{
		static const char t[] = "NULLRELAY-DROP 1\nlength 00000000000000000000\n"
					"sender <>\nrcpt <c@d>\nclaimed-uid 0\n\n";

		put_file(ID2, t, strlen(t));
	}
	v = drop_file_open(newfd, ID2, 100, time(NULL), &df, why, sizeof(why));
	CHECK_INT(v, DROP_OK);
	if (v == DROP_OK) {
		CHECK_INT(df.env.claimed_uid, 0);
		CHECK_INT(df.st.st_uid, geteuid());
		CHECK_INT(df.length, 0);
		drop_file_close(&df);
	}
}

static void test_pickup_hostile(void)
{
	char path[PATH_MAX + 64], path2[PATH_MAX + 64];
	char *big;
	int s;

	empty_dir(newdir);

	snprintf(path, sizeof(path), "%s/" ID1, newdir);
	CHECK(symlink("/etc/passwd", path) == 0);
	expect(ID1, 0, DROP_REMOVE, "symlink refused");
	unlink(path);

	CHECK(mkfifo(path, 0640) == 0);
	expect(ID1, 0, DROP_REMOVE, "FIFO refused");	/* and does not block */
	unlink(path);

	CHECK(mkdir(path, 0750) == 0);
	expect(ID1, 0, DROP_REMOVE, "directory refused");
	rmdir(path);

	s = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) < sizeof(sun.sun_path) &&
		    bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			expect(ID1, 0, DROP_REMOVE, "socket refused");
	}
	close(s);
	unlink(path);

	put_file(ID1, GOOD_HDR "hello\n", strlen(GOOD_HDR) + 6);
	snprintf(path2, sizeof(path2), "%s/" ID2, newdir);
	CHECK(link(path, path2) == 0);
	expect(ID1, 0, DROP_QUARANTINE, "2 hard links");
	expect(ID2, 0, DROP_QUARANTINE, "2 hard links");
	unlink(path2);
	expect(ID1, 0, DROP_OK, "");

	/* Oversized: the limit is max_size plus the header allowance. */
	big = xcalloc(1, DROP_HEADER_MAX + 200);
	memcpy(big, GOOD_HDR, strlen(GOOD_HDR));
	put_file(ID1, big, DROP_HEADER_MAX + 200);
	expect(ID1, 100, DROP_QUARANTINE, "oversized");
	/* Header longer than DROP_HEADER_MAX (no blank line in the first MiB). */
	memset(big, 'x', DROP_HEADER_MAX + 200);
	memcpy(big, "NULLRELAY-DROP 1\nlength 00000000000000000000\nsender <a@b>\n", 58);
	put_file(ID1, big, DROP_HEADER_MAX + 200);
	expect(ID1, 0, DROP_QUARANTINE, "header over");
	free(big);

	put_file("not-an-id", GOOD_HDR "hello\n", strlen(GOOD_HDR) + 6);
	expect("not-an-id", 0, DROP_QUARANTINE, "bad name");
	put_file("0000000000000abc", GOOD_HDR "hello\n", strlen(GOOD_HDR) + 6);
	expect("0000000000000abc", 0, DROP_QUARANTINE, "bad name");

	expect("00000000000000FF", 0, DROP_NOT_YET, "vanished");
}

/*
 * A valid drop file whose header (up to and including the blank line) is
 * exactly hdr_total bytes, made of long unique rcpt lines, then "hello\n".
 */
static char *big_header_file(size_t hdr_total, size_t *len)
{
	static const char head[] = "NULLRELAY-DROP 1\nlength 00000000000000000006\nsender <a@b>\n";
	size_t rest = hdr_total - strlen(head) - 1, off, i;
	char *f = xmalloc(hdr_total + 6);

	memcpy(f, head, strlen(head));
	off = strlen(head);
	/* Each line is "rcpt <" + address + ">\n"; the last one takes what
	 * is left (between 100 and 999 bytes, so its address is valid). */
	for (i = 0; rest > 0; i++) {
		size_t line = rest >= 1000 ? 900 : rest, alen = line - 8;
		int n = snprintf(f + off, hdr_total + 6 - off, "rcpt <%06zu", i);

		CHECK(n == 12);
		memset(f + off + 12, 'x', alen - 6 - 2);
		memcpy(f + off + 6 + alen - 2, "@d>\n", 4);
		off += line;
		rest -= line;
	}
	f[off++] = '\n';
	CHECK_INT(off, hdr_total);
	memcpy(f + off, "hello\n", 6);
	*len = off + 6;
	return f;
}

/* The header may use all of DROP_HEADER_MAX (the buffer grows to it), and
 * not one byte more. */
static void test_pickup_header_limit(void)
{
	struct drop_file df;
	char why[512] = "";
	enum drop_verdict v;
	size_t len;
	char *f;

	empty_dir(newdir);
	f = big_header_file(DROP_HEADER_MAX, &len);
	put_file(ID1, f, len);
	free(f);
	v = drop_file_open(newfd, ID1, 100, time(NULL), &df, why, sizeof(why));
	CHECK_INT(v, DROP_OK);
	if (v == DROP_OK) {
		CHECK_INT(df.body_off, DROP_HEADER_MAX);
		CHECK_INT(df.length, 6);
		CHECK(df.env.nrcpts > 1000);
		CHECK_STR(df.env.sender, "a@b");
		drop_file_close(&df);
	} else
		fprintf(stderr, "header of DROP_HEADER_MAX bytes refused: %s\n", why);

	f = big_header_file(DROP_HEADER_MAX + 1, &len);
	put_file(ID1, f, len);
	free(f);
	expect(ID1, 100, DROP_QUARANTINE, "header over");

	/* Small files still work after the buffer had to grow. */
	put_file(ID1, GOOD_HDR "hello\n", strlen(GOOD_HDR) + 6);
	expect(ID1, 100, DROP_OK, "");
	empty_dir(newdir);
}

struct bad_case {
	const char *text;
	const char *frag;
};

static void test_pickup_malformed(void)
{
	static const struct bad_case cases[] = {
		{ "NULLRELAY-DROP 2\nlength 00000000000000000006\nsender <a@b>\nrcpt <c@d>\n\nhello\n",
		    "bad magic" },
		{ "From alice Sun Nov 22\n\nhello\n", "bad magic" },
		{ "NULLRELAY-DROP 1\nlength 0000000000000000006\nsender <a@b>\nrcpt <c@d>\n\nhello\n",
		    "bad length line" },
		{ "NULLRELAY-DROP 1\nlength 0000000000000000000x\nsender <a@b>\nrcpt <c@d>\n\nhello\n",
		    "bad length line" },
		{ "NULLRELAY-DROP 1\nlength  0000000000000000006\nsender <a@b>\nrcpt <c@d>\n\nhello\n",
		    "bad length line" },
		{ "NULLRELAY-DROP 1\nsender <a@b>\nrcpt <c@d>\n\nhello\n", "bad length line" },
		{ "NULLRELAY-DROP 1\n\nhello\n", "bad length line" },
		{ "NULLRELAY-DROP 1\nlength 00000000000000000006\nsender <a@b>\nrcpt <c@d>\n"
		  "x-frob 1\n\nhello\n",
		    "unknown keyword" },
		{ "NULLRELAY-DROP 1\nlength 00000000000000000006\nsender <a@b>\n\nhello\n",
		    "no rcpt" },
		{ "NULLRELAY-DROP 1\nlength 00000000000000000006\nrcpt <c@d>\n\nhello\n",
		    "no sender" },
		{ "NULLRELAY-DROP 1\nlength 00000000000000000006\nsender <a@b>\nrcpt <c\rd>\n\nhello\n",
		    "invalid address" },
		{ "NULLRELAY-DROP 1\r\nlength 00000000000000000006\r\nsender <a@b>\r\nrcpt <c@d>\r\n\r\n"
		  "hello\n",
		    "bad magic" },
	};
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(cases); i++) {
		empty_dir(newdir);
		put_file(ID1, cases[i].text, strlen(cases[i].text));
		expect(ID1, 0, DROP_QUARANTINE, cases[i].frag);
	}
}

static void test_pickup_half_written(void)
{
	const char text[] = GOOD_HDR "hel";	/* says 6, has 3 */
	const char nohdr[] = "NULLRELAY-DROP 1\nlength 00000000000000000006\nsender <a@b>\n";

	empty_dir(newdir);
	put_file(ID1, text, strlen(text));
	expect(ID1, 0, DROP_NOT_YET, "length 6 but 3 bytes present");
	set_age(ID1, 3600);
	expect(ID1, 0, DROP_QUARANTINE, "half-written: length 6 but 3 bytes present");
	set_age(ID1, -3600);	/* dated ahead: not young for ever */
	expect(ID1, 0, DROP_QUARANTINE, "half-written");

	put_file(ID2, nohdr, strlen(nohdr));
	expect(ID2, 0, DROP_NOT_YET, "header incomplete");
	set_age(ID2, 120);
	expect(ID2, 0, DROP_QUARANTINE, "header incomplete");

	/* Too long is as wrong as too short. */
	put_file(ID1, GOOD_HDR "hello\nEXTRA", strlen(GOOD_HDR) + 11);
	set_age(ID1, 3600);
	expect(ID1, 0, DROP_QUARANTINE, "length 6 but 11 bytes present");
}

static void test_path(void)
{
	char out[32];

	CHECK_INT(spool_path(out, sizeof(out), "/var/spool/x", "incoming/new"), 0);
	CHECK_STR(out, "/var/spool/x/incoming/new");
	CHECK_INT(spool_path(out, sizeof(out), "/s", ""), 0);
	CHECK_STR(out, "/s");
	CHECK_INT(spool_path(out, 10, "/var/spool/x", "incoming/new"), -1);
}

static void test_setup(void)
{
	char err[512], path[PATH_MAX + 32];
	struct stat st;

	/* Repairs a wrong mode on a directory it owns. */
	CHECK(chmod(tmpdir, 0777) == 0);
	CHECK_INT(spool_setup(spool, geteuid(), getegid(), err, sizeof(err)), 0);
	CHECK(stat(tmpdir, &st) == 0 && (st.st_mode & 07777) == 03733);
	snprintf(path, sizeof(path), "%s/queue", spool);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0700);
	CHECK(stat(spool, &st) == 0 && (st.st_mode & 07777) == 0755);

	/* A symlinked sub-directory is refused and named. */
	snprintf(path, sizeof(path), "%s/failed", spool);
	CHECK(rmdir(path) == 0);
	CHECK(symlink("/tmp", path) == 0);
	CHECK_INT(spool_setup(spool, geteuid(), getegid(), err, sizeof(err)), -1);
	CHECK(strstr(err, path) != NULL && strstr(err, "symlink") != NULL);
	unlink(path);
	CHECK_INT(spool_setup(spool, geteuid(), getegid(), err, sizeof(err)), 0);
	CHECK(lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

int main(void)
{
	char tmpl[] = "/tmp/test_drop.XXXXXX", err[512];

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(spool, sizeof(spool), "%s/spool", tmpl);
	snprintf(tmpdir, sizeof(tmpdir), "%s/incoming/tmp", spool);
	snprintf(newdir, sizeof(newdir), "%s/incoming/new", spool);
	CHECK_INT(spool_setup(spool, geteuid(), getegid(), err, sizeof(err)), 0);
	newfd = open(newdir, O_RDONLY | O_DIRECTORY);
	CHECK(newfd != -1);

	test_path();
	test_setup();
	test_commit_small();
	test_commit_large();
	test_second_pass_and_abort();
	test_create_errors();
	test_create_not_setgid();
	test_pickup_good();
	test_pickup_hostile();
	test_pickup_header_limit();
	test_pickup_malformed();
	test_pickup_half_written();

	close(newfd);
	empty_dir(newdir);
	empty_dir(tmpdir);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpl);
	}
	return check_summary("test_drop");
}
