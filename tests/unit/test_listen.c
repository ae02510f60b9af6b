/*
 * Unit tests of the SMTP listener's pure parts: the listen keys, the
 * listen_allow match, the envelope "client" line, listen_auth_file with
 * crypt(3) hashes, SASL PLAIN decoding, and the DATA reader (end marker,
 * dot-unstuffing, smuggling) over a socket pair.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"
#include "conf.h"
#include "spool_envelope.h"
#include "listen_auth.h"
#include "listen_conn.h"
#include "listen_data.h"
#include "listen_smtp.h"
#include "net.h"
#include "util.h"

static char dir[] = "/tmp/nr-test-listen.XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		fchmod(fd, mode);
		close(fd);
	}
}

static int load(const char *text, struct conf *c, char *err, size_t errlen)
{
	char path[128];

	snprintf(path, sizeof path, "%s/relay.conf", dir);
	write_file(path, text, 0644);
	memset(c, 0, sizeof(*c));
	return conf_load(path, true, c, err, errlen);
}

static void test_keys(void)
{
	struct conf c;
	char err[CONF_ERR_MAX];
	unsigned char a[16];

	CHECK(load("smarthost = h.example:587\n", &c, err, sizeof err) == 0);
	CHECK_INT(c.nlistens, 0);
	CHECK_INT(c.listen_max_rcpts, 100);
	CHECK_INT(c.nlisten_allow, 2);
	inet_pton(AF_INET, "127.1.2.3", a);
	CHECK(conf_net_match(&c.listen_allow[0], AF_INET, a));
	inet_pton(AF_INET6, "::1", a);
	CHECK(conf_net_match(&c.listen_allow[1], AF_INET6, a));
	conf_free(&c);

	CHECK(load("listen = 127.0.0.1:2525\nlisten = [::]:25\n"
	    "listen_allow = 10.0.0.0/8 192.168.1.0/25, 2001:db8::/32\nlisten_max_rcpts = 7\n", &c,
	    err, sizeof err) == 0);
	CHECK_INT(c.nlistens, 2);
	CHECK_STR(c.listens[0].host, "127.0.0.1");
	CHECK_INT(c.listens[0].port, 2525);
	CHECK_STR(c.listens[1].host, "::");
	CHECK_INT(c.listens[1].port, 25);
	CHECK_INT(c.nlisten_allow, 3);
	CHECK_INT(c.listen_max_rcpts, 7);
	inet_pton(AF_INET, "10.200.0.1", a);
	CHECK(conf_net_match(&c.listen_allow[0], AF_INET, a));
	CHECK(!conf_net_match(&c.listen_allow[1], AF_INET, a));
	inet_pton(AF_INET, "192.168.1.127", a);
	CHECK(conf_net_match(&c.listen_allow[1], AF_INET, a));
	inet_pton(AF_INET, "192.168.1.128", a);
	CHECK(!conf_net_match(&c.listen_allow[1], AF_INET, a));
	inet_pton(AF_INET6, "2001:db8:ffff::1", a);
	CHECK(conf_net_match(&c.listen_allow[2], AF_INET6, a));
	CHECK(!conf_net_match(&c.listen_allow[0], AF_INET6, a));
	conf_free(&c);

	CHECK(load("listen = mail.example:25\n", &c, err, sizeof err) == -1);
	CHECK(strstr(err, "relay.conf:1: bad value") != NULL);
	CHECK(load("listen = 127.0.0.1:0\n", &c, err, sizeof err) == -1);
	CHECK(load("listen = 127.0.0.1:65536\n", &c, err, sizeof err) == -1);
	CHECK(load("listen = [::1]\n", &c, err, sizeof err) == -1);
	CHECK(load("listen_allow = \n", &c, err, sizeof err) == -1);
	CHECK(load("listen_allow = 10.0.0.0/x\n", &c, err, sizeof err) == -1);
	CHECK(load("listen_allow = ::1/129\n", &c, err, sizeof err) == -1);
	CHECK(load("listen_allow = 10.0.0.0/8\nlisten_allow = ::1\n", &c, err, sizeof err) == -1);
	CHECK(strstr(err, "duplicate key listen_allow") != NULL);
	CHECK(load("listen_max_rcpts = 10001\n", &c, err, sizeof err) == -1);
	CHECK(load("listen_tls_key = /k\n", &c, err, sizeof err) == -1);
	CHECK(strstr(err, "listen_tls_key is set without listen_tls_cert") != NULL);
}

static void test_client_line(void)
{
	struct envelope e;
	struct buf b;
	char err[256];

	CHECK(envelope_helo_ok("mail.example.org"));
	CHECK(envelope_helo_ok("[192.0.2.1]"));
	CHECK(envelope_helo_ok("[IPv6:2001:db8::1]"));
	CHECK(!envelope_helo_ok(""));
	CHECK(!envelope_helo_ok("a b"));
	CHECK(!envelope_helo_ok("x(y)"));
	CHECK(!envelope_helo_ok("semi;colon"));
	CHECK(envelope_client_ok("ESMTPSA", "::1", "h"));
	CHECK(!envelope_client_ok("SMTP", "127.0.0.1", "h"));
	CHECK(!envelope_client_ok("ESMTP", "localhost", "h"));

	envelope_init(&e);
	CHECK(envelope_parse_line(&e, "sender <a@x.org>", 16, err, sizeof err) == 0);
	CHECK(envelope_parse_line(&e, "rcpt <b@x.org>", 14, err, sizeof err) == 0);
	CHECK(envelope_parse_line(&e, "client ESMTPS 192.0.2.7 relay.example", 37, err,
	    sizeof err) == 0);
	CHECK_STR(e.client_proto, "ESMTPS");
	CHECK_STR(e.client_ip, "192.0.2.7");
	CHECK_STR(e.client_helo, "relay.example");
	CHECK(envelope_parse_line(&e, "client ESMTP 192.0.2.7 x", 24, err, sizeof err) == -1);
	buf_init(&b, 4096);
	CHECK(envelope_write(&b, &e) == 0);
	buf_appends(&b, "");
	CHECK(b.data != NULL && strstr(b.data, "client ESMTPS 192.0.2.7 relay.example\n") != NULL);
	buf_free(&b);
	envelope_free(&e);

	envelope_init(&e);
	CHECK(envelope_parse_line(&e, "client ESMTP 192.0.2.7", 22, err, sizeof err) == -1);
	CHECK(envelope_parse_line(&e, "client ESMTP 999.0.2.7 h", 24, err, sizeof err) == -1);
	CHECK(envelope_parse_line(&e, "client ESMTP 1.2.3.4 h;x", 24, err, sizeof err) == -1);
	envelope_free(&e);
}

static void test_users(void)
{
	char path[128], err[512], text[512];
	struct listen_users *u;
	char *user, *pass, *b64;

	snprintf(path, sizeof path, "%s/users", dir);
	/* openssl passwd -6 -salt saltsalt 'alice secret' */
	snprintf(text, sizeof text, "# comment\n\nalice:%s\n  bob:$5$wrongwrong$abcdefghijklmnop\n",
	    "$6$saltsalt$liBX1CUvppcgiN/QaamvT8YfFo/FzcXy.ikG/qgkgWBUF7cjTF.JYJscLmKJTKFx5"
	    "3uxMmchfDkEKQnSNsNCB0");
	write_file(path, text, 0640);
	u = listen_users_load(path, err, sizeof err);
	CHECK(u != NULL);
	CHECK_INT(listen_users_count(u), 2);
	CHECK(listen_users_check(u, "alice", "alice secret"));
	CHECK(!listen_users_check(u, "alice", "alice secreT"));
	CHECK(!listen_users_check(u, "alice", ""));
	CHECK(!listen_users_check(u, "bob", "anything"));
	CHECK(!listen_users_check(u, "carol", "alice secret"));
	listen_users_free(u);

	write_file(path, "alice:$6$x$y\nnot a line\n", 0640);
	CHECK(listen_users_load(path, err, sizeof err) == NULL);
	CHECK(strstr(err, "users:1: bad hash") != NULL);
	write_file(path, "alice:$6$saltsalt$abcdefghij\nalice:$6$saltsalt$abcdefghij\n", 0640);
	CHECK(listen_users_load(path, err, sizeof err) == NULL);
	CHECK(strstr(err, "users:2: user listed twice") != NULL);
	write_file(path, "alice:$6$saltsalt$abcdefghij\n", 0666);
	CHECK(listen_users_load(path, err, sizeof err) == NULL);
	CHECK(strstr(err, "writable by group or others") != NULL);

	b64 = auth_b64_encode("\0alice\0pw", 9);
	CHECK(listen_sasl_plain(b64, &user, &pass) == 0);
	CHECK_STR(user, "alice");
	CHECK_STR(pass, "pw");
	free(user);
	auth_free(pass);
	free(b64);
	b64 = auth_b64_encode("alice\0alice\0pw", 14);
	CHECK(listen_sasl_plain(b64, &user, &pass) == 0);
	free(user);
	auth_free(pass);
	free(b64);
	b64 = auth_b64_encode("admin\0alice\0pw", 14);
	CHECK(listen_sasl_plain(b64, &user, &pass) == -1);
	free(b64);
	b64 = auth_b64_encode("\0alice", 6);
	CHECK(listen_sasl_plain(b64, &user, &pass) == -1);
	free(b64);
	CHECK(listen_sasl_plain("!!!", &user, &pass) == -1);
}

/* Feed `in` as a client would, read DATA, return what was kept and what
 * is left in the input. */
static enum ld_result data_of(const char *in, size_t inlen, char *out, size_t outlen,
    size_t *got, char *rest, size_t restlen)
{
	int sv[2], fd;
	struct lconn *c;
	enum lc_status st;
	enum ld_result r;
	const char *p;
	size_t avail;
	ssize_t n;
	int werr;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	if (write(sv[1], in, inlen) < 0)
		perror("write");
	shutdown(sv[1], SHUT_WR);
	fd = data_tempfile(dir);
	c = conn_new(sv[0], NULL);
	r = data_copy(c, fd, 0, 2, net_deadline(5), &st, &werr);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, outlen - 1);
	*got = n > 0 ? (size_t)n : 0;
	out[*got] = '\0';
	p = conn_peek(c, &avail);
	snprintf(rest, restlen, "%.*s", (int)avail, p);
	close(fd);
	conn_free(c);
	close(sv[1]);
	return r;
}

static void test_data(void)
{
	char out[1024], rest[256];
	size_t got;

	CHECK(data_of("a\r\n.\r\nQUIT\r\n", 12, out, sizeof out, &got, rest, sizeof rest) == LD_OK);
	CHECK_STR(out, "a\r\n");
	CHECK_STR(rest, "QUIT\r\n");
	/* The first line may be the end. */
	CHECK(data_of(".\r\n", 3, out, sizeof out, &got, rest, sizeof rest) == LD_OK);
	CHECK_STR(out, "");
	/* Unstuffing. */
	CHECK(data_of("..a\r\n...\r\n..\r\n.\r\n", 17, out, sizeof out, &got, rest,
	    sizeof rest) == LD_OK);
	CHECK_STR(out, ".a\r\n..\r\n.\r\n");
	/* Smuggling: none of these ends the message. */
	CHECK(data_of("a\n.\r\nMAIL\r\n.\r\n", 14, out, sizeof out, &got, rest, sizeof rest) ==
	    LD_OK);
	CHECK_STR(out, "a\n.\r\nMAIL\r\n");
	CHECK(data_of("a\r\n.\nMAIL\r\n.\r\n", 14, out, sizeof out, &got, rest, sizeof rest) ==
	    LD_OK);
	CHECK_STR(out, "a\r\n.\nMAIL\r\n");
	CHECK(data_of("a\n.\nb\r\n.\r\n", 10, out, sizeof out, &got, rest, sizeof rest) == LD_OK);
	CHECK_STR(out, "a\n.\nb\r\n");
	CHECK(data_of("a\r.\r\nb\r\n.\r\n", 11, out, sizeof out, &got, rest, sizeof rest) == LD_OK);
	CHECK_STR(out, "a\r.\r\nb\r\n");
	/* "\n.\r\n.\r\n": the kept dot line ends in CRLF, so the next one ends. */
	CHECK(data_of("a\n.\r\n.\r\nX", 9, out, sizeof out, &got, rest, sizeof rest) == LD_OK);
	CHECK_STR(out, "a\n.\r\n");
	CHECK_STR(rest, "X");
	/* No end marker at all: the connection's end, nothing kept as done. */
	CHECK(data_of("a\r\nb\r\n", 6, out, sizeof out, &got, rest, sizeof rest) == LD_CONN);
	CHECK(data_of("a\r\n.", 4, out, sizeof out, &got, rest, sizeof rest) == LD_CONN);
	CHECK(data_of("a\r\n.\r", 5, out, sizeof out, &got, rest, sizeof rest) == LD_CONN);
}

/* The session itself over a socket pair, for a client NOT on loopback:
 * with listen_auth_file and no TLS, AUTH is never offered in clear. */
static void test_session_remote(void)
{
	char path[128], err[512], text[1024], reply[4096];
	struct listen_users *u;
	struct lsmtp_ctx x;
	struct conf c;
	size_t got = 0;
	ssize_t n;
	int sv[2];
	pid_t pid;

	snprintf(path, sizeof path, "%s/users", dir);
	write_file(path, "alice:$6$saltsalt$liBX1CUvppcgiN/QaamvT8YfFo/FzcXy.ikG/qgkgWBUF7cjTF."
	    "JYJscLmKJTKFx53uxMmchfDkEKQnSNsNCB0\n", 0640);
	snprintf(text, sizeof text, "spool = %s\nhostname = relay.test\nsmarthost = h:25\n"
	    "listen_auth_file = %s\n", dir, path);
	CHECK(load(text, &c, err, sizeof err) == 0);
	u = listen_users_load(path, err, sizeof err);
	CHECK(u != NULL);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pid = fork();
	if (pid == 0) {
		close(sv[1]);
		memset(&x, 0, sizeof x);
		x.c = &c;
		x.users = u;
		x.ip = "192.0.2.9";
		x.loopback = false;
		x.events = -1;
		listen_smtp_serve(&x, sv[0]);
		_exit(0);
	}
	close(sv[0]);
	snprintf(text, sizeof text, "EHLO remote.test\r\nAUTH PLAIN AGFsaWNlAGFsaWNlIHNlY3JldA==\r\n"
	    "MAIL FROM:<a@example.org>\r\nQUIT\r\n");
	if (write(sv[1], text, strlen(text)) < 0)
		perror("write");
	while (got < sizeof reply - 1 && (n = read(sv[1], reply + got, sizeof reply - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	close(sv[1]);
	waitpid(pid, NULL, 0);
	CHECK(strstr(reply, "250-relay.test\r\n") != NULL);
	CHECK(strstr(reply, "AUTH PLAIN") == NULL);
	CHECK(strstr(reply, "\r\n538 5.7.11 ") != NULL);
	CHECK(strstr(reply, "\r\n530 5.7.0 Authentication required") != NULL);
	CHECK(strstr(reply, "\r\n221 2.0.0 Bye") != NULL);
	listen_users_free(u);
	conf_free(&c);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_keys();
	test_client_line();
	test_users();
	test_data();
	test_session_remote();
	{
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			perror("rm");
	}
	return check_summary("test_listen");
}
