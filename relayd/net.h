/*
 * The network layer of the SMTP client: connect with a timeout to every
 * address of a name in order, buffered line reads and whole writes with
 * poll() deadlines (deadline.h), over plain TCP or TLS (tls.h). Knows
 * nothing of SMTP.
 */
#ifndef NULLRELAY_NET_H
#define NULLRELAY_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"

struct net;

enum net_status {
	NET_OK = 0,
	NET_EOF = -1,		/* the peer closed the connection */
	NET_ERROR = -2,		/* reset, TLS error, ... (net_error says) */
	NET_TIMEOUT = -3,
};

/*
 * Resolve host (getaddrinfo, IPv4 and IPv6) and try each address in order
 * until one connects within timeout seconds each. TCP_NODELAY is set: we
 * write whole command batches, so Nagle only adds delay. NULL with the
 * reason (naming every address tried) in err.
 */
struct net *net_connect(const char *host, unsigned port, time_t timeout, char *err, size_t errlen);

/* The connected peer as text ("192.0.2.1", "2001:db8::1"). */
const char *net_peer_addr(const struct net *n);
/* True if the connected address (not the name) is a loopback address. */
bool net_peer_loopback(const struct net *n);

/* Start TLS on the connection (STARTTLS or implicit). 0 or -1 with err. */
int net_start_tls(struct net *n, const struct conf *c, const char *host, int64_t deadline,
    char *err, size_t errlen);
bool net_is_tls(const struct net *n);
/* "TLSv1.3 with cipher ..." or "" when plain. */
void net_tls_describe(const struct net *n, char *out, size_t outlen);
/* True if bytes already received are waiting in the buffer (a server that
 * pipelines before we asked, e.g. data after a STARTTLS reply). */
bool net_buffered(const struct net *n);

/*
 * Read one line ending in LF (CR before it removed) into line (NUL-
 * terminated). A longer line than cap-1 is truncated and the rest of it
 * discarded; *truncated says so. NET_OK or an error.
 */
enum net_status net_read_line(struct net *n, char *line, size_t cap, size_t *len,
    bool *truncated, int64_t deadline);
/* Write all of p in as few system calls as the kernel allows. */
enum net_status net_write(struct net *n, const void *p, size_t len, int64_t deadline);
/* Why the last call failed ("Connection reset by peer", a TLS error). */
const char *net_error(const struct net *n);

void net_close(struct net *n, bool polite);

#endif
