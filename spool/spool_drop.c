/*
 * The submission side of the spool (sendmail): write one drop file in
 * incoming/tmp, then publish it in incoming/new. See spool_setup.c for the layout
 * and the durability argument. One rule runs through it: on any failure the
 * file is unlinked, so no partial message is ever left for relayd.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

#define DROP_BUFSIZE (64 * 1024)
#define DROP_CREATE_TRIES 8

struct drop {
	int fd;
	int tmpdir;		/* O_PATH descriptors: no read permission needed */
	int newdir;
	char id[17];
	char *spool;
	char *buf;		/* DROP_BUFSIZE bytes of pending output */
	size_t buflen;
	off_t fileoff;		/* bytes already written to the file */
	off_t len_off;		/* where the length digits are */
	off_t msg_off;		/* where the message starts; 0 = envelope not written */
	uint64_t msglen;
	int failed;		/* sysexits code of an earlier write failure, else 0 */
};

/* 74 for what a full or failing disk does; the caller's error otherwise. */
static int io_code(int err, int otherwise)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case EFBIG:
	case EROFS:
		return EX_IOERR;
	default:
		return otherwise;
	}
}

static int open_subdir(int spoolfd, const char *spool, const char *rel, char *err, size_t errlen)
{
	int fd = openat(spoolfd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen,
			    "spool directory %s/%s is missing; create it by starting relayd as "
			    "root once (or relayd --once as the spool's owner)",
			    spool, rel);
		else
			snprintf(err, errlen, "cannot use spool directory %s/%s: %s", spool, rel,
			    strerror(errno));
	}
	return fd;
}

/*
 * Without the setgid bit on incoming/tmp (a hand-made spool) the new file
 * gets the submitter's group, relayd cannot read it and would quarantine it
 * after sendmail had said "queued": refuse now. 0 or -1 with err.
 */
static int check_group(const struct drop *d, const char *spool, char *err, size_t errlen)
{
	struct stat fst, dst;

	if (fstat(d->fd, &fst) == -1 || fstat(d->tmpdir, &dst) == -1) {
		snprintf(err, errlen, "cannot check the group of %s/%s/%s: %s", spool,
		    SPOOL_DROP_TMP, d->id, strerror(errno));
		return -1;
	}
	if (fst.st_gid != dst.st_gid) {
		snprintf(err, errlen,
		    "%s/%s is not setgid to the relay group: start relayd as root once to "
		    "repair the spool (a new file there gets group %lu, the directory has %lu)",
		    spool, SPOOL_DROP_TMP, (unsigned long)fst.st_gid, (unsigned long)dst.st_gid);
		return -1;
	}
	return 0;
}

int drop_create(const char *spool, struct drop **out, char *err, size_t errlen)
{
	struct drop *d;
	int spoolfd, tries;

	*out = NULL;
	spoolfd = open(spool, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (spoolfd == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen,
			    "spool directory %s does not exist; create it by starting relayd as "
			    "root once",
			    spool);
		else
			snprintf(err, errlen, "cannot use spool directory %s: %s", spool,
			    strerror(errno));
		return EX_CANTCREAT;
	}
	d = xcalloc(1, sizeof(*d));
	d->fd = -1;
	d->newdir = -1;
	d->tmpdir = open_subdir(spoolfd, spool, SPOOL_DROP_TMP, err, errlen);
	if (d->tmpdir != -1)
		d->newdir = open_subdir(spoolfd, spool, SPOOL_DROP_NEW, err, errlen);
	close(spoolfd);
	if (d->tmpdir == -1 || d->newdir == -1)
		goto fail_cantcreat;
	for (tries = 0; tries < DROP_CREATE_TRIES; tries++) {
		struct stat st;

		queue_id_new(d->id);
		/* The same name must be free in new/ too, so the id sendmail
		 * reports is the one relayd sees (publish() copes with a race). */
		if (fstatat(d->newdir, d->id, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			errno = EEXIST;
			continue;
		}
		d->fd = openat(d->tmpdir, d->id,
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (d->fd != -1 || errno != EEXIST)
			break;
	}
	if (d->fd == -1) {
		int e = errno;

		snprintf(err, errlen, "cannot create a spool file in %s/%s: %s", spool,
		    SPOOL_DROP_TMP, strerror(e));
		if (io_code(e, EX_CANTCREAT) != EX_CANTCREAT) {
			drop_abort(d);
			return EX_IOERR;
		}
		goto fail_cantcreat;
	}
	/* umask 077 callers (mutt) would leave it 0600: relayd must read it. */
	if (fchmod(d->fd, 0640) == -1) {
		snprintf(err, errlen, "cannot set mode 0640 on %s/%s/%s: %s", spool,
		    SPOOL_DROP_TMP, d->id, strerror(errno));
		goto fail_cantcreat;
	}
	if (check_group(d, spool, err, errlen) != 0)
		goto fail_cantcreat;
	d->spool = xstrdup(spool);
	d->buf = xmalloc(DROP_BUFSIZE);
	*out = d;
	return 0;

fail_cantcreat:
	drop_abort(d);
	return EX_CANTCREAT;
}

const char *drop_id(const struct drop *d)
{
	return d->id;
}

/* Record a write failure: every later call reports it again. */
static int write_failed(struct drop *d, int e, char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot write spool file %s/%s/%s: %s",
	    d->spool ? d->spool : "", SPOOL_DROP_TMP, d->id, strerror(e));
	d->failed = EX_IOERR;
	return d->failed;
}

static int earlier_failure(const struct drop *d, char *err, size_t errlen)
{
	snprintf(err, errlen, "spool file %s/%s/%s: an earlier write failed", d->spool,
	    SPOOL_DROP_TMP, d->id);
	return d->failed;
}

int drop_flush(struct drop *d, char *err, size_t errlen)
{
	if (d->failed)
		return earlier_failure(d, err, errlen);
	if (d->buflen == 0)
		return 0;
	if (io_write_all(d->fd, d->buf, d->buflen) == -1)
		return write_failed(d, errno, err, errlen);
	d->fileoff += (off_t)d->buflen;
	d->buflen = 0;
	return 0;
}

/* Buffered append of raw bytes (envelope or message). */
static int put(struct drop *d, const void *p, size_t n, char *err, size_t errlen)
{
	if (d->failed)
		return earlier_failure(d, err, errlen);
	if (d->buflen + n > DROP_BUFSIZE) {
		if (drop_flush(d, err, errlen) != 0)
			return d->failed;
		if (n >= DROP_BUFSIZE) {
			/* Large writes go straight through: no second copy. */
			if (io_write_all(d->fd, p, n) == -1)
				return write_failed(d, errno, err, errlen);
			d->fileoff += (off_t)n;
			return 0;
		}
	}
	memcpy(d->buf + d->buflen, p, n);
	d->buflen += n;
	return 0;
}

int drop_write_envelope(struct drop *d, const struct envelope *e, char *err, size_t errlen)
{
	struct buf b;
	const char *why;
	int rc;

	if (d->msg_off != 0) {
		snprintf(err, errlen, "internal error: envelope written twice");
		return EX_SOFTWARE;
	}
	if ((why = envelope_check(e)) != NULL) {
		snprintf(err, errlen, "cannot queue the message: %s", why);
		return EX_DATAERR;
	}
	buf_init(&b, DROP_HEADER_MAX);
	if (buf_appendf(&b, "%slength ", DROP_MAGIC) == -1) {
		buf_free(&b);
		return EX_SOFTWARE;
	}
	d->len_off = d->fileoff + (off_t)d->buflen + (off_t)b.len;
	/* Zeros until drop_commit: a published file never keeps them unless
	 * the message really is empty (and then they are right). */
	if (buf_appendf(&b, "%0*d\n", DROP_LENGTH_DIGITS, 0) == -1 ||
	    envelope_write(&b, e) == -1 || buf_appends(&b, "\n") == -1) {
		snprintf(err, errlen, "envelope too large for a drop file (over %d bytes)",
		    DROP_HEADER_MAX);
		buf_free(&b);
		return EX_DATAERR;
	}
	rc = put(d, b.data, b.len, err, errlen);
	d->msg_off = d->fileoff + (off_t)d->buflen;
	buf_free(&b);
	return rc;
}

int drop_write(struct drop *d, const void *p, size_t n, char *err, size_t errlen)
{
	int rc;

	if (d->msg_off == 0) {
		snprintf(err, errlen, "internal error: message written before its envelope");
		return EX_SOFTWARE;
	}
	if ((rc = put(d, p, n, err, errlen)) == 0)
		d->msglen += n;
	return rc;
}

uint64_t drop_length(const struct drop *d)
{
	return d->msglen;
}

int drop_fd(const struct drop *d)
{
	return d->fd;
}

off_t drop_message_offset(const struct drop *d)
{
	return d->msg_off;
}

/* Make the rename into new/ durable: fsync new/ if we may open it, else the
 * file once more (see spool_setup.c). */
static int sync_rename(struct drop *d)
{
	char path[4096];
	int dfd;

	if (spool_path(path, sizeof(path), d->spool, SPOOL_DROP_NEW) == 0) {
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd != -1) {
			int rc = fsync(dfd), e = errno;

			close(dfd);
			errno = e;
			return rc;
		}
	}
	return fsync(d->fd);
}

/* Publish tmp/ID as new/ID without ever replacing an existing file; on the
 * (very unlikely) clash pick a fresh id for the published name. */
static int publish(struct drop *d)
{
	char id[17];
	int tries;

	for (tries = 0; tries < DROP_CREATE_TRIES; tries++) {
		if (tries == 0)
			memcpy(id, d->id, sizeof(id));
		else
			queue_id_new(id);
		if (renameat2(d->tmpdir, d->id, d->newdir, id, RENAME_NOREPLACE) == 0) {
			memcpy(d->id, id, sizeof(id));
			return 0;
		}
		if (errno == EINVAL || errno == ENOSYS) {
			/* A file system without RENAME_NOREPLACE: the sticky bit
			 * still protects other users' files. */
			if (renameat(d->tmpdir, d->id, d->newdir, id) == 0) {
				memcpy(d->id, id, sizeof(id));
				return 0;
			}
			return -1;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

static void drop_free(struct drop *d)
{
	if (d->fd != -1)
		close(d->fd);
	if (d->tmpdir != -1)
		close(d->tmpdir);
	if (d->newdir != -1)
		close(d->newdir);
	free(d->buf);
	free(d->spool);
	free(d);
}

int drop_commit(struct drop *d, char *err, size_t errlen)
{
	char digits[DROP_LENGTH_DIGITS + 1];
	int rc, e;

	if (d->msg_off == 0) {
		snprintf(err, errlen, "internal error: commit without an envelope");
		drop_abort(d);
		return EX_SOFTWARE;
	}
	if ((rc = drop_flush(d, err, errlen)) != 0) {
		drop_abort(d);
		return rc;
	}
	snprintf(digits, sizeof(digits), "%0*" PRIu64, DROP_LENGTH_DIGITS, d->msglen);
	if (pwrite(d->fd, digits, DROP_LENGTH_DIGITS, d->len_off) != DROP_LENGTH_DIGITS) {
		rc = write_failed(d, errno ? errno : EIO, err, errlen);
		drop_abort(d);
		return rc;
	}
	if (fsync(d->fd) == -1) {
		e = errno;
		snprintf(err, errlen, "cannot sync spool file %s/%s/%s: %s", d->spool,
		    SPOOL_DROP_TMP, d->id, strerror(e));
		drop_abort(d);
		return io_code(e, EX_IOERR);
	}
	if (publish(d) == -1) {
		e = errno;
		snprintf(err, errlen, "cannot move spool file %s/%s/%s into %s: %s", d->spool,
		    SPOOL_DROP_TMP, d->id, SPOOL_DROP_NEW, strerror(e));
		drop_abort(d);
		return io_code(e, e == EACCES || e == EPERM ? EX_CANTCREAT : EX_IOERR);
	}
	if (sync_rename(d) == -1 || close(d->fd) == -1) {
		e = errno;
		d->fd = -1;
		snprintf(err, errlen, "cannot sync spool file %s/%s/%s: %s", d->spool,
		    SPOOL_DROP_NEW, d->id, strerror(e));
		/* Not known durable: take it back (relayd may already hold a
		 * copy; a duplicate beats a loss). */
		(void)unlinkat(d->newdir, d->id, 0);
		drop_free(d);
		return EX_IOERR;
	}
	d->fd = -1;
	drop_free(d);
	return 0;
}

void drop_abort(struct drop *d)
{
	if (d == NULL)
		return;
	if (d->fd != -1 && d->tmpdir != -1)
		(void)unlinkat(d->tmpdir, d->id, 0);
	drop_free(d);
}
