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

#define INDEX_MAGIC "NULLRELAY-INDEX 1\n"
#define INDEX_TMP QUEUE_INDEX_NAME ".tmp"
/* 100 000 lines of ~40 bytes are 4 MB; refuse anything absurd. */
#define INDEX_MAX (64u * 1024 * 1024)

struct wctx {
	FILE *f;
	size_t n;
};

static void put_one(void *ctx, const char *id, double arrival, time_t next)
{
	struct wctx *w = ctx;

	fprintf(w->f, "%s %.3f %lld\n", id, arrival, (long long)next);
	w->n++;
}

int queue_index_write(int qdir, const struct sched *s)
{
	struct wctx w = { 0 };
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

/* Parse text (NUL-terminated, len bytes); cb only if all of it is good. */
static size_t parse(char *text, size_t len, bool report, queue_index_cb cb, void *ctx)
{
	char *line = text + strlen(INDEX_MAGIC), *nl, *end;
	size_t n = 0;

	if (len < strlen(INDEX_MAGIC) || memcmp(text, INDEX_MAGIC, strlen(INDEX_MAGIC)) != 0)
		return 0;
	for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		char id[17];
		double arrival;
		long long next;

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
		if (errno != 0 || *end != '\0' || next < 0)
			return 0;
		*nl = '\n';
		if (report)
			cb(ctx, id, arrival, (time_t)next);
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
