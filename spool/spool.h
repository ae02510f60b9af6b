/*
 * The spool: the on-disk layout and its two sides, submission (sendmail) and
 * pick-up (relayd). The layout, modes and the life of a message are described
 * at the top of spool_setup.c and in README.md.
 */
#ifndef NULLRELAY_SPOOL_H
#define NULLRELAY_SPOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "spool_envelope.h"

#define SPOOL_DROP_DIR "incoming"
#define SPOOL_DROP_TMP "incoming/tmp"
#define SPOOL_DROP_NEW "incoming/new"
#define SPOOL_QUEUE "queue"
#define SPOOL_FAILED "failed"
#define SPOOL_QUARANTINE "quarantine"
#define SPOOL_SOCKET "relayd.sock"

#define DROP_MAGIC "NULLRELAY-DROP 1\n"
/* The fixed-width length line, rewritten in place when the message is
 * complete: a file whose length does not match is half-written. */
#define DROP_LENGTH_DIGITS 20
/* Largest envelope part of a drop file relayd will read. */
#define DROP_HEADER_MAX (1024 * 1024)

/* ---- Submission side (sendmail) ---- */

struct drop;

/*
 * Create incoming/tmp/ID (O_EXCL, random id, mode 0640 via fchmod).
 * Returns 0, or a sysexits code (73 when the spool is missing, with the path
 * and how to create it in err, or when the file cannot be created there, e.g.
 * EACCES; 74 for I/O errors and a full disk). The file is open O_RDWR so
 * drop_fd can be read back. Read drop_id before drop_commit (which frees d).
 */
int drop_create(const char *spool, struct drop **out, char *err, size_t errlen);
const char *drop_id(const struct drop *d);

/* Write the magic, the length placeholder, the envelope and the blank line
 * that ends it. Call once, before any drop_write. 0 or a sysexits code. */
int drop_write_envelope(struct drop *d, const struct envelope *e, char *err, size_t errlen);
/* Append message bytes (buffered). 0 or a sysexits code (74 on ENOSPC/EIO). */
int drop_write(struct drop *d, const void *p, size_t n, char *err, size_t errlen);
/* Message bytes written so far. */
uint64_t drop_length(const struct drop *d);
/* The file descriptor and the offset where the message starts, for a
 * second pass over what was written (re-encoding into a second drop). Call
 * drop_flush first. */
int drop_fd(const struct drop *d);
off_t drop_message_offset(const struct drop *d);
int drop_flush(struct drop *d, char *err, size_t errlen);

/*
 * Make it durable and visible: flush, write the real length, fsync, rename
 * into incoming/new, then fsync the directory when we may open it (root) or
 * else fsync the file again (see spool_setup.c). 0 or a sysexits code; on failure
 * nothing is left in incoming/new. Frees d either way.
 */
int drop_commit(struct drop *d, char *err, size_t errlen);
/* Unlink the partial file and free d. */
void drop_abort(struct drop *d);

/* ---- Pick-up side (relayd) ---- */

enum drop_verdict {
	DROP_OK,	/* fd open, header parsed, body at *body_off */
	DROP_NOT_YET,	/* looks unfinished and is young: look again later */
	DROP_REMOVE,	/* not a message (symlink, FIFO, device, ...): unlink it */
	DROP_QUARANTINE,	/* a regular file we refuse: move to quarantine/ */
};

struct drop_file {
	int fd;
	struct stat st;		/* of the open file: st_uid is the submitter */
	struct envelope env;
	off_t body_off;		/* where the message starts */
	uint64_t length;	/* message bytes */
};

/*
 * Open and check incoming/new/NAME as hostile input (SPEC §5.4): lstat first,
 * refuse anything but a regular file with one link, open O_NOFOLLOW|
 * O_NONBLOCK, compare with the lstat, check size against max_size, parse and
 * validate the header and the length. why names the reason when not DROP_OK.
 * On DROP_OK the caller owns df->fd (positioned at body_off) and df->env
 * (drop_file_close). Otherwise df->fd is -1, df->env is empty and df->st
 * holds what was seen (for logging st_uid). A name that vanished is
 * DROP_NOT_YET ("vanished"); DROP_REMOVE may name a directory (rmdir it, or
 * move it to quarantine/ if not empty). max_size 0 = no limit. A length
 * mismatch is DROP_NOT_YET while the mtime is within 60 s of now.
 */
enum drop_verdict drop_file_open(int newdir_fd, const char *name, uint64_t max_size, time_t now,
    struct drop_file *df, char *why, size_t whylen);
void drop_file_close(struct drop_file *df);

/*
 * Create or repair the spool for relay user uid/gid (as root: owners and
 * modes; as that user: check them). 0 or -1 with err.
 */
int spool_setup(const char *spool, uid_t uid, gid_t gid, char *err, size_t errlen);

/* Path helper: "<spool>/<rel>" into out. 0 or -1 if it does not fit. */
int spool_path(char *out, size_t outlen, const char *spool, const char *rel);

#endif
