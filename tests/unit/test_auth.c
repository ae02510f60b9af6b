/* Unit tests: SASL responses, base64 and secret fetching (relayd/auth.c). */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"

static void check_decodes(const char *b64, const char *want, size_t wantlen)
{
	size_t n = 0;
	unsigned char *d = auth_b64_decode(b64, &n);

	CHECK(d != NULL);
	if (d != NULL)
		CHECK_MEM(d, n, want, wantlen);
	free(d);
}

static void test_base64(void)
{
	char *s;
	size_t n;

	s = auth_b64_encode("", 0);
	CHECK_STR(s, "");
	free(s);
	s = auth_b64_encode("f", 1);
	CHECK_STR(s, "Zg==");
	free(s);
	s = auth_b64_encode("fo", 2);
	CHECK_STR(s, "Zm8=");
	free(s);
	s = auth_b64_encode("foobar", 6);
	CHECK_STR(s, "Zm9vYmFy");
	free(s);
	check_decodes("Zg==", "f", 1);
	check_decodes("Zm8=", "fo", 2);
	check_decodes("Zm9vYmFy", "foobar", 6);
	check_decodes("", "", 0);
	check_decodes("AQ==", "\001", 1);
	CHECK(auth_b64_decode("Zm9", &n) == NULL);	/* length */
	CHECK(auth_b64_decode("Zm9v YmFy", &n) == NULL);	/* space */
	CHECK(auth_b64_decode("Z=9v", &n) == NULL);	/* padding inside */
	CHECK(auth_b64_decode("Zm9*", &n) == NULL);
}

static void test_responses(void)
{
	static const char plain[] = "\0user@example.org\0p\xc3\xa4ss w:rd";
	static const char xo[] = "user=user@example.org\001auth=Bearer ya29.TOKEN\001\001";
	static const char ob[] = "n,a=user@example.org,\001host=smtp.example.org\001port=587\001"
	    "auth=Bearer ya29.TOKEN\001\001";
	static const char obesc[] = "n,a=a=3Db=2Cc,\001host=h\001port=465\001auth=Bearer t\001\001";
	char *s, *want;

	s = auth_plain_response("user@example.org", "p\xc3\xa4ss w:rd");
	want = auth_b64_encode(plain, sizeof(plain) - 1);
	CHECK_STR(s, want);
	free(s);
	free(want);
	/* RFC 4616 example. */
	s = auth_plain_response("tim", "tanstaaftanstaaf");
	CHECK_STR(s, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	free(s);

	s = auth_xoauth2_response("user@example.org", "ya29.TOKEN");
	want = auth_b64_encode(xo, sizeof(xo) - 1);
	CHECK_STR(s, want);
	free(s);
	free(want);
	/* Google's documented example. */
	s = auth_xoauth2_response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
	CHECK_STR(s, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRj"
	    "Mk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
	free(s);

	s = auth_oauthbearer_response("user@example.org", "smtp.example.org", 587, "ya29.TOKEN");
	want = auth_b64_encode(ob, sizeof(ob) - 1);
	CHECK_STR(s, want);
	free(s);
	free(want);
	/* The GS2 saslname escapes '=' and ','. */
	s = auth_oauthbearer_response("a=b,c", "h", 465, "t");
	want = auth_b64_encode(obesc, sizeof(obesc) - 1);
	CHECK_STR(s, want);
	free(s);
	free(want);

	CHECK(auth_mech_is_token(AUTH_XOAUTH2) && auth_mech_is_token(AUTH_OAUTHBEARER));
	CHECK(!auth_mech_is_token(AUTH_PLAIN) && !auth_mech_is_token(AUTH_LOGIN));
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, data, strlen(data)) == (ssize_t)strlen(data));
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void test_password_file(const char *dir)
{
	struct conf c;
	char path[512], link[600], err[512], *s;

	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%s/pw", dir);
	c.auth_password_file = path;

	write_file(path, "s3cret\nsecond line\n", 0600);
	s = auth_secret_fetch(&c, false, 5, err, sizeof(err));
	CHECK_STR(s, "s3cret");
	auth_free(s);

	write_file(path, "crlf\r\n", 0400);
	s = auth_secret_fetch(&c, false, 5, err, sizeof(err));
	CHECK_STR(s, "crlf");
	auth_free(s);

	write_file(path, "no newline", 0600);
	s = auth_secret_fetch(&c, false, 5, err, sizeof(err));
	CHECK_STR(s, "no newline");
	auth_free(s);

	write_file(path, "s3cret\n", 0640);
	s = auth_secret_fetch(&c, false, 5, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "0640") != NULL && strstr(err, "s3cret") == NULL);

	write_file(path, "s3cret\n", 0644);
	CHECK(auth_secret_fetch(&c, false, 5, err, sizeof(err)) == NULL);

	write_file(path, "\n", 0600);
	CHECK(auth_secret_fetch(&c, false, 5, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "empty") != NULL);

	/* A symlink is refused (O_NOFOLLOW). */
	write_file(path, "s3cret\n", 0600);
	snprintf(link, sizeof(link), "%s/pwlink", dir);
	unlink(link);
	CHECK(symlink(path, link) == 0);
	c.auth_password_file = link;
	CHECK(auth_secret_fetch(&c, false, 5, err, sizeof(err)) == NULL);
	unlink(link);
	unlink(path);

	c.auth_password_file = NULL;
	CHECK(auth_secret_fetch(&c, false, 5, err, sizeof(err)) == NULL);
}

static void test_commands(void)
{
	struct conf c;
	char err[512], *s;

	memset(&c, 0, sizeof(c));
	c.auth_password_command = (char *)"printf 'pw-from-cmd\\nignored\\n'";
	s = auth_secret_fetch(&c, false, 5, err, sizeof(err));
	CHECK_STR(s, "pw-from-cmd");
	auth_free(s);

	/* The child's environment holds PATH and HOME only. */
	setenv("NR_TEST_LEAK", "leak", 1);
	c.auth_token_command = (char *)"env | grep -v '^PWD=' | grep -v '^SHLVL=' | "
	    "grep -v '^_=' | sort | tr '\\n' ' '; echo";
	s = auth_secret_fetch(&c, true, 5, err, sizeof(err));
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK(strncmp(s, "HOME=", 5) == 0);
		CHECK(strstr(s, "PATH=/usr/bin:/bin") != NULL);
		CHECK(strstr(s, "NR_TEST_LEAK") == NULL);
	}
	auth_free(s);

	/* stdin is /dev/null: a command reading it does not hang. */
	c.auth_token_command = (char *)"cat; echo tok";
	s = auth_secret_fetch(&c, true, 5, err, sizeof(err));
	CHECK_STR(s, "tok");
	auth_free(s);

	c.auth_token_command = (char *)"echo zq-secret; exit 3";
	CHECK(auth_secret_fetch(&c, true, 5, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "status 3") != NULL && strstr(err, "zq-secret") == NULL);

	c.auth_token_command = (char *)"true";
	CHECK(auth_secret_fetch(&c, true, 5, err, sizeof(err)) == NULL);

	c.auth_token_command = (char *)"sleep 10";
	CHECK(auth_secret_fetch(&c, true, 1, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "timed out") != NULL);

	/* Over 16 KiB without a newline: refused. With one early: fine. */
	c.auth_token_command = (char *)"head -c 40000 /dev/zero | tr '\\0' x";
	CHECK(auth_secret_fetch(&c, true, 5, err, sizeof(err)) == NULL);
	c.auth_token_command = (char *)"echo short; head -c 40000 /dev/zero | tr '\\0' x";
	s = auth_secret_fetch(&c, true, 5, err, sizeof(err));
	CHECK_STR(s, "short");
	auth_free(s);

	c.auth_token_command = NULL;
	CHECK(auth_secret_fetch(&c, true, 5, err, sizeof(err)) == NULL);
	CHECK(auth_can_use(&c, AUTH_PLAIN) && !auth_can_use(&c, AUTH_XOAUTH2));
}

int main(void)
{
	char dir[] = "/tmp/nr-test-auth-XXXXXX";

	test_base64();
	test_responses();
	if (mkdtemp(dir) != NULL) {
		test_password_file(dir);
		rmdir(dir);
	} else {
		CHECK(!"mkdtemp");
	}
	test_commands();
	return check_summary("test_auth");
}
