/*
 * The listener's side of one client connection: buffered input shared by
 * commands and message data (PIPELINING), buffered replies flushed before
 * we wait for the client, plain TCP or TLS after STARTTLS, every wait
 * bounded by a deadline (net_deadline) and cut short by SIGTERM.
 */
#ifndef NULLRELAY_LISTEN_CONN_H
#define NULLRELAY_LISTEN_CONN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lconn;
struct tls_server;

enum lc_status {
	LC_OK,
	LC_EOF,		/* the client closed the connection */
	LC_ERROR,	/* reset, TLS error (conn_error says) */
	LC_TIMEOUT,
	LC_STOP,	/* *stop was set while we waited (SIGTERM) */
	LC_LONG,	/* a line longer than the caller's buffer (consumed) */
};

/* fd: a connected socket, made non-blocking here. stop: set by a signal
 * handler; NULL = never. */
struct lconn *conn_new(int fd, volatile sig_atomic_t *stop);
void conn_free(struct lconn *c);
/* While held (DATA under way), SIGTERM does not cut waits short: the
 * transaction is finished first. */
void conn_hold_stop(struct lconn *c, bool hold);

/* Append one reply line (CRLF added; cut to 510 characters). */
void conn_reply(struct lconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum lc_status conn_flush(struct lconn *c, int64_t deadline);

/*
 * One line without its CRLF (or bare LF), NUL-terminated, at most cap-1
 * bytes. Pending replies are flushed first when no whole line is buffered.
 */
enum lc_status conn_read_line(struct lconn *c, char *line, size_t cap, size_t *len,
    int64_t deadline);
/* At least k (<= 16) input bytes buffered, or LC_EOF/... if they never come. */
enum lc_status conn_need(struct lconn *c, size_t k, int64_t deadline);
/* The buffered input, and dropping n bytes of it. */
const char *conn_peek(const struct lconn *c, size_t *avail);
void conn_consume(struct lconn *c, size_t n);
/* Throw away buffered input; returns how many bytes (after STARTTLS:
 * anything sent before the handshake is an injection attempt). */
size_t conn_discard(struct lconn *c);

/* Server handshake. 0 or -1 with err. */
int conn_start_tls(struct lconn *c, struct tls_server *srv, int64_t deadline, char *err,
    size_t errlen);
bool conn_is_tls(const struct lconn *c);
const char *conn_error(const struct lconn *c);

#endif
