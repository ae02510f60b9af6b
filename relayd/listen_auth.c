/*
 * listen_auth_file and SASL PLAIN decoding: see listen_auth.h. Hashes stay
 * in memory of the listener only; passwords are wiped after each check.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "listen_auth.h"
#include "util.h"

#define USERS_MAX 10000
#define USERS_LINE_MAX 1024
/* A well-formed hash to spend the same time on for an unknown user. */
#define DUMMY_HASH "$6$nullrelaydummy$as5pWOzmvYCUDEG5Muzdkh/wp4aby3L6Hd6L5/wy8S3PKko7zQd0F" \
	"pSBINO6fvbRW9rq6GbhMklgTzih5VpDx1"

struct listen_user {
	char *name;
	char *hash;
};

struct listen_users {
	struct listen_user *v;
	size_t n;
};

static int load_fail(FILE *f, struct listen_users *u, char *err, size_t errlen, const char *path,
    unsigned line, const char *why)
{
	if (line > 0)
		snprintf(err, errlen, "%s:%u: %s", path, line, why);
	else
		snprintf(err, errlen, "%s: %s", path, why);
	if (f != NULL)
		fclose(f);
	listen_users_free(u);
	return -1;
}

static bool name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 255)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

/* A crypt(3) hash: printable, no spaces; "$id$..." or 13-character DES. */
static bool hash_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 13)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == ':')
			return false;
	return true;
}

static int parse_line(struct listen_users *u, char *line, const char **why)
{
	char *colon = strchr(line, ':');
	size_t i;

	if (colon == NULL) {
		*why = "expected user:hash (a crypt(3) hash, e.g. from mkpasswd or "
		    "openssl passwd -6)";
		return -1;
	}
	if (!name_ok(line, (size_t)(colon - line))) {
		*why = "bad user name (1-255 characters, no spaces or control characters)";
		return -1;
	}
	if (!hash_ok(colon + 1)) {
		*why = "bad hash: expected a crypt(3) hash such as $6$salt$... or $y$...";
		return -1;
	}
	*colon = '\0';
	for (i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, line) == 0) {
			*why = "user listed twice";
			return -1;
		}
	if (u->n == USERS_MAX) {
		*why = "too many users (at most 10000)";
		return -1;
	}
	u->v = xreallocarray(u->v, u->n + 1, sizeof(*u->v));
	u->v[u->n].name = xstrdup(line);
	u->v[u->n].hash = xstrdup(colon + 1);
	u->n++;
	return 0;
}

struct listen_users *listen_users_load(const char *path, char *err, size_t errlen)
{
	struct listen_users *u = xcalloc(1, sizeof(*u));
	char line[USERS_LINE_MAX + 2];
	const char *why = NULL;
	unsigned lineno = 0;
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		snprintf(err, errlen, "listen_auth_file %s: %s", path, strerror(errno));
		listen_users_free(u);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		load_fail(NULL, u, err, errlen, path, 0, "listen_auth_file is not a regular file");
		return NULL;
	}
	if ((st.st_mode & 022) != 0) {
		close(fd);
		load_fail(NULL, u, err, errlen, path, 0, "listen_auth_file is writable by group "
		    "or others: anyone could add a user (chmod 640 or 600)");
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		load_fail(NULL, u, err, errlen, path, 0, "cannot read listen_auth_file");
		return NULL;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		size_t n = strlen(line);
		char *p = line;

		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f)) {
			load_fail(f, u, err, errlen, path, lineno, "line too long");
			return NULL;
		}
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		if (parse_line(u, p, &why) != 0) {
			load_fail(f, u, err, errlen, path, lineno, why);
			return NULL;
		}
	}
	if (ferror(f)) {
		load_fail(f, u, err, errlen, path, 0, "read error");
		return NULL;
	}
	fclose(f);
	return u;
}

void listen_users_free(struct listen_users *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++) {
		free(u->v[i].name);
		free(u->v[i].hash);
	}
	free(u->v);
	free(u);
}

size_t listen_users_count(const struct listen_users *u)
{
	return u != NULL ? u->n : 0;
}

/* Compare without stopping at the first difference. */
static bool same_text(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), i;
	unsigned char d = na != nb;

	for (i = 0; i < na && i < nb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

bool listen_users_check(const struct listen_users *u, const char *user, const char *pass)
{
	const char *hash = DUMMY_HASH, *out;
	struct crypt_data *cd;
	bool known = false, ok;
	size_t i;

	for (i = 0; u != NULL && i < u->n; i++)
		if (strcmp(u->v[i].name, user) == 0) {
			hash = u->v[i].hash;
			known = true;
			break;
		}
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_r(pass, hash, cd);
	/* libxcrypt returns a "*" string, never a match, for a bad setting. */
	ok = known && out != NULL && out[0] != '*' && same_text(out, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

int listen_sasl_plain(const char *b64, char **user, char **pass)
{
	size_t n = 0;
	unsigned char *d = auth_b64_decode(b64, &n);
	const char *authz, *authc, *pw, *end;

	*user = *pass = NULL;
	if (d == NULL)
		return -1;
	end = (const char *)d + n;
	authz = (const char *)d;
	authc = memchr(authz, '\0', n);
	pw = authc != NULL ? memchr(authc + 1, '\0', (size_t)(end - authc - 1)) : NULL;
	if (authc == NULL || pw == NULL || memchr(pw + 1, '\0', (size_t)(end - pw - 1)) != NULL) {
		explicit_bzero(d, n);
		free(d);
		return -1;
	}
	authc++;
	pw++;
	/* Acting for another identity is not offered. */
	if (authz[0] != '\0' && strcmp(authz, authc) != 0) {
		explicit_bzero(d, n);
		free(d);
		return -1;
	}
	*user = xstrdup(authc);
	*pass = xstrdup(pw);
	explicit_bzero(d, n);
	free(d);
	return 0;
}
