/* Unit tests of spool/sm_submit.h: the whole submission into a scratch spool. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "check.h"
#include "sm_submit.h"
#include "util.h"

static char spool[64];

static void make_spool(void)
{
	char p[128];

	snprintf(spool, sizeof(spool), "/tmp/test_submit.XXXXXX");
	if (mkdtemp(spool) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(p, sizeof(p), "%s/incoming", spool);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/incoming/tmp", spool);
	mkdir(p, 0733);
	snprintf(p, sizeof(p), "%s/incoming/new", spool);
	mkdir(p, 0733);
}

/* Number of entries in incoming/SUB; removes them when clean. */
static int count(const char *sub, bool clean)
{
	char p[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/incoming/%s", spool, sub);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (clean) {
			char f[600];
			snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
			unlink(f);
		}
	}
	closedir(d);
	return n;
}

static void remove_spool(void)
{
	char p[128];

	count("tmp", true);
	count("new", true);
	snprintf(p, sizeof(p), "%s/incoming/tmp", spool);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/incoming/new", spool);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/incoming", spool);
	rmdir(p);
	rmdir(spool);
}

static struct conf conf;

/* A writable copy, freed at the end (sanitizer builds check for leaks). */
static char *copies[64];
static size_t ncopies;

static char *S(const char *s)
{
	char *c = xstrdup(s);

	if (ncopies < NR_ARRAY_LEN(copies))
		copies[ncopies++] = c;
	return c;
}

static void init_req(struct submit_req *r, char **rcpts, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->conf = &conf;
	r->rcpts = rcpts;
	r->nrcpts = n;
	r->uid = 1234;
	r->login = "alice";
	r->gecos_name = "Alice Liddell";
	r->ignore_dots = true;
}

/* Submit s; on success return the drop file's text (allocated). */
static char *submit(const struct submit_req *r, const char *s, size_t n, int *rc, char *err,
    size_t errlen)
{
	int fd = memfd_create("msg", 0);
	char id[17], path[256];
	char *text = NULL;

	io_write_all(fd, s, n);
	lseek(fd, 0, SEEK_SET);
	*rc = submit_message(r, fd, id, err, errlen);
	close(fd);
	if (*rc != 0)
		return NULL;
	CHECK(queue_id_valid(id));
	snprintf(path, sizeof(path), "%s/incoming/new/%s", spool, id);
	if ((fd = open(path, O_RDONLY)) >= 0) {
		struct stat st;

		fstat(fd, &st);
		CHECK_INT(st.st_mode & 07777, 0640);
		text = xcalloc(1, (size_t)st.st_size + 1);
		io_read_full(fd, text, (size_t)st.st_size);
		close(fd);
	}
	CHECK(text != NULL);
	return text;
}

static const char *body_of(const char *text)
{
	const char *p = text != NULL ? strstr(text, "\n\n") : NULL;

	return p != NULL ? p + 2 : "";
}

static void test_basic(void)
{
	char *rcpts[] = { S("bob@x.org, root"), S("Carol <carol>") };
	struct submit_req r;
	char err[512], *t;
	int rc;

	init_req(&r, rcpts, 2);
	t = submit(&r, "Subject: hi\r\n\r\nbody\r\n", 21, &rc, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(t != NULL && strncmp(t, "NULLRELAY-DROP 1\nlength 00000000000000000", 41) == 0);
	CHECK(t != NULL && strstr(t, "\nsender <alice@example.org>\n") != NULL);
	CHECK(t != NULL && strstr(t, "\nrcpt <bob@x.org>\nrcpt <admin@example.net>\norcpt <root>\n") != NULL);
	CHECK(t != NULL && strstr(t, "carol") == NULL);	/* local too: a duplicate */
	CHECK(t != NULL && strstr(t, "\nlocal-sender\n") != NULL);
	CHECK(t != NULL && strstr(t, "\nFrom: Alice Liddell <alice@example.org>\n") != NULL);
	CHECK(t != NULL && strstr(t, "\nMessage-ID: <") != NULL);
	CHECK(t != NULL && strstr(t, "@host.example.org>\nDate: ") != NULL);
	CHECK_STR(body_of(strstr(t != NULL ? t : "", "Subject:")), "body\n");
	free(t);
	CHECK_INT(count("new", true), 1);
	CHECK_INT(count("tmp", false), 0);
}

static void test_sender(void)
{
	char *rcpts[] = { S("bob@x.org") };
	struct submit_req r;
	char err[512], *t;
	int rc;

	init_req(&r, rcpts, 1);
	r.sender = "<>";
	t = submit(&r, "x\n", 2, &rc, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(t != NULL && strstr(t, "\nsender <>\n") != NULL);
	CHECK(t != NULL && strstr(t, "local-sender") == NULL);
	free(t);

	r.sender = "www@shop.example.com";
	r.fullname = "Web Shop";
	t = submit(&r, "x\n", 2, &rc, err, sizeof(err));
	CHECK(t != NULL && strstr(t, "\nsender <www@shop.example.com>\n") != NULL);
	CHECK(t != NULL && strstr(t, "\nFrom: Web Shop <www@shop.example.com>\n") != NULL);
	free(t);

	/* A bare -f is local: from_rewrite applies. */
	conf.from_rewrite = S("alerts@example.org");
	r.sender = "cron";
	r.fullname = NULL;
	t = submit(&r, "From: cron\n\nx\n", 14, &rc, err, sizeof(err));
	CHECK(t != NULL && strstr(t, "\nsender <alerts@example.org>\n") != NULL);
	CHECK(t != NULL && strstr(t, "\nlocal-sender\n") != NULL);
	CHECK(t != NULL && strstr(t, "\nFrom: alerts@example.org\n") != NULL);
	free(t);
	conf.from_rewrite = NULL;

	r.sender = "a\rb@x.org";
	t = submit(&r, "x\n", 2, &rc, err, sizeof(err));
	CHECK_INT(rc, EX_DATAERR);
	free(t);
	count("new", true);
}

static void test_extract(void)
{
	char *rcpts[] = { S("extra@y.org"), S("TO@X.ORG") };
	const char msg[] = "To: to@x.org, root\nCc: cc@x.org\nBcc: hidden@x.org,\n  also@x.org\n"
			   "Subject: s\n\nbody\n";
	struct submit_req r;
	char err[512], *t;
	int rc;

	init_req(&r, rcpts, 2);
	r.extract_rcpts = true;
	t = submit(&r, msg, sizeof(msg) - 1, &rc, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(t != NULL && strstr(t, "rcpt <extra@y.org>\nrcpt <TO@X.ORG>\nrcpt <to@x.org>\nrcpt <admin@example.net>\n"
				     "orcpt <root>\nrcpt <cc@x.org>\nrcpt <hidden@x.org>\n"
				     "rcpt <also@x.org>\n") != NULL);
	CHECK(t != NULL && strstr(t, "Bcc") == NULL && strstr(t, "  also") == NULL);
	CHECK(t != NULL && strstr(t, "\nTo: to@x.org, root@example.org\n") != NULL);
	free(t);
	count("new", true);

	init_req(&r, NULL, 0);
	r.extract_rcpts = true;
	t = submit(&r, "Subject: s\n\nb\n", 14, &rc, err, sizeof(err));
	CHECK_INT(rc, EX_USAGE);
	CHECK_STR(err, "no recipients");
	CHECK_INT(count("new", false) + count("tmp", false), 0);
}

static void test_reencode(void)
{
	char *rcpts[] = { S("bob@x.org") };
	struct submit_req r;
	char err[512], *t, big[3000];
	int rc;

	init_req(&r, rcpts, 1);
	t = submit(&r, "Subject: s\n\nbare\rCR\n", 20, &rc, err, sizeof(err));
	CHECK_INT(rc, 0);
	CHECK(t != NULL && strstr(t, "\nContent-Transfer-Encoding: quoted-printable\n") != NULL);
	CHECK(t != NULL && strstr(t, "\nContent-Type: text/plain; charset=us-ascii\n") != NULL);
	CHECK_STR(body_of(strstr(t != NULL ? t : "", "Subject:")), "bare=0DCR\n");
	free(t);
	CHECK_INT(count("new", true), 1);
	CHECK_INT(count("tmp", false), 0);

	memcpy(big, "Content-Type: multipart/mixed; boundary=b\n\n", 43);
	memset(big + 43, 'z', 1500);
	big[1543] = '\n';
	t = submit(&r, big, 1544, &rc, err, sizeof(err));
	CHECK_INT(rc, EX_DATAERR);
	CHECK(strstr(err, "line 3 is longer than 998 octets inside a multipart") != NULL);
	CHECK_INT(count("new", false) + count("tmp", false), 0);

	conf.max_message_size = 100;
	memcpy(big, "Subject: s\n\n", 12);
	memset(big + 12, 'z', 1500);
	t = submit(&r, big, 1512, &rc, err, sizeof(err));
	CHECK_INT(rc, EX_NOPERM);
	CHECK_STR(err, "message exceeds max_message_size (100 bytes)");
	CHECK_INT(count("new", false) + count("tmp", false), 0);
	conf.max_message_size = 0;
}

static void test_usage(void)
{
	char *rcpts[] = { S("bob@x.org") };
	char *bad[] = { S("bob@x.org, <a<b>") };
	struct submit_req r;
	char err[512];
	int rc, fd;

	init_req(&r, rcpts, 1);
	r.envid = "has+plus";
	submit(&r, "x\n", 2, &rc, err, sizeof(err));
	CHECK_INT(rc, EX_USAGE);
	r.envid = "ok-envid.1";
	free(submit(&r, "x\n", 2, &rc, err, sizeof(err)));
	CHECK_INT(rc, 0);
	count("new", true);

	init_req(&r, bad, 1);
	submit(&r, "x\n", 2, &rc, err, sizeof(err));
	CHECK_INT(rc, EX_DATAERR);

	/* A read error on the input: 66, nothing left. */
	init_req(&r, rcpts, 1);
	fd = open("/", O_RDONLY | O_DIRECTORY);
	{
		char id[17];
		CHECK_INT(submit_message(&r, fd, id, err, sizeof(err)), EX_NOINPUT);
	}
	close(fd);
	CHECK_INT(count("new", false) + count("tmp", false), 0);

	conf.spool = S("/nonexistent/spool");
	submit(&r, "x\n", 2, &rc, err, sizeof(err));
	CHECK_INT(rc, EX_CANTCREAT);
	conf.spool = spool;
}

int main(void)
{
	make_spool();
	memset(&conf, 0, sizeof(conf));
	conf.spool = spool;
	conf.hostname = S("host.example.org");
	conf.default_domain = S("example.org");
	conf.admin_addr = S("admin@example.net");
	test_basic();
	test_sender();
	test_extract();
	test_reencode();
	test_usage();
	remove_spool();
	while (ncopies > 0)
		free(copies[--ncopies]);
	return check_summary("submit");
}
