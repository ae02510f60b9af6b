/*
 * TLS for the SMTP client: the only file that calls OpenSSL's SSL API.
 * A connection is made over a connected non-blocking socket; every call
 * waits with poll() until a deadline (milliseconds of CLOCK_MONOTONIC, see
 * deadline.h).
 */
#ifndef NULLRELAY_TLS_H
#define NULLRELAY_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

struct tls_conn;

/*
 * Handshake as a client on fd for host (a name, or an IPv4/IPv6 literal):
 * TLS >= 1.2, SNI for names, chain and host-name verification unless
 * tls_verify = no, the tls_fingerprint pin of the leaf certificate, the
 * client certificate. NULL with a clear reason in err on failure
 * ("certificate verify failed: hostname mismatch", ...).
 */
struct tls_conn *tls_connect(int fd, const struct conf *c, const char *host,
    int64_t deadline, char *err, size_t errlen);

/* Bytes read (> 0), 0 at end of stream, -1 on error, -2 on timeout. */
ssize_t tls_read(struct tls_conn *t, void *p, size_t n, int64_t deadline);
/* Write all of p: 0, -1 on error, -2 on timeout. */
int tls_write(struct tls_conn *t, const void *p, size_t n, int64_t deadline);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384", for the log. */
void tls_describe(const struct tls_conn *t, char *out, size_t outlen);
/* The last error, for the caller's log line. */
const char *tls_last_error(const struct tls_conn *t);
/* Send close_notify when polite (best effort, no waiting) and free. */
void tls_close(struct tls_conn *t, int polite);

/*
 * The listener's STARTTLS (SPEC §6.1): a server context from the PEM
 * certificate chain and key (NULL with the reason in err), and a server
 * handshake on a connected non-blocking socket. The connection then uses
 * tls_read, tls_write and tls_close like a client one.
 */
struct tls_server;
struct tls_server *tls_server_new(const char *cert, const char *key, char *err, size_t errlen);
void tls_server_free(struct tls_server *s);
struct tls_conn *tls_accept(struct tls_server *s, int fd, int64_t deadline, char *err,
    size_t errlen);
/* Decrypted bytes waiting inside OpenSSL (poll on the socket misses them). */
size_t tls_pending(const struct tls_conn *t);

#endif
