/*
 * The pick-up side of the spool (relayd): every name in incoming/new was put
 * there by some local user and is hostile until proven otherwise (SPEC §5.4,
 * OpenSMTPD's offline_enqueue). Nothing is opened before lstat says it is a
 * regular file with one link, so no FIFO can block us and no hard link can
 * make us read a file its submitter could not read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "util.h"

/* A file whose length does not match is given this long to finish. */
#define DROP_YOUNG_SECS 60
#define READ_CHUNK 8192
/* The header buffer starts this big and doubles up to DROP_HEADER_MAX. */
#define HEADER_START 4096

static const char *type_name(mode_t m)
{
	if (S_ISLNK(m))
		return "symlink";
	if (S_ISFIFO(m))
		return "FIFO";
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "device";
	if (S_ISDIR(m))
		return "directory";
	return "non-regular file";
}

/*
 * why is logged by the caller, and parts of it (a name, an envelope line)
 * come from the submitter: rewrite any control byte left in it as \xNN in
 * place, cutting the end if need be, so no one can forge a log line.
 */
static void escape_controls(char *why, size_t whylen)
{
	char tmp[1024];
	size_t i, o = 0;

	if (whylen == 0)
		return;
	for (i = 0; why[i] != '\0' && o + 5 < sizeof(tmp); i++) {
		unsigned char c = (unsigned char)why[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "\\x%02x", c);
		else
			tmp[o++] = (char)c;
	}
	tmp[o] = '\0';
	strlcpy(why, tmp, whylen);
}

static enum drop_verdict verdict(struct drop_file *df, enum drop_verdict v, char *why,
    size_t whylen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Give up on the file: close it, free the envelope, say why. */
static enum drop_verdict verdict(struct drop_file *df, enum drop_verdict v, char *why,
    size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (df->fd != -1)
		close(df->fd);
	df->fd = -1;
	envelope_free(&df->env);
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	escape_controls(why, whylen);
	return v;
}

static bool young(const struct stat *st, time_t now)
{
	/* A future mtime beyond the same margin counts as old: a submitter
	 * must not keep a file "young" for ever by dating it ahead. */
	return st->st_mtime > now - DROP_YOUNG_SECS && st->st_mtime <= now + DROP_YOUNG_SECS;
}

/*
 * Read the header (up to and including the blank line) into *h, a buffer
 * of *cap bytes that grows by doubling up to DROP_HEADER_MAX: a 300-byte
 * file costs a few KiB, not the whole allowance. Returns 1 with *hdrlen if
 * complete, 0 if the file ended first, -1 if the header is longer than
 * DROP_HEADER_MAX, -2 on a read error (errno set). *got is what was read.
 */
static int read_header(int fd, char **h, size_t *cap, size_t *hdrlen, size_t *got)
{
	size_t len = 0;

	for (;;) {
		size_t want = DROP_HEADER_MAX - len < READ_CHUNK ? DROP_HEADER_MAX - len : READ_CHUNK;
		size_t from = len ? len - 1 : 0;
		ssize_t n;
		char *end;

		if (want == 0)
			return -1;
		while (*cap - len < want) {
			*cap = *cap > DROP_HEADER_MAX / 2 ? DROP_HEADER_MAX : *cap * 2;
			*h = xreallocarray(*h, *cap, 1);
		}
		if ((n = io_read_full(fd, *h + len, want)) < 0)
			return -2;
		len += (size_t)n;
		*got = len;
		/* The header ends at the first empty line: "\n\n". */
		if ((end = memmem(*h + from, len - from, "\n\n", 2)) != NULL) {
			*hdrlen = (size_t)(end - *h) + 2;
			return 1;
		}
		if ((size_t)n < want)
			return 0;
	}
}

/* Parse "length " + exactly DROP_LENGTH_DIGITS digits. */
static int parse_length(const char *line, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len != 7 + DROP_LENGTH_DIGITS || memcmp(line, "length ", 7) != 0)
		return -1;
	for (i = 7; i < len; i++) {
		unsigned d;

		if (line[i] < '0' || line[i] > '9')
			return -1;
		d = (unsigned)(line[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Check the magic, the length line and the envelope lines of hdr (hdrlen
 * bytes, ending in "\n\n"). 0, or -1 with why. */
static int parse_header(struct drop_file *df, const char *hdr, size_t hdrlen, char *why,
    size_t whylen)
{
	size_t maglen = strlen(DROP_MAGIC);
	const char *p, *end = hdr + hdrlen - 1;	/* at the blank line */
	const char *nl;
	char err[256];

	if (hdrlen < maglen || memcmp(hdr, DROP_MAGIC, maglen) != 0) {
		snprintf(why, whylen, "bad magic (not a nullrelay drop file)");
		return -1;
	}
	p = hdr + maglen;
	nl = memchr(p, '\n', (size_t)(end - p) + 1);
	if (p == end || nl == NULL || parse_length(p, (size_t)(nl - p), &df->length) == -1) {
		snprintf(why, whylen, "bad length line");
		return -1;
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		int r;

		nl = memchr(p, '\n', (size_t)(end - p) + 1);
		r = envelope_parse_line(&df->env, p, (size_t)(nl - p), err, sizeof(err));
		if (r != 0) {
			snprintf(why, whylen, "bad envelope: %s", err);
			return -1;
		}
	}
	if (df->env.sender == NULL) {
		snprintf(why, whylen, "bad envelope: no sender line");
		return -1;
	}
	if (df->env.nrcpts == 0) {
		snprintf(why, whylen, "bad envelope: no rcpt line");
		return -1;
	}
	return 0;
}

/* Everything after the lstat: open, re-check, size, header, length. */
static enum drop_verdict check_open(int newdir_fd, const char *name, const struct stat *lst,
    uint64_t max_size, time_t now, struct drop_file *df, char *why, size_t whylen)
{
	uint64_t limit = max_size == 0 || max_size > UINT64_MAX - DROP_HEADER_MAX ?
	    UINT64_MAX : max_size + DROP_HEADER_MAX;
	uint64_t present;
	char reason[320];
	size_t hdrlen = 0, got = 0, maglen = strlen(DROP_MAGIC), cap = HEADER_START;
	char *hdr;
	int r;

	df->fd = openat(newdir_fd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (df->fd == -1) {
		if (errno == ENOENT || errno == ELOOP)
			return verdict(df, DROP_NOT_YET, why, whylen, "changed while checked: %s",
			    strerror(errno));
		return verdict(df, DROP_QUARANTINE, why, whylen, "cannot open: %s",
		    strerror(errno));
	}
	if (fstat(df->fd, &df->st) == -1)
		return verdict(df, DROP_NOT_YET, why, whylen, "fstat: %s", strerror(errno));
	if (df->st.st_dev != lst->st_dev || df->st.st_ino != lst->st_ino)
		return verdict(df, DROP_NOT_YET, why, whylen, "raced: replaced while checked");
	if (!S_ISREG(df->st.st_mode))
		return verdict(df, DROP_QUARANTINE, why, whylen, "not a regular file");
	if (df->st.st_nlink != 1)
		return verdict(df, DROP_QUARANTINE, why, whylen, "%ju hard links",
		    (uintmax_t)df->st.st_nlink);
	if ((uint64_t)df->st.st_size > limit)
		return verdict(df, DROP_QUARANTINE, why, whylen,
		    "oversized: %jd bytes, limit %" PRIu64, (intmax_t)df->st.st_size, limit);

	hdr = xmalloc(cap);
	r = read_header(df->fd, &hdr, &cap, &hdrlen, &got);
	/* Not ours at all (wrong magic) is said first, whatever else is wrong. */
	if (r != -2 && memcmp(hdr, DROP_MAGIC, got < maglen ? got : maglen) != 0) {
		snprintf(reason, sizeof(reason), "bad magic (not a nullrelay drop file)");
		r = -3;
	} else if (r == 1 && parse_header(df, hdr, hdrlen, reason, sizeof(reason)) == -1) {
		r = -3;
	}
	free(hdr);
	if (r == -3)
		return verdict(df, DROP_QUARANTINE, why, whylen, "%s", reason);
	if (r == -2)
		return verdict(df, DROP_NOT_YET, why, whylen, "read: %s", strerror(errno));
	if (r == -1)
		return verdict(df, DROP_QUARANTINE, why, whylen, "header over %d bytes",
		    DROP_HEADER_MAX);
	if (r == 0)
		return verdict(df, young(&df->st, now) ? DROP_NOT_YET : DROP_QUARANTINE, why,
		    whylen, "header incomplete (%jd bytes, no blank line)",
		    (intmax_t)df->st.st_size);

	df->body_off = (off_t)hdrlen;
	present = (uint64_t)df->st.st_size - hdrlen;
	if (present != df->length) {
		if (young(&df->st, now))
			return verdict(df, DROP_NOT_YET, why, whylen,
			    "length %" PRIu64 " but %" PRIu64 " bytes present (still being written?)",
			    df->length, present);
		return verdict(df, DROP_QUARANTINE, why, whylen,
		    "half-written: length %" PRIu64 " but %" PRIu64 " bytes present", df->length,
		    present);
	}
	if (lseek(df->fd, df->body_off, SEEK_SET) == -1)
		return verdict(df, DROP_NOT_YET, why, whylen, "lseek: %s", strerror(errno));
	return DROP_OK;
}

enum drop_verdict drop_file_open(int newdir_fd, const char *name, uint64_t max_size, time_t now,
    struct drop_file *df, char *why, size_t whylen)
{
	struct stat lst;

	memset(df, 0, sizeof(*df));
	df->fd = -1;
	envelope_init(&df->env);
	if (whylen > 0)
		why[0] = '\0';

	if (fstatat(newdir_fd, name, &lst, AT_SYMLINK_NOFOLLOW) == -1)
		return verdict(df, DROP_NOT_YET, why, whylen, "vanished: %s", strerror(errno));
	df->st = lst;
	if (!S_ISREG(lst.st_mode))
		return verdict(df, DROP_REMOVE, why, whylen, "%s refused", type_name(lst.st_mode));
	if (lst.st_nlink != 1)
		return verdict(df, DROP_QUARANTINE, why, whylen, "%ju hard links",
		    (uintmax_t)lst.st_nlink);
	if (!queue_id_valid(name)) {
		char shown[LOG_SAFE_SIZE(40)], head[41];

		strlcpy(head, name, sizeof(head));
		return verdict(df, DROP_QUARANTINE, why, whylen,
		    "bad name (not a queue id): %s", log_safe(head, shown, sizeof(shown)));
	}
	return check_open(newdir_fd, name, &lst, max_size, now, df, why, whylen);
}

void drop_file_close(struct drop_file *df)
{
	if (df->fd != -1)
		close(df->fd);
	df->fd = -1;
	envelope_free(&df->env);
}
