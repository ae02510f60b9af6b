/*
 * The token file (oauth2_token_file, SPOOL/oauth2.json by default): a JSON
 * object with the refresh token and the cached access token with its expiry,
 * mode 0600, owned by the relay user (conf_secret.h, checked at every read).
 * Every worker's helper takes TOKEN_FILE.lock before reading it, so one
 * refresh serves them all; a new file is written to a temp file, fsynced,
 * renamed over the old one and the directory fsynced, before the caller may
 * use the access token it holds (a rotated refresh token is never lost).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "o2.h"
#include "conf_secret.h"
#include "util.h"

#define STORE_MAX (64 * 1024)

int o2_store_lock(const struct conf *c, time_t wait, char *err, size_t errlen)
{
	char *path = xasprintf("%s.lock", c->oauth2_token_file);
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	time_t until = time(NULL) + wait;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "lock file %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* Polled rather than blocking: the wait is bounded by relayd's budget. */
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			free(path);
			return fd;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(err, errlen, "lock file %s: %s", path, strerror(errno));
			break;
		}
		if (time(NULL) >= until) {
			snprintf(err, errlen, "another refresh of the token still holds %s after "
			    "%lds", path, (long)wait);
			break;
		}
		nanosleep(&tick, NULL);
	}
	free(path);
	close(fd);
	return -1;
}

static char *take_str(struct json_object *j, const char *key)
{
	const char *s = o2_json_str(j, key);

	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

int o2_store_read(const struct conf *c, struct o2_store *s, char *err, size_t errlen)
{
	const char *path = c->oauth2_token_file;
	struct json_object *j;
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 0;
	if (fd == -1) {
		snprintf(err, errlen, "oauth2_token_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "oauth2_token_file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (secret_file_check("oauth2_token_file", path, &st, geteuid(), err, errlen) != 0) {
		close(fd);
		return -1;
	}
	buf = xmalloc(STORE_MAX + 1);
	n = io_read_full(fd, buf, STORE_MAX);
	close(fd);
	if (n < 0 || n == STORE_MAX) {
		snprintf(err, errlen, "oauth2_token_file %s: %s", path,
		    n < 0 ? strerror(errno) : "too large");
		free(buf);
		return -1;
	}
	j = o2_json_parse(buf, (size_t)n);
	explicit_bzero(buf, (size_t)n);
	free(buf);
	if (j == NULL) {
		snprintf(err, errlen, "oauth2_token_file %s is not a JSON object (delete it and "
		    "run relayd --oauth2-login)", path);
		return -1;
	}
	s->refresh_token = take_str(j, "refresh_token");
	s->access_token = take_str(j, "access_token");
	s->expires_at = (time_t)o2_json_long(j, "expires_at", 0);
	s->refresh_at = (time_t)o2_json_long(j, "refresh_at", 0);
	o2_json_free(j);
	return 1;
}

static void put_str(struct json_object *j, const char *key, const char *v)
{
	if (v != NULL)
		json_object_object_add(j, key, json_object_new_string(v));
}

int o2_store_write(const struct conf *c, const struct o2_store *s, char *err, size_t errlen)
{
	const char *path = c->oauth2_token_file, *text;
	struct json_object *j = json_object_new_object();
	char *tmp = xasprintf("%s.tmpXXXXXX", path), *dircopy = xstrdup(path);
	int fd = -1, rc = -1;

	put_str(j, "refresh_token", s->refresh_token);
	put_str(j, "access_token", s->access_token);
	json_object_object_add(j, "expires_at", json_object_new_int64((int64_t)s->expires_at));
	json_object_object_add(j, "refresh_at", json_object_new_int64((int64_t)s->refresh_at));
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY);
	/* mkostemp creates the file with mode 0600, owned by us. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "oauth2_token_file %s: creating a temporary file: %s", path,
		    strerror(errno));
		goto out;
	}
	if (io_write_all(fd, text, strlen(text)) != 0 || io_write_all(fd, "\n", 1) != 0 ||
	    fsync(fd) != 0) {
		snprintf(err, errlen, "oauth2_token_file %s: writing: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		snprintf(err, errlen, "oauth2_token_file %s: writing: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "oauth2_token_file %s: rename: %s", path, strerror(errno));
		goto out;
	}
	if (io_fsync_dir(dirname(dircopy)) != 0) {
		snprintf(err, errlen, "oauth2_token_file %s: fsync of its directory: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	explicit_bzero((char *)(uintptr_t)text, strlen(text));
	o2_json_free(j);
	free(tmp);
	free(dircopy);
	return rc;
}

void o2_store_update(struct o2_store *s, struct o2_tokens *t, time_t now)
{
	long life = t->expires_in > 0 ? t->expires_in : 3600;
	long margin = life / 4 < 300 ? life / 4 : 300;

	o2_wipe(s->access_token);
	s->access_token = t->access_token;
	t->access_token = NULL;
	if (t->refresh_token != NULL) {
		/* Rotation: the new one replaces the old (RFC 6749 §6). */
		o2_wipe(s->refresh_token);
		s->refresh_token = t->refresh_token;
		t->refresh_token = NULL;
	}
	s->expires_at = now + life;
	/* Refresh ahead of expiry: a quarter of the lifetime, at most 5 minutes. */
	s->refresh_at = now + life - margin;
}

void o2_store_free(struct o2_store *s)
{
	o2_wipe(s->refresh_token);
	o2_wipe(s->access_token);
	memset(s, 0, sizeof(*s));
}
