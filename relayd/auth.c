/*
 * SASL responses and secrets: see auth.h. A secret lives in as few buffers
 * as possible, each wiped with explicit_bzero as soon as it is not needed;
 * it never reaches argv, the environment of a child, or an error message.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"
#include "log.h"
#include "deadline.h"
#include "oauth2_client.h"
#include "conf_secret.h"
#include "util.h"

char *auth_b64_encode(const void *p, size_t n)
{
	size_t outlen = 4 * ((n + 2) / 3) + 1;
	char *out;

	if (n > (size_t)(INT32_MAX / 4 * 3 - 3))
		return NULL;
	out = xmalloc(outlen);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

unsigned char *auth_b64_decode(const char *s, size_t *outlen)
{
	size_t len = strlen(s), i, pad = 0;
	unsigned char *out;
	int n;

	if (len % 4 != 0 || len > INT32_MAX)
		return NULL;
	for (i = 0; i < len; i++) {
		char ch = s[i];
		bool b64 = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';

		if (ch == '=' && i >= len - 2 && (i == len - 1 || s[len - 1] == '='))
			pad++;
		else if (!b64)
			return NULL;
	}
	out = xmalloc(len / 4 * 3 + 1);
	n = len ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) : 0;
	if (n < 0 || (size_t)n < pad) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)n - pad;	/* EVP_DecodeBlock counts the padding */
	out[*outlen] = '\0';
	return out;
}

/* Encode raw[0..n) and wipe it. */
static char *encode_wipe(char *raw, size_t n)
{
	char *out = auth_b64_encode(raw, n);

	explicit_bzero(raw, n);
	free(raw);
	return out;
}

char *auth_plain_response(const char *user, const char *pass)
{
	/* authzid (empty) NUL authcid NUL passwd (RFC 4616). */
	size_t ul = strlen(user), pl = strlen(pass), n = 1 + ul + 1 + pl;
	char *raw = xmalloc(n);

	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, pass, pl);
	return encode_wipe(raw, n);
}

char *auth_xoauth2_response(const char *user, const char *token)
{
	char *raw = xasprintf("user=%s\001auth=Bearer %s\001\001", user, token);

	return encode_wipe(raw, strlen(raw));
}

char *auth_oauthbearer_response(const char *user, const char *host, unsigned port,
    const char *token)
{
	struct buf name;
	const char *p;
	char *raw;

	/* The GS2 header's saslname escapes ',' and '=' (RFC 5801 §4). */
	buf_init(&name, 4096);
	for (p = user; *p != '\0'; p++) {
		if (*p == ',')
			(void)buf_appends(&name, "=2C");
		else if (*p == '=')
			(void)buf_appends(&name, "=3D");
		else
			(void)buf_append(&name, p, 1);
	}
	raw = xasprintf("n,a=%s,\001host=%s\001port=%u\001auth=Bearer %s\001\001",
	    name.data ? name.data : "", host, port, token);
	buf_free(&name);
	return encode_wipe(raw, strlen(raw));
}

bool auth_mech_is_token(enum auth_mech m)
{
	return m == AUTH_XOAUTH2 || m == AUTH_OAUTHBEARER;
}

bool auth_can_use(const struct conf *c, enum auth_mech m)
{
	if (auth_mech_is_token(m))
		return conf_token_configured(c);
	return c->auth_password_file != NULL || c->auth_password_command != NULL;
}

void auth_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* The first line of buf[0..len) as a new string; buf is wiped. */
static char *first_line(char *buf, size_t len, const char *what, char *err, size_t errlen)
{
	char *nl = memchr(buf, '\n', len), *out;
	size_t l = nl ? (size_t)(nl - buf) : len;

	if (l > 0 && buf[l - 1] == '\r')
		l--;
	if (l == 0 || memchr(buf, '\0', l) != NULL) {
		snprintf(err, errlen, "%s: %s", what, l == 0 ? "empty first line" :
		    "contains a NUL byte");
		explicit_bzero(buf, len);
		return NULL;
	}
	out = xstrndup(buf, l);
	explicit_bzero(buf, len);
	return out;
}

static char *read_password_file(const char *path, char *err, size_t errlen)
{
	char *buf, *out;
	ssize_t n;
	int fd;

	/* The rule relayd -n applies too (conf_secret.h). */
	fd = secret_file_open("auth_password_file", path, geteuid(), err, errlen);
	if (fd == -1)
		return NULL;
	buf = xmalloc(AUTH_SECRET_MAX + 1);
	n = io_read_full(fd, buf, AUTH_SECRET_MAX);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "auth_password_file %s: %s", path, strerror(errno));
		free(buf);
		return NULL;
	}
	out = first_line(buf, (size_t)n, "auth_password_file", err, errlen);
	free(buf);
	return out;
}

/* Read the child's stdout until EOF or the deadline, keeping at most
 * AUTH_SECRET_MAX bytes. 0, -1 on error, -2 on timeout. */
static int read_child(int fd, char *buf, size_t *len, bool *overflow, int64_t deadline)
{
	char sink[4096];

	*len = 0;
	*overflow = false;
	for (;;) {
		int rc = deadline_poll(fd, POLLIN, deadline, NULL);
		ssize_t r;

		if (rc < 0)
			return -1;
		if (rc == 0)
			return -2;
		if (*len < AUTH_SECRET_MAX)
			r = read(fd, buf + *len, AUTH_SECRET_MAX - *len);
		else
			r = read(fd, sink, sizeof(sink));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		if (*len < AUTH_SECRET_MAX)
			*len += (size_t)r;
		else
			*overflow = true;
	}
	explicit_bzero(sink, sizeof(sink));
	return 0;
}

/*
 * Run path with argv and envp, stdin from /dev/null, stdout to us, within
 * timeout seconds; the first line of its output is the secret when it exits
 * 0. With reason_out, a program that fails says why on that first line
 * (the OAuth2 helper does; it never prints a secret when it fails).
 */
static char *spawn_capture(const char *key, const char *path, char *const argv[],
    char *const envp[], time_t timeout, bool reason_out, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	char *buf, *out = NULL;
	int pfd[2], status = 0, rc;
	bool overflow;
	size_t len;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "%s: pipe: %s", key, strerror(errno));
		return NULL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	rc = posix_spawn(&pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot run %s: %s", key, path, strerror(rc));
		close(pfd[0]);
		return NULL;
	}
	buf = xmalloc(AUTH_SECRET_MAX + 1);
	rc = read_child(pfd[0], buf, &len, &overflow, deadline_in(timeout));
	close(pfd[0]);
	if (rc == -2)
		kill(pid, SIGKILL);	/* our own child, by its pid */
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (rc == -2)
		snprintf(err, errlen, "%s timed out after %lds", key, (long)timeout);
	else if (rc == -1)
		snprintf(err, errlen, "%s: reading its output: %s", key, strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(err, errlen, "%s killed by signal %d", key, WTERMSIG(status));
	else if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && reason_out && len > 0) {
		buf[len] = '\0';
		snprintf(err, errlen, "%.*s", (int)strcspn(buf, "\r\n"), buf);
	}
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		snprintf(err, errlen, "%s exited with status %d", key, WEXITSTATUS(status));
	else if (overflow && memchr(buf, '\n', len) == NULL)
		snprintf(err, errlen, "%s printed more than %d bytes without a newline", key,
		    AUTH_SECRET_MAX);
	else
		out = first_line(buf, len, key, err, errlen);
	explicit_bzero(buf, AUTH_SECRET_MAX + 1);
	free(buf);
	return out;
}

static char *run_command(const char *key, const char *cmd, time_t timeout, char *err,
    size_t errlen)
{
	struct passwd *pw = getpwuid(geteuid());
	char home[4096], *envp[3], *argv[4];

	/* The child gets PATH and HOME only: nothing of ours (and certainly
	 * no secret) leaks into its environment or arguments. */
	snprintf(home, sizeof(home), "HOME=%s", pw && pw->pw_dir ? pw->pw_dir : "/");
	envp[0] = (char *)"PATH=/usr/bin:/bin";
	envp[1] = home;
	envp[2] = NULL;
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)cmd;
	argv[3] = NULL;
	return spawn_capture(key, "/bin/sh", argv, envp, timeout, false, err, errlen);
}

/* Built-in OAuth2: the helper prints a valid access token (oauth2_client.h). */
static char *oauth2_token(const struct conf *c, bool fresh, time_t timeout, char *err,
    size_t errlen)
{
	char helper[4096], home[4096], why[512], *envp[12], *argv[6], *tok;
	size_t i, n = 0;

	if (oauth2_client_helper(helper, sizeof(helper), why, sizeof(why)) != 0) {
		snprintf(err, errlen, "oauth2: %s", why);
		return NULL;
	}
	oauth2_client_env(envp, NR_ARRAY_LEN(envp) - 1, home, sizeof(home));
	argv[n++] = (char *)OAUTH2_HELPER_NAME;
	argv[n++] = (char *)"-C";
	argv[n++] = c->path;
	if (log_is_stderr())
		argv[n++] = (char *)"-f";	/* its log lines go where ours go */
	argv[n++] = (char *)(fresh ? "refresh" : "token");
	argv[n] = NULL;
	tok = spawn_capture("the OAuth2 helper", helper, argv, envp, timeout, true, why,
	    sizeof(why));
	if (tok == NULL) {
		/* Its reason is shown in the log: keep it one printable line. */
		for (i = 0; why[i] != '\0'; i++)
			if ((unsigned char)why[i] < ' ' || why[i] == 0x7f)
				why[i] = '?';
		snprintf(err, errlen, "%s%s", strncmp(why, "oauth2: ", 8) == 0 ? "" :
		    "oauth2: ", why);
	}
	return tok;
}

/* What auth_prefetch ran before confinement (the commands' output). */
static char *pre_password, *pre_token;

void auth_prefetch(const struct conf *c)
{
	char err[512];

	if (c->auth_user == NULL)
		return;
	if (c->auth_password_file == NULL && c->auth_password_command != NULL &&
	    pre_password == NULL)
		pre_password = run_command("auth_password_command", c->auth_password_command,
		    c->timeout_command, err, sizeof err);
	if (c->oauth2 == OAUTH2_OFF && c->auth_token_command != NULL && pre_token == NULL)
		pre_token = run_command("auth_token_command", c->auth_token_command,
		    c->timeout_command, err, sizeof err);
	/* A failure is met again, and reported, when AUTH needs the secret. */
}

char *auth_token_fetch(const struct conf *c, bool fresh, time_t timeout, char *err,
    size_t errlen)
{
	if (fresh) {
		auth_free(pre_token);
		pre_token = NULL;
	}
	if (pre_token != NULL && c->oauth2 == OAUTH2_OFF)
		return xstrdup(pre_token);
	if (c->oauth2 != OAUTH2_OFF)
		return oauth2_token(c, fresh, timeout, err, errlen);
	if (c->auth_token_command == NULL) {
		snprintf(err, errlen, "no auth_token_command configured");
		return NULL;
	}
	return run_command("auth_token_command", c->auth_token_command, timeout, err, errlen);
}

char *auth_secret_fetch(const struct conf *c, bool token, time_t timeout, char *err, size_t errlen)
{
	if (token)
		return auth_token_fetch(c, false, timeout, err, errlen);
	if (c->auth_password_file != NULL)
		return read_password_file(c->auth_password_file, err, errlen);
	if (c->auth_password_command != NULL && pre_password != NULL)
		return xstrdup(pre_password);
	if (c->auth_password_command != NULL)
		return run_command("auth_password_command", c->auth_password_command, timeout,
		    err, errlen);
	snprintf(err, errlen, "no auth_password_file or auth_password_command configured");
	return NULL;
}
