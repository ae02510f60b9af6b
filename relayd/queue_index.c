/*
 * The start-up index of the queue (queue_index.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "queue_index.h"
#include "util.h"

/* Version 2 adds the submitter; version 1 (no uid) is still read. An
 * older relayd refuses a version 2 index whole and reads every state file:
 * slower, never wrong. */
#define INDEX_MAGIC "NULLRELAY-INDEX 2\n"
#define INDEX_MAGIC_V1 "NULLRELAY-INDEX 1\n"
#define INDEX_TMP QUEUE_INDEX_NAME ".tmp"
/* 100 000 lines of ~40 bytes are 4 MB; refuse anything absurd. */
#define INDEX_MAX (64u * 1024 * 1024)

struct wctx {
	FILE *f;
	const struct sched *s;
	size_t n;
};

static void put_one(void *ctx, const char *id, double arrival, time_t next)
{
	struct wctx *w = ctx;
	uid_t uid;

	/* "-": the submitter is not known (the schedule never learnt it). */
	if (sched_uid(w->s, id, &uid))
		fprintf(w->f, "%s %.3f %lld %lu\n", id, arrival, (long long)next,
		    (unsigned long)uid);
	else
		fprintf(w->f, "%s %.3f %lld -\n", id, arrival, (long long)next);
	w->n++;
}

int queue_index_write(int qdir, const struct sched *s)
{
	struct wctx w = { .s = s };
	int fd, ok;

	fd = openat(qdir, INDEX_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || (w.f = fdopen(fd, "w")) == NULL) {
		log_warn("cannot write queue/%s", INDEX_TMP);
		if (fd != -1)
			close(fd);
		return -1;
	}
	fputs(INDEX_MAGIC, w.f);
	sched_each(s, put_one, &w);
	fprintf(w.f, "end %zu\n", w.n);
	ok = fflush(w.f) == 0 && fsync(fd) == 0;
	if (fclose(w.f) != 0)
		ok = 0;
	if (!ok || renameat(qdir, INDEX_TMP, qdir, QUEUE_INDEX_NAME) == -1 || fsync(qdir) == -1) {
		log_warn("cannot write queue/%s (the next start reads every state file)",
		    QUEUE_INDEX_NAME);
		unlinkat(qdir, INDEX_TMP, 0);
		return -1;
	}
	return 0;
}

void queue_index_drop(int qdir)
{
	if (unlinkat(qdir, QUEUE_INDEX_NAME, 0) == 0)
		fsync(qdir);
	unlinkat(qdir, INDEX_TMP, 0);
}

/* The uid field of a version 2 line (at p, to the end of the line): a
 * number or "-" (*uid = -1). false if malformed. */
static bool parse_uid(const char *p, long *uid)
{
	unsigned long long v;
	char *end;

	if (strcmp(p, "-") == 0) {
		*uid = -1;
		return true;
	}
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno != 0 || *end != '\0' || v >= (unsigned long long)(uid_t)-1)
		return false;
	*uid = (long)v;
	return true;
}

/* Parse text (NUL-terminated, len bytes); cb only if all of it is good. */
static size_t parse(char *text, size_t len, bool report, queue_index_cb cb, void *ctx)
{
	size_t ml = strlen(INDEX_MAGIC), n = 0;
	char *line = text + ml, *nl, *end;
	bool v2;

	if (len < ml)
		return 0;
	v2 = memcmp(text, INDEX_MAGIC, ml) == 0;
	if (!v2 && memcmp(text, INDEX_MAGIC_V1, ml) != 0)
		return 0;
	for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		char id[QUEUE_ID_SIZE];
		double arrival;
		long long next;
		long uid = -1;

		*nl = '\0';
		if (strncmp(line, "end ", 4) == 0) {
			unsigned long long want = strtoull(line + 4, &end, 10);
			bool whole = *end == '\0' && want == n && nl + 1 == text + len;

			*nl = '\n';
			return whole ? n : 0;
		}
		if (strlen(line) < 20 || line[16] != ' ')
			return 0;
		memcpy(id, line, 16);
		id[16] = '\0';
		errno = 0;
		arrival = strtod(line + 17, &end);
		if (!queue_id_valid(id) || errno != 0 || *end != ' ' || arrival < 0)
			return 0;
		next = strtoll(end + 1, &end, 10);
		if (errno != 0 || next < 0)
			return 0;
		if (v2 ? *end != ' ' || !parse_uid(end + 1, &uid) : *end != '\0')
			return 0;
		*nl = '\n';
		if (report)
			cb(ctx, id, arrival, (time_t)next, uid);
		n++;
	}
	return 0;
}

size_t queue_index_take(int qdir, queue_index_cb cb, void *ctx)
{
	struct stat st;
	char *text;
	ssize_t r;
	size_t n;
	int fd;

	fd = openat(qdir, QUEUE_INDEX_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > INDEX_MAX) {
		close(fd);
		queue_index_drop(qdir);
		return 0;
	}
	text = xmalloc((size_t)st.st_size + 1);
	r = io_read_full(fd, text, (size_t)st.st_size);
	close(fd);
	/* Gone before anything is scheduled from it: never used twice. */
	queue_index_drop(qdir);
	if (r != (ssize_t)st.st_size) {
		free(text);
		return 0;
	}
	text[r] = '\0';
	n = parse(text, (size_t)r, false, cb, ctx);
	if (n > 0)
		parse(text, (size_t)r, true, cb, ctx);
	free(text);
	return n;
}
