/*
 * Small helpers shared by sendmail and relayd: checked allocation, a growable
 * buffer with a hard cap, whole reads/writes, durable directory syncs and
 * random identifiers.
 */
#ifndef NULLRELAY_UTIL_H
#define NULLRELAY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that never returns NULL: on failure the process exits with
 * EX_OSERR after one line on stderr (there is nothing sensible to do). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A byte buffer that grows up to `max` bytes and refuses to grow further
 * (curl's dynbuf idea): every append reports truncation instead of hiding it.
 * The data is always NUL-terminated (the NUL is not counted in len).
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* 0 on success, -1 if the result would exceed b->max (b unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appends(struct buf *b, const char *s);
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Format a reason into err (a caller's buffer; NULL or 0 length: ignored). */
void err_format(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Write all of p, retrying on EINTR and short writes. 0 or -1 (errno set). */
int io_write_all(int fd, const void *p, size_t n);
/* Read up to n bytes, retrying on EINTR and short reads; returns bytes read
 * (less than n only at end of file) or -1. */
ssize_t io_read_full(int fd, void *p, size_t n);

/* fsync a directory by path. 0 or -1 (errno set). */
int io_fsync_dir(const char *path);

/* Fill out with n random bytes from the kernel (getrandom). */
void random_bytes(void *out, size_t n);

/* A new queue identifier: 16 upper-case hex digits, the first 8 the
 * submission time in seconds so that ids sort by arrival. out >= 17 bytes. */
void queue_id_new(char out[17]);
/* True if s is a well-formed queue identifier as made by queue_id_new. */
bool queue_id_valid(const char *s);

/* RFC 5322 date of t in local time ("Sun, 22 Nov 2026 12:00:00 +0000").
 * out >= 64 bytes. */
void time_rfc5322_date(time_t t, char *out, size_t outlen);

/* Monotonic and wall clocks in seconds, as doubles for delay arithmetic. */
double time_monotonic(void);
double time_wall(void);

#endif
