/*
 * queue/mailq.cache (spool_qlist_owner.h): mailq's records kept across a
 * clean restart. Binary, native layout (written and read by the same
 * relayd on the same host; anything else is refused by the header):
 *
 *   "NULLRELAY-MAILQ-CACHE 1\n", then the size of struct qlist_rec as a
 *   uint32, then per record the struct followed by its len bytes of data,
 *   then an end marker: a zeroed struct.
 *
 * No fsync: losing it costs one slow mailq, never mail, and every record
 * is checked against its state file (fstatat) before it is shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_qlist_owner.h"
#include "spool_queue.h"
#include "util.h"

#define SAVE_MAGIC "NULLRELAY-MAILQ-CACHE 1\n"
#define SAVE_TMP_SUFFIX ".tmp"
/* A record's data is what a state file said: far below this. */
#define SAVE_REC_MAX (QUEUE_STATE_MAX + 4096)

struct save_ctx {
	FILE *f;
	int dir;	/* queue/ */
	size_t n;	/* records written */
	bool ok;
};

static void save_one(void *ctx, const struct qlist_rec *r)
{
	struct save_ctx *sc = ctx;
	char name[QUEUE_NAME_SIZE];
	struct stat st;

	/* A racy record would be read again anyway: not worth the bytes. */
	if (r->racy || r->maildrop)
		return;
	/* The table keeps a delivered message's record until the next
	 * listing: what left queue/ is not saved. */
	if (!r->failed && fstatat(sc->dir, queue_name(name, r->id, QUEUE_ENV), &st,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)
		return;
	if (fwrite(r, sizeof(*r) + r->len, 1, sc->f) != 1)
		sc->ok = false;
	sc->n++;
}

int qlist_owners_save(struct qlist_owners *t, int dir, const char *name)
{
	char tmp[64];
	struct save_ctx sc = { .ok = true, .dir = dir };
	struct qlist_rec end;
	uint32_t sz = sizeof(struct qlist_rec);
	int fd;

	/* What the last start left unread is merged, not overwritten. */
	qlist_owners_load_now(t);
	if ((size_t)snprintf(tmp, sizeof tmp, "%s%s", name, SAVE_TMP_SUFFIX) >= sizeof tmp)
		return -1;
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if ((sc.f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlinkat(dir, tmp, 0);
		return -1;
	}
	memset(&end, 0, sizeof end);
	if (fputs(SAVE_MAGIC, sc.f) == EOF || fwrite(&sz, sizeof sz, 1, sc.f) != 1)
		sc.ok = false;
	if (sc.ok)
		qlist_owners_each(t, save_one, &sc);
	if (sc.ok && fwrite(&end, sizeof end, 1, sc.f) != 1)
		sc.ok = false;
	if (fclose(sc.f) != 0)
		sc.ok = false;
	if (sc.ok && sc.n == 0) {
		/* Nothing left to remember: no file in an empty queue/. */
		unlinkat(dir, tmp, 0);
		(void)unlinkat(dir, name, 0);
		return 0;
	}
	if (!sc.ok || renameat(dir, tmp, dir, name) == -1) {
		unlinkat(dir, tmp, 0);
		return -1;
	}
	return 0;
}

/* Read one record from f: a new one, NULL at the end marker or on a
 * malformed one (*bad set). */
static struct qlist_rec *load_one(FILE *f, bool *bad)
{
	struct qlist_rec head, *r;

	*bad = true;
	if (fread(&head, sizeof head, 1, f) != 1)
		return NULL;
	if (head.len == 0 && head.id[0] == '\0') {
		*bad = false;
		return NULL;
	}
	if (head.len > SAVE_REC_MAX)
		return NULL;
	r = xmalloc(sizeof(*r) + head.len);
	memcpy(r, &head, sizeof head);
	if (fread(r->data, head.len, 1, f) != 1 || !qlist_rec_valid(r)) {
		free(r);
		return NULL;
	}
	*bad = false;
	return r;
}

size_t qlist_owners_load(struct qlist_owners *t, int dir, const char *name)
{
	char magic[sizeof SAVE_MAGIC - 1];
	struct qlist_rec **v = NULL, *r;
	size_t n = 0, cap = 0, i;
	uint32_t sz;
	struct stat st;
	bool bad = true;
	FILE *f;
	int fd;

	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0;
	/* Read once: gone before anything is used from it. */
	unlinkat(dir, name, 0);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	if (fread(magic, sizeof magic, 1, f) == 1 && memcmp(magic, SAVE_MAGIC, sizeof magic) == 0 &&
	    fread(&sz, sizeof sz, 1, f) == 1 && sz == sizeof(struct qlist_rec)) {
		while ((r = load_one(f, &bad)) != NULL) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[n++] = r;
		}
	}
	fclose(f);
	/* All or nothing: a cut or damaged file is ignored whole. */
	if (!bad)
		qlist_owners_reserve(t, n);
	for (i = 0; i < n; i++) {
		if (bad)
			free(v[i]);
		else
			qlist_owners_add(t, v[i]);
	}
	free(v);
	return bad ? 0 : n;
}

void qlist_owners_load_now(struct qlist_owners *t)
{
	const char *name;
	int dir;

	if (qlist_owners_pending(t, &dir, &name))
		qlist_owners_load(t, dir, name);
}
