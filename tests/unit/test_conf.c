/* Unit tests of the configuration parser (spool/conf.h, SPEC §2). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "conf_secret.h"

static char tmpdir[] = "/tmp/nr-test-conf.XXXXXX";
static char cfpath[256];
static char err[CONF_ERR_MAX];
static struct conf cf;

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

/* Load text as a configuration file; cf holds the result until the next call. */
static int load(const char *text)
{
	int rc;

	conf_free(&cf);
	write_file(cfpath, text, 0644);
	err[0] = '\0';
	rc = conf_load(cfpath, true, &cf, err, sizeof err);
	return rc;
}

/* Check that text loads; print the error if it does not. */
static void ok_at(const char *text, const char *file, int line)
{
	int rc = load(text);

	if (rc != 0)
		fprintf(stderr, "  unexpected error: %s\n", err);
	check_true(rc == 0, file, line, text);
}

/* Check that text fails with "PATH:LINE: " (LINE 0: "PATH: ") and that the
 * message contains want. */
static void bad_at(const char *text, unsigned errline, const char *want, const char *file,
    int line)
{
	char prefix[300];
	int rc = load(text);
	bool good;

	if (errline != 0)
		snprintf(prefix, sizeof prefix, "%s:%u: ", cfpath, errline);
	else
		snprintf(prefix, sizeof prefix, "%s: ", cfpath);
	good = rc == -1 && strncmp(err, prefix, strlen(prefix)) == 0 &&
	    strstr(err, want) != NULL;
	if (!good)
		fprintf(stderr, "  rc %d, err \"%s\"; want \"%s...%s\"\n", rc, err, prefix, want);
	check_true(good, file, line, text);
}

#define OK(text) ok_at((text), __FILE__, __LINE__)
#define BAD(text, errline, want) bad_at((text), (errline), (want), __FILE__, __LINE__)
#define WITH_AUTH "auth_user = u\nauth_password_file = /etc/nullrelay/secret\n"

static void test_durations(void)
{
	time_t t = -1;

	CHECK(conf_parse_duration("90", &t) == 0 && t == 90);
	CHECK(conf_parse_duration("30s", &t) == 0 && t == 30);
	CHECK(conf_parse_duration("5m", &t) == 0 && t == 300);
	CHECK(conf_parse_duration("4h", &t) == 0 && t == 14400);
	CHECK(conf_parse_duration("5d", &t) == 0 && t == 432000);
	CHECK(conf_parse_duration("0", &t) == 0 && t == 0);
	CHECK(conf_parse_duration("3650d", &t) == 0 && t == 3650L * 86400);
	t = 7;
	CHECK(conf_parse_duration("", &t) == -1);
	CHECK(conf_parse_duration("-5", &t) == -1);
	CHECK(conf_parse_duration("+5", &t) == -1);
	CHECK(conf_parse_duration(" 5", &t) == -1);
	CHECK(conf_parse_duration("5 m", &t) == -1);
	CHECK(conf_parse_duration("5x", &t) == -1);
	CHECK(conf_parse_duration("5mm", &t) == -1);
	CHECK(conf_parse_duration("5M", &t) == -1);
	CHECK(conf_parse_duration("m", &t) == -1);
	CHECK(conf_parse_duration("1.5h", &t) == -1);
	CHECK(conf_parse_duration("0x10", &t) == -1);
	CHECK(conf_parse_duration("3651d", &t) == -1);
	CHECK(conf_parse_duration("99999999999999999999", &t) == -1);
	CHECK(conf_parse_duration("9999999999999999h", &t) == -1);
	CHECK_INT(t, 7);	/* untouched by failures */
}

static void test_sizes(void)
{
	uint64_t n = 1;

	CHECK(conf_parse_size("1000", &n) == 0 && n == 1000);
	CHECK(conf_parse_size("0", &n) == 0 && n == 0);
	CHECK(conf_parse_size("10k", &n) == 0 && n == 10240);
	CHECK(conf_parse_size("10K", &n) == 0 && n == 10240);
	CHECK(conf_parse_size("35M", &n) == 0 && n == 35ULL * 1024 * 1024);
	CHECK(conf_parse_size("1G", &n) == 0 && n == 1ULL << 30);
	CHECK(conf_parse_size("1024G", &n) == 0 && n == 1ULL << 40);
	n = 5;
	CHECK(conf_parse_size("", &n) == -1);
	CHECK(conf_parse_size("-1", &n) == -1);
	CHECK(conf_parse_size("-1k", &n) == -1);
	CHECK(conf_parse_size("10x", &n) == -1);
	CHECK(conf_parse_size("10kb", &n) == -1);
	CHECK(conf_parse_size("10 k", &n) == -1);
	CHECK(conf_parse_size("k", &n) == -1);
	CHECK(conf_parse_size("1025G", &n) == -1);
	CHECK(conf_parse_size("18446744073709551616", &n) == -1);
	CHECK(conf_parse_size("17179869184G", &n) == -1);
	CHECK(conf_parse_size("18446744073709551615", &n) == -1);
	CHECK_INT(n, 5);
}

static void test_defaults(void)
{
	char mailname[256] = "";
	FILE *f;

	CHECK(conf_load("/nonexistent/relay.conf", false, &cf, err, sizeof err) == 0);
	CHECK(!cf.file_found);
	CHECK_STR(cf.path, "/nonexistent/relay.conf");
	CHECK_STR(cf.spool, "/var/spool/nullrelay");
	CHECK_STR(cf.user, "nullrelay");
	CHECK(cf.hostname != NULL && cf.hostname[0] != '\0');
	CHECK_STR(cf.default_domain, cf.hostname);
	CHECK_STR(cf.helo_name, cf.hostname);
	CHECK(cf.admin_addr == NULL && cf.from_rewrite == NULL);
	CHECK_INT(cf.nsmarthosts, 0);
	CHECK_INT(cf.tls, TLS_STARTTLS);
	CHECK(cf.tls_verify);
	CHECK(!cf.has_fingerprint && cf.tls_ca_file == NULL && cf.tls_client_cert == NULL);
	CHECK(cf.auth_user == NULL && cf.auth_password_file == NULL);
	CHECK_INT(cf.nauth_mechanisms, 2);
	CHECK_INT(cf.auth_mechanisms[0], AUTH_PLAIN);
	CHECK_INT(cf.auth_mechanisms[1], AUTH_LOGIN);
	CHECK(cf.max_message_size == 35ULL * 1024 * 1024);
	CHECK_INT(cf.queue_lifetime, 5 * 86400);
	CHECK_INT(cf.retry_min, 60);
	CHECK_INT(cf.retry_max, 3600);
	CHECK_INT(cf.delay_warning, 4 * 3600);
	CHECK_INT(cf.concurrency, 4);
	CHECK_INT(cf.rate_limit_count, 0);
	CHECK(cf.metrics_file == NULL);
	CHECK_INT(cf.bounce_local, BOUNCE_LOCAL_MBOX);
	CHECK_INT(cf.timeout_connect, 30);
	CHECK_INT(cf.timeout_greeting, 300);
	CHECK_INT(cf.timeout_command, 300);
	CHECK_INT(cf.timeout_data_block, 180);
	CHECK_INT(cf.timeout_final_dot, 600);
	CHECK_INT(cf.rescan_interval, 60);
	if ((f = fopen("/etc/mailname", "r")) != NULL) {
		if (fgets(mailname, sizeof mailname, f) != NULL)
			mailname[strcspn(mailname, " \t\r\n")] = '\0';
		fclose(f);
		if (mailname[0] != '\0')
			CHECK_STR(cf.hostname, mailname);
	}
	conf_free(&cf);
	conf_free(&cf);	/* harmless twice */

	/* A missing -C / NULLRELAY_CONF file is an error naming it. */
	CHECK(conf_load("/nonexistent/relay.conf", true, &cf, err, sizeof err) == -1);
	CHECK(strncmp(err, "/nonexistent/relay.conf: ", 25) == 0);
	CHECK(strstr(err, "No such file") != NULL);
	/* A directory is not readable as a configuration. */
	CHECK(conf_load(tmpdir, false, &cf, err, sizeof err) == -1);
	CHECK(strstr(err, tmpdir) != NULL);
	/* An unreadable file: root reads anything, so only as another user. */
	if (geteuid() != 0) {
		char p[300];

		snprintf(p, sizeof p, "%s/unreadable.conf", tmpdir);
		write_file(p, "spool = /x\n", 0000);
		CHECK(conf_load(p, false, &cf, err, sizeof err) == -1);
		CHECK(strncmp(err, p, strlen(p)) == 0 && strstr(err, "Permission denied"));
		unlink(p);
	} else
		printf("SKIP: unreadable config file (root reads every file)\n");

	/* An empty file and a comment-only file are all defaults. */
	OK("");
	CHECK(cf.file_found);
	OK("# nothing\n\n   \n\t# indented\n");
	CHECK_STR(cf.spool, "/var/spool/nullrelay");
}

static void test_pick_path(void)
{
	bool must = false;

	unsetenv("NULLRELAY_CONF");
	CHECK_STR(conf_pick_path("/x/y.conf", &must), "/x/y.conf");
	CHECK(must);
	CHECK_STR(conf_pick_path(NULL, &must), CONF_DEFAULT_PATH);
	CHECK(!must);
	setenv("NULLRELAY_CONF", "/env/relay.conf", 1);
	CHECK_STR(conf_pick_path(NULL, &must), "/env/relay.conf");
	CHECK(must);
	CHECK_STR(conf_pick_path("/x/y.conf", &must), "/x/y.conf");	/* -C wins */
	CHECK(must);
	setenv("NULLRELAY_CONF", "", 1);
	CHECK_STR(conf_pick_path(NULL, &must), CONF_DEFAULT_PATH);
	CHECK(!must);
	unsetenv("NULLRELAY_CONF");
}

static void test_syntax(void)
{
	OK("spool = /a\n");
	CHECK_STR(cf.spool, "/a");
	OK("   spool=/b   \n");
	CHECK_STR(cf.spool, "/b");
	OK("\tspool\t=\t/c\t# trailing comment\n");
	CHECK_STR(cf.spool, "/c");
	OK("spool = /d # comment # more\n");
	CHECK_STR(cf.spool, "/d");
	OK("spool = /e\r\nuser = bob\r\n");	/* CRLF line ends */
	CHECK_STR(cf.spool, "/e");
	CHECK_STR(cf.user, "bob");
	OK("spool = /f");	/* no final newline */
	CHECK_STR(cf.spool, "/f");
	OK("auth_user = u\nauth_password_command = pass show mail#1 # comment\n");
	CHECK_STR(cf.auth_password_command, "pass show mail#1");
	OK("auth_user = first.last@example.org\nauth_password_command = a = b\n");
	CHECK_STR(cf.auth_password_command, "a = b");
	CHECK_STR(cf.auth_user, "first.last@example.org");

	BAD("# c\n\nsmarthost mail.example.org\n", 3, "missing \"=\"");
	BAD("\n\n\n\n\n\nbogus = 1\n", 7, "unknown key \"bogus\"");
	BAD("Spool = /x\n", 1, "unknown key \"Spool\"");
	BAD("smart host = x\n", 1, "unknown key \"smart host\"");
	BAD("= /x\n", 1, "missing key");
	BAD("spool =\n", 1, "empty value for spool");
	BAD("spool =    # only a comment\n", 1, "empty value for spool");
	BAD("user = a\n# x\nuser = b\n", 3, "duplicate key user (first set on line 1)");
	BAD("tls = none\ntls = none\n", 2, "duplicate key tls");
	{
		char big[6000];

		memset(big, 'a', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		memcpy(big, "spool = /", 9);
		BAD(big, 1, "line too long");
	}
	{
		static const char nul[] = "spool = /a\nuser = x\0y\n";

		conf_free(&cf);
		{
			int fd = open(cfpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			CHECK(write(fd, nul, sizeof nul - 1) == (ssize_t)(sizeof nul - 1));
			close(fd);
		}
		CHECK(conf_load(cfpath, true, &cf, err, sizeof err) == -1);
		CHECK(strstr(err, ":2: NUL byte") != NULL);
	}
	/* The bad value is named, control characters shown safely. */
	BAD("concurrency = 99\n", 1, "bad value \"99\" for concurrency");
	BAD("admin_addr = a\rb@x\n", 1, "bad value \"a?b@x\" for admin_addr");
}

static void test_string_keys(void)
{
	OK("spool = /srv/spool\nuser = mail-relay\nhostname = host.example.org\n"
	   "default_domain = example.org\nadmin_addr = root@example.org\n"
	   "from_rewrite = alerts@example.org\nhelo_name = [192.0.2.1]\n"
	   "metrics_file = /var/lib/node/nullrelay.prom\n");
	CHECK_STR(cf.spool, "/srv/spool");
	CHECK_STR(cf.user, "mail-relay");
	CHECK_STR(cf.hostname, "host.example.org");
	CHECK_STR(cf.default_domain, "example.org");
	CHECK_STR(cf.admin_addr, "root@example.org");
	CHECK_STR(cf.from_rewrite, "alerts@example.org");
	CHECK_STR(cf.helo_name, "[192.0.2.1]");
	CHECK_STR(cf.metrics_file, "/var/lib/node/nullrelay.prom");
	CHECK_INT(cf.bounce_local, BOUNCE_LOCAL_RELAY);	/* admin_addr set */
	OK("hostname = h.example.net\n");
	CHECK_STR(cf.default_domain, "h.example.net");	/* follows hostname */
	CHECK_STR(cf.helo_name, "h.example.net");
	OK("helo_name = [IPv6:2001:db8::1]\n");
	OK("admin_addr = ops@[192.0.2.7]\n");

	BAD("spool = var/spool\n", 1, "absolute path");
	BAD("metrics_file = m.prom\n", 1, "bad value \"m.prom\" for metrics_file");
	BAD("user = two words\n", 1, "for user");
	BAD("user = -x\n", 1, "for user");
	BAD("hostname = bad host\n", 1, "for hostname");
	BAD("hostname = a..b\n", 1, "for hostname");
	BAD("default_domain = ex!ample\n", 1, "for default_domain");
	BAD("helo_name = [nope]\n", 1, "for helo_name");
	BAD("admin_addr = root\n", 1, "bad value \"root\" for admin_addr");
	BAD("admin_addr = a b@example.org\n", 1, "for admin_addr");
	BAD("admin_addr = <a@example.org>\n", 1, "for admin_addr");
	BAD("admin_addr = a@\n", 1, "for admin_addr");
	BAD("admin_addr = @example.org\n", 1, "for admin_addr");
	BAD("from_rewrite = alerts\n", 1, "for from_rewrite");
	BAD("from_rewrite = a@b,c@d\n", 1, "for from_rewrite");
	BAD("tls_ca_file = ca.pem\n", 1, "for tls_ca_file");
	BAD("auth_user = a\tb\nauth_password_file = /s\n", 1, "control character");
}

static void test_smarthost(void)
{
	OK("smarthost = mail.example.org\n");
	CHECK_INT(cf.nsmarthosts, 1);
	CHECK_STR(cf.smarthosts[0].host, "mail.example.org");
	CHECK_INT(cf.smarthosts[0].port, 587);
	CHECK(!cf.smarthosts[0].port_given);

	OK("smarthost = a.example.org:25\nsmarthost = b.example.org\n"
	   "smarthost = [2001:db8::1]:2525\nsmarthost = [::1]\nsmarthost = 192.0.2.1:465\n");
	CHECK_INT(cf.nsmarthosts, 5);
	CHECK_STR(cf.smarthosts[0].host, "a.example.org");
	CHECK_INT(cf.smarthosts[0].port, 25);
	CHECK(cf.smarthosts[0].port_given);
	CHECK_STR(cf.smarthosts[1].host, "b.example.org");
	CHECK_INT(cf.smarthosts[1].port, 587);
	CHECK_STR(cf.smarthosts[2].host, "2001:db8::1");
	CHECK_INT(cf.smarthosts[2].port, 2525);
	CHECK_STR(cf.smarthosts[3].host, "::1");
	CHECK_INT(cf.smarthosts[3].port, 587);
	CHECK_STR(cf.smarthosts[4].host, "192.0.2.1");
	CHECK_INT(cf.smarthosts[4].port, 465);

	/* tls = smtps changes the default port, even when it comes later. */
	OK("smarthost = m.example.org\nsmarthost = n.example.org:2465\ntls = smtps\n");
	CHECK_INT(cf.smarthosts[0].port, 465);
	CHECK_INT(cf.smarthosts[1].port, 2465);
	OK("smarthost = m.example.org:65535\nsmarthost = n.example.org:1\n");

	BAD("smarthost = ::1\n", 1, "needs brackets");
	BAD("smarthost = 2001:db8::1:25\n", 1, "needs brackets");
	BAD("smarthost = m.example.org:0\n", 1, "port");
	BAD("smarthost = m.example.org:65536\n", 1, "port");
	BAD("smarthost = m.example.org:\n", 1, "port");
	BAD("smarthost = m.example.org:smtp\n", 1, "port");
	BAD("smarthost = m.example.org:+25\n", 1, "port");
	BAD("smarthost = [::1\n", 1, "missing ']'");
	BAD("smarthost = [::1]x\n", 1, "for smarthost");
	BAD("smarthost = [::1]:\n", 1, "port");
	BAD("smarthost = [mail.example.org]:25\n", 1, "IP address");
	BAD("smarthost = []\n", 1, "for smarthost");
	BAD("smarthost = mail example org\n", 1, "bad value \"mail example org\" for smarthost");
	BAD("smarthost = a\nsmarthost = b\nsmarthost = c\nsmarthost = d\nsmarthost = e\n"
	    "smarthost = f\nsmarthost = g\nsmarthost = h\nsmarthost = i\n", 9, "too many");
}

static void test_tls_keys(void)
{
	static const unsigned char want[32] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67,
		0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

	OK("tls = starttls\n");
	CHECK_INT(cf.tls, TLS_STARTTLS);
	OK("tls = smtps\n");
	CHECK_INT(cf.tls, TLS_SMTPS);
	OK("tls = none\n");
	CHECK_INT(cf.tls, TLS_NONE);
	BAD("tls = ssl\n", 1, "bad value \"ssl\" for tls");
	BAD("tls = yes\n", 1, "starttls, smtps or none");

	{
		static const char *const yes[] = { "yes", "true", "on", "1", "YES", "On" };
		static const char *const no[] = { "no", "false", "off", "0", "No", "FALSE" };
		char text[64];
		size_t i;

		for (i = 0; i < 6; i++) {
			snprintf(text, sizeof text, "tls_verify = %s\n", no[i]);
			OK(text);
			CHECK(!cf.tls_verify);
			snprintf(text, sizeof text, "tls_verify = %s\n", yes[i]);
			OK(text);
			CHECK(cf.tls_verify);
		}
	}
	BAD("tls_verify = maybe\n", 1, "bad value \"maybe\" for tls_verify");
	BAD("tls_verify = 2\n", 1, "for tls_verify");

	OK("tls_ca_file = /etc/ssl/ca.pem\n");
	CHECK_STR(cf.tls_ca_file, "/etc/ssl/ca.pem");

	OK("tls_fingerprint = sha256:0123456789abcdef0123456789abcdef"
	   "0123456789abcdef0123456789abcdef\n");
	CHECK(cf.has_fingerprint);
	CHECK_MEM(cf.tls_fingerprint, 32, want, 32);
	OK("tls_fingerprint = SHA256:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	   "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef\n");
	CHECK_MEM(cf.tls_fingerprint, 32, want, 32);
	BAD("tls_fingerprint = sha256:0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcde\n", 1, "64 hex digits");
	BAD("tls_fingerprint = sha256:0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0\n", 1, "64 hex digits");
	BAD("tls_fingerprint = 0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n", 1, "for tls_fingerprint");
	BAD("tls_fingerprint = sha1:0123456789abcdef0123456789abcdef01234567\n", 1,
	    "for tls_fingerprint");
	BAD("tls_fingerprint = sha256:g123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n", 1, "for tls_fingerprint");
	BAD("tls_fingerprint = sha256:\n", 1, "for tls_fingerprint");

	OK("tls_client_cert = /etc/c.pem\ntls_client_key = /etc/k.pem\n");
	CHECK_STR(cf.tls_client_cert, "/etc/c.pem");
	CHECK_STR(cf.tls_client_key, "/etc/k.pem");
}

static void test_auth_keys(void)
{
	OK(WITH_AUTH);
	CHECK_STR(cf.auth_user, "u");
	CHECK_STR(cf.auth_password_file, "/etc/nullrelay/secret");
	CHECK_INT(cf.nauth_mechanisms, 2);
	OK("auth_user = u\nauth_password_command = secret-tool lookup mail relay\n");
	CHECK_STR(cf.auth_password_command, "secret-tool lookup mail relay");
	OK("auth_user = u\nauth_token_command = /usr/bin/oauth2-token\n");
	CHECK_INT(cf.nauth_mechanisms, 2);
	CHECK_INT(cf.auth_mechanisms[0], AUTH_XOAUTH2);
	CHECK_INT(cf.auth_mechanisms[1], AUTH_OAUTHBEARER);
	OK(WITH_AUTH "auth_token_command = /usr/bin/tok\n");
	CHECK_INT(cf.nauth_mechanisms, 4);
	CHECK_INT(cf.auth_mechanisms[0], AUTH_PLAIN);
	CHECK_INT(cf.auth_mechanisms[1], AUTH_LOGIN);
	CHECK_INT(cf.auth_mechanisms[2], AUTH_XOAUTH2);
	CHECK_INT(cf.auth_mechanisms[3], AUTH_OAUTHBEARER);

	OK(WITH_AUTH "auth_mechanisms = login, plain\n");
	CHECK_INT(cf.nauth_mechanisms, 2);
	CHECK_INT(cf.auth_mechanisms[0], AUTH_LOGIN);
	CHECK_INT(cf.auth_mechanisms[1], AUTH_PLAIN);
	OK(WITH_AUTH "auth_mechanisms = LOGIN\n");
	CHECK_INT(cf.nauth_mechanisms, 1);
	OK(WITH_AUTH "auth_token_command = /t\nauth_mechanisms = oauthbearer,login xoauth2  plain\n");
	CHECK_INT(cf.nauth_mechanisms, 4);
	CHECK_INT(cf.auth_mechanisms[0], AUTH_OAUTHBEARER);
	CHECK_INT(cf.auth_mechanisms[1], AUTH_LOGIN);
	CHECK_INT(cf.auth_mechanisms[2], AUTH_XOAUTH2);
	CHECK_INT(cf.auth_mechanisms[3], AUTH_PLAIN);
	OK("auth_mechanisms = plain\n");	/* no auth_user: no AUTH, harmless */
	BAD(WITH_AUTH "auth_mechanisms = plain login plain\n", 3, "listed twice");
	BAD(WITH_AUTH "auth_mechanisms = cram-md5\n", 3, "bad value \"cram-md5\" for auth_mechanisms");
	BAD(WITH_AUTH "auth_mechanisms = ,\n", 3, "for auth_mechanisms");

	CHECK_STR(conf_mech_name(AUTH_PLAIN), "PLAIN");
	CHECK_STR(conf_mech_name(AUTH_LOGIN), "LOGIN");
	CHECK_STR(conf_mech_name(AUTH_XOAUTH2), "XOAUTH2");
	CHECK_STR(conf_mech_name(AUTH_OAUTHBEARER), "OAUTHBEARER");
}

static void test_number_keys(void)
{
	OK("max_message_size = 10M\nqueue_lifetime = 2d\nretry_min = 30s\nretry_max = 2h\n"
	   "delay_warning = 0\nconcurrency = 1\nrate_limit = 100/1h\n");
	CHECK(cf.max_message_size == 10ULL << 20);
	CHECK_INT(cf.queue_lifetime, 2 * 86400);
	CHECK_INT(cf.retry_min, 30);
	CHECK_INT(cf.retry_max, 7200);
	CHECK_INT(cf.delay_warning, 0);
	CHECK_INT(cf.concurrency, 1);
	CHECK_INT(cf.rate_limit_count, 100);
	CHECK_INT(cf.rate_limit_period, 3600);
	OK("max_message_size = 0\nconcurrency = 64\nrate_limit = 5/h\nretry_min = 1s\nretry_max = 1s\n");
	CHECK(cf.max_message_size == 0);
	CHECK_INT(cf.concurrency, 64);
	CHECK_INT(cf.rate_limit_count, 5);
	CHECK_INT(cf.rate_limit_period, 3600);
	OK("rate_limit = 0\n");
	CHECK_INT(cf.rate_limit_count, 0);
	OK("rate_limit = 10/30\n");
	CHECK_INT(cf.rate_limit_period, 30);
	OK("timeout_connect = 2s\ntimeout_greeting = 3\ntimeout_command = 4m\n"
	   "timeout_data_block = 5m\ntimeout_final_dot = 1h\nrescan_interval = 10s\n");
	CHECK_INT(cf.timeout_connect, 2);
	CHECK_INT(cf.timeout_greeting, 3);
	CHECK_INT(cf.timeout_command, 240);
	CHECK_INT(cf.timeout_data_block, 300);
	CHECK_INT(cf.timeout_final_dot, 3600);
	CHECK_INT(cf.rescan_interval, 10);

	BAD("max_message_size = 35MB\n", 1, "bad value \"35MB\" for max_message_size");
	BAD("max_message_size = -1\n", 1, "for max_message_size");
	BAD("max_message_size = 99999999999999999999999\n", 1, "too large");
	BAD("queue_lifetime = 0\n", 1, "at least 1s");
	BAD("queue_lifetime = 5 days\n", 1, "for queue_lifetime");
	BAD("retry_min = 0\n", 1, "bad value \"0\" for retry_min: must be at least 1s");
	BAD("retry_max = 0s\n", 1, "for retry_max");
	BAD("retry_min = 2h\nretry_max = 1h\n", 2, "retry_min (7200s) is greater than retry_max");
	BAD("retry_max = 1m\n\nretry_min = 2m\n", 3, "greater than retry_max");
	BAD("retry_min = 2h\n", 1, "greater than retry_max");	/* default max 1h */
	BAD("delay_warning = -1\n", 1, "for delay_warning");
	BAD("concurrency = 0\n", 1, "1 to 64");
	BAD("concurrency = 65\n", 1, "1 to 64");
	BAD("concurrency = four\n", 1, "bad value \"four\" for concurrency");
	BAD("concurrency = -1\n", 1, "for concurrency");
	BAD("concurrency = +4\n", 1, "for concurrency");
	BAD("rate_limit = 100\n", 1, "bad value \"100\" for rate_limit");
	BAD("rate_limit = 0/1h\n", 1, "for rate_limit");
	BAD("rate_limit = x/1h\n", 1, "for rate_limit");
	BAD("rate_limit = 100/0\n", 1, "for rate_limit");
	BAD("rate_limit = 100/1x\n", 1, "for rate_limit");
	BAD("rate_limit = 100/\n", 1, "for rate_limit");
	BAD("rate_limit = 2000000/1h\n", 1, "for rate_limit");
	BAD("timeout_connect = 0\n", 1, "for timeout_connect");
	BAD("timeout_greeting = x\n", 1, "for timeout_greeting");
	BAD("timeout_command = 1y\n", 1, "for timeout_command");
	BAD("timeout_data_block = 0s\n", 1, "for timeout_data_block");
	BAD("timeout_final_dot = -5\n", 1, "for timeout_final_dot");
	BAD("rescan_interval = 0\n", 1, "for rescan_interval");
}

static void test_bounce_local(void)
{
	OK("bounce_local = keep\n");
	CHECK_INT(cf.bounce_local, BOUNCE_LOCAL_KEEP);
	OK("admin_addr = a@example.org\nbounce_local = mbox\n");
	CHECK_INT(cf.bounce_local, BOUNCE_LOCAL_MBOX);
	OK("admin_addr = a@example.org\nbounce_local = relay\n");
	CHECK_INT(cf.bounce_local, BOUNCE_LOCAL_RELAY);
	OK("admin_addr = a@example.org\n");
	CHECK_INT(cf.bounce_local, BOUNCE_LOCAL_RELAY);
	BAD("bounce_local = discard\n", 1, "bad value \"discard\" for bounce_local");
	BAD("# x\nbounce_local = relay\n", 2, "needs admin_addr");
}

static void test_aliases_key(void)
{
	OK("# nothing\n");
	CHECK(cf.aliases == NULL);	/* /etc/aliases when it exists */
	OK("aliases = /etc/mail/aliases\n");
	CHECK_STR(cf.aliases, "/etc/mail/aliases");
	OK("aliases = none\n");
	CHECK_STR(cf.aliases, "");
	BAD("aliases = aliases\n", 1, "bad value \"aliases\" for aliases: expected an absolute path");
	BAD("aliases = /a\naliases = /b\n", 2, "duplicate key aliases");
}

static void test_contradictions(void)
{
	/* AUTH in clear. */
	BAD("smarthost = mail.example.org\ntls = none\n" WITH_AUTH, 3,
	    "AUTH would be sent in clear");
	BAD("tls = none\n" WITH_AUTH "smarthost = 127.0.0.1\nsmarthost = mail.example.org:25\n",
	    5, "in clear to smarthost mail.example.org");
	OK("tls = none\n" WITH_AUTH "smarthost = 127.0.0.1:25\n");
	OK("tls = none\n" WITH_AUTH "smarthost = 127.8.9.10\n");
	OK("tls = none\n" WITH_AUTH "smarthost = [::1]:2525\n");
	OK("tls = none\n" WITH_AUTH "smarthost = localhost\n");
	OK("tls = none\n" WITH_AUTH "smarthost = LOCALHOST:25\n");
	OK("tls = none\nsmarthost = mail.example.org\n");	/* no AUTH: fine */
	BAD("tls = none\n" WITH_AUTH "smarthost = 128.0.0.1\n", 4, "in clear");
	BAD("tls = none\n" WITH_AUTH "smarthost = [::2]\n", 4, "in clear");
	BAD("tls = none\n" WITH_AUTH "smarthost = localhost.example.org\n", 4, "in clear");

	/* Secrets. */
	BAD("auth_user = u\nauth_password_file = /s\n\nauth_password_command = c\n", 4,
	    "auth_password_file and auth_password_command are both set");
	BAD("auth_user = u\n", 1, "auth_user is set but none of");
	BAD("auth_password_file = /s\n", 1, "auth_password_file is set but auth_user is not");
	BAD("auth_token_command = t\n", 1, "auth_token_command is set but auth_user is not");
	BAD("auth_user = u\nauth_token_command = t\nauth_mechanisms = plain login\n", 3,
	    "auth_mechanisms lists PLAIN but neither");
	BAD(WITH_AUTH "auth_mechanisms = xoauth2\n", 3,
	    "auth_mechanisms lists XOAUTH2 but auth_token_command is not set");
	BAD(WITH_AUTH "auth_mechanisms = plain\nauth_token_command = t\n", 4,
	    "auth_token_command is set but auth_mechanisms lists only password");
	BAD(WITH_AUTH "auth_token_command = t\nauth_mechanisms = xoauth2\n", 4,
	    "auth_mechanisms lists only token mechanisms");

	/* TLS. */
	BAD("tls_client_cert = /c\n", 1, "tls_client_cert is set without tls_client_key");
	BAD("spool = /x\ntls_client_key = /k\n", 2, "tls_client_key is set without tls_client_cert");
	BAD("tls_fingerprint = sha256:0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\ntls = none\n", 2,
	    "tls_fingerprint is set but tls = none");
	OK("tls_verify = no\ntls_fingerprint = sha256:0123456789abcdef0123456789abcdef"
	   "0123456789abcdef0123456789abcdef\n");
}

static void test_check_relay(void)
{
	char secret[300], ca[300], msg[400];
	char text[1200];
	long me = (long)geteuid();

	snprintf(secret, sizeof secret, "%s/secret", tmpdir);
	snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);

	OK("spool = /x\n");
	CHECK(conf_check_relay(&cf, -1, err, sizeof err) == -1);
	snprintf(msg, sizeof msg, "%s: no smarthost configured", cfpath);
	CHECK(strncmp(err, msg, strlen(msg)) == 0);

	snprintf(text, sizeof text, "smarthost = m.example.org\nauth_user = u\n"
	    "auth_password_file = %s\n", secret);
	OK(text);
	unlink(secret);
	CHECK(conf_check_relay(&cf, -1, err, sizeof err) == 0);	/* not checked */
	CHECK(conf_check_relay(&cf, me, err, sizeof err) == -1);
	CHECK(strstr(err, "No such file") != NULL && strstr(err, secret) != NULL);

	write_file(secret, "pw\n", 0600);
	CHECK(conf_check_relay(&cf, me, err, sizeof err) == 0);
	write_file(secret, "pw\n", 0400);
	CHECK(conf_check_relay(&cf, me, err, sizeof err) == 0);
	write_file(secret, "pw\n", 0640);
	CHECK(conf_check_relay(&cf, me, err, sizeof err) == -1);
	CHECK(strstr(err, "mode 0640") != NULL);
	snprintf(msg, sizeof msg, "chmod 600 %s", secret);
	CHECK(strstr(err, msg) != NULL);
	write_file(secret, "pw\n", 0644);
	CHECK(conf_check_relay(&cf, me, err, sizeof err) == -1);
	CHECK(strstr(err, msg) != NULL);
	write_file(secret, "pw\n", 0700);
	CHECK(conf_check_relay(&cf, me, err, sizeof err) == -1);
	write_file(secret, "pw\n", 0604);
	CHECK(conf_check_relay(&cf, me, err, sizeof err) == -1);
	write_file(secret, "pw\n", 0644);
	CHECK(conf_check_relay(&cf, -1, err, sizeof err) == 0);	/* no relay uid: skipped */

	if (geteuid() == 0) {
		write_file(secret, "pw\n", 0600);
		CHECK(chown(secret, 54321, (gid_t)-1) == 0);
		CHECK(conf_check_relay(&cf, 54321, err, sizeof err) == 0);
		CHECK(conf_check_relay(&cf, 54322, err, sizeof err) == -1);
		CHECK(strstr(err, "owned by uid 54321") != NULL);
		snprintf(msg, sizeof msg, "chown 54322 %s", secret);
		CHECK(strstr(err, msg) != NULL);
		CHECK(conf_check_relay(&cf, 0, err, sizeof err) == -1);
		snprintf(msg, sizeof msg, "chown root %s", secret);
		CHECK(strstr(err, msg) != NULL);
		CHECK(chmod(secret, 0644) == 0);
		CHECK(conf_check_relay(&cf, 0, err, sizeof err) == -1);
		CHECK(strstr(err, "chown root") != NULL && strstr(err, "chmod 600") != NULL);
	} else
		printf("SKIP: password file owner checks (need root to chown)\n");
	unlink(secret);
	CHECK(mkdir(secret, 0700) == 0);
	CHECK(conf_check_relay(&cf, me, err, sizeof err) == -1);
	CHECK(strstr(err, "not a regular file") != NULL);
	rmdir(secret);

	/* A symlink to a good secret file: refused by relayd -n with the very
	 * function delivery opens it with (secret_file_open), in the same words. */
	{
		char real[320], why[CONF_ERR_MAX];
		int fd;

		snprintf(real, sizeof real, "%s/real-secret", tmpdir);
		write_file(real, "pw\n", 0600);
		fd = secret_file_open("auth_password_file", real, (uid_t)me, why, sizeof why);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
		CHECK(symlink(real, secret) == 0);
		CHECK(conf_check_relay(&cf, me, err, sizeof err) == -1);
		snprintf(msg, sizeof msg, "auth_password_file %s is not a regular file", secret);
		CHECK(strstr(err, msg) != NULL);
		CHECK(secret_file_open("auth_password_file", secret, (uid_t)me, why, sizeof why) == -1);
		CHECK_STR(why, msg);
		unlink(secret);
		CHECK(secret_file_open("auth_password_file", secret, (uid_t)me, why, sizeof why) == -1);
		CHECK(errno == ENOENT && strstr(why, "No such file") != NULL);
		unlink(real);
	}

	snprintf(text, sizeof text, "smarthost = m.example.org\ntls_ca_file = %s\n", ca);
	OK(text);
	unlink(ca);
	CHECK(conf_check_relay(&cf, -1, err, sizeof err) == -1);
	CHECK(strstr(err, "tls_ca_file") != NULL && strstr(err, ca) != NULL);
	write_file(ca, "x\n", 0644);
	CHECK(conf_check_relay(&cf, -1, err, sizeof err) == 0);
	snprintf(text, sizeof text, "smarthost = m.example.org\ntls_client_cert = %s\n"
	    "tls_client_key = %s/missing.key\n", ca, tmpdir);
	OK(text);
	CHECK(conf_check_relay(&cf, -1, err, sizeof err) == -1);
	CHECK(strstr(err, "tls_client_key") != NULL && strstr(err, "missing.key") != NULL);
	unlink(ca);
}

/* SPEC §2.1: the presets, the flows' defaults, the contradictions. */
static void test_oauth2_keys(void)
{
#define MS "auth_user = a@example.org\noauth2 = microsoft\noauth2_client_id = c1\n"
	OK(MS);
	CHECK(cf.oauth2 == OAUTH2_MICROSOFT && cf.oauth2_flow == OAUTH2_FLOW_DEVICE);
	CHECK_STR(cf.oauth2_tenant, "organizations");
	CHECK_STR(cf.oauth2_token_url,
	    "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
	CHECK_STR(cf.oauth2_device_url,
	    "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode");
	CHECK_STR(cf.oauth2_scope, "https://outlook.office.com/SMTP.Send offline_access");
	CHECK_STR(cf.oauth2_token_file, "/var/spool/nullrelay/oauth2.json");
	CHECK(cf.nauth_mechanisms == 2 && cf.auth_mechanisms[0] == AUTH_XOAUTH2);
	OK(MS "oauth2_tenant = contoso.onmicrosoft.com\noauth2_flow = client_credentials\n"
	    "oauth2_client_secret_file = /etc/nullrelay/app.secret\nspool = /s\n");
	CHECK_STR(cf.oauth2_token_url,
	    "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
	CHECK_STR(cf.oauth2_scope, "https://outlook.office365.com/.default");
	CHECK_STR(cf.oauth2_token_file, "/s/oauth2.json");
	OK("auth_user = a@gmail.com\noauth2 = google\noauth2_client_id = c\n"
	    "oauth2_client_secret_file = /etc/nullrelay/g.secret\n");
	CHECK(cf.oauth2 == OAUTH2_GOOGLE && cf.oauth2_flow == OAUTH2_FLOW_AUTHCODE);
	CHECK_STR(cf.oauth2_token_url, "https://oauth2.googleapis.com/token");
	CHECK_STR(cf.oauth2_auth_url, "https://accounts.google.com/o/oauth2/v2/auth");
	CHECK_STR(cf.oauth2_scope, "https://mail.google.com/");
	OK(MS "oauth2_token_url = https://127.0.0.1:8443/token\noauth2_scope = s\n");
	CHECK_STR(cf.oauth2_token_url, "https://127.0.0.1:8443/token");
	CHECK_STR(cf.oauth2_scope, "s");
	BAD(MS "auth_token_command = t\n", 4, "oauth2 and auth_token_command are both set");
	BAD(MS "auth_password_file = /p\n", 4, "oauth2 and auth_password_file are both set");
	BAD("oauth2 = microsoft\noauth2_client_id = c\n", 1, "auth_user is not");
	BAD("auth_user = a\noauth2 = generic\n", 2, "oauth2_client_id is not");
	BAD("auth_user = a\noauth2 = generic\noauth2_client_id = c\n", 2,
	    "needs oauth2_token_url");
	BAD("auth_user = a\noauth2 = generic\noauth2_client_id = c\n"
	    "oauth2_token_url = https://x/t\n", 4, "needs oauth2_device_url");
	BAD(MS "oauth2_flow = client_credentials\noauth2_client_secret_file = /s\n", 4,
	    "needs oauth2_tenant");
	BAD(MS "oauth2_tenant = a/b\n", 4, "bad value \"a/b\" for oauth2_tenant");
	BAD(MS "oauth2_auth_url = https:///x\n", 4, "expected an https:// URL");
	BAD("oauth2 = yahoo\n", 1, "expected microsoft, google or generic");
	BAD("oauth2_scope = x\n", 1, "oauth2_scope is set but oauth2 is not");
	BAD(MS "auth_mechanisms = plain\n", 4, "auth_mechanisms lists PLAIN but neither");
#undef MS
}

static void test_config_example(void)
{
	conf_free(&cf);
	err[0] = '\0';
	CHECK(conf_load("config.example", true, &cf, err, sizeof err) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "  config.example: %s\n", err);
	CHECK(cf.nsmarthosts >= 1);
	CHECK(cf.auth_user != NULL);
	CHECK(conf_check_relay(&cf, -1, err, sizeof err) == 0);
	conf_free(&cf);
}

int main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cfpath, sizeof cfpath, "%s/relay.conf", tmpdir);
	test_durations();
	test_sizes();
	test_defaults();
	test_pick_path();
	test_syntax();
	test_string_keys();
	test_smarthost();
	test_tls_keys();
	test_auth_keys();
	test_number_keys();
	test_bounce_local();
	test_aliases_key();
	test_contradictions();
	test_check_relay();
	test_oauth2_keys();
	test_config_example();
	conf_free(&cf);
	unlink(cfpath);
	rmdir(tmpdir);
	return check_summary("test_conf");
}
