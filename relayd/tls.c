/*
 * TLS client: see tls.h. The only user of OpenSSL's SSL API (base64 in
 * auth.c aside). A context is built per connection: it is cheap next to a
 * handshake, and a reloaded configuration (SIGHUP) then simply applies to
 * the next connection.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "deadline.h"
#include "tls.h"
#include "util.h"

struct tls_conn {
	SSL *ssl;
	int fd;
	char err[256];
};

/* Put the reason for the last failure into out: the queued OpenSSL error,
 * else errno, else what the caller says. */
static void ssl_reason(int sslerr, const char *fallback, char *out, size_t outlen)
{
	unsigned long e = ERR_peek_last_error();

	if (e != 0) {
		char buf[200];

		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(out, outlen, "%s", buf);
	} else if (sslerr == SSL_ERROR_SYSCALL && errno != 0) {
		snprintf(out, outlen, "%s", strerror(errno));
	} else {
		snprintf(out, outlen, "%s", fallback);
	}
	ERR_clear_error();
}

/* Wait as SSL asked. 1 ready, 0 timeout, -1 other error. */
static int ssl_wait(int fd, int sslerr, int64_t deadline)
{
	if (sslerr == SSL_ERROR_WANT_READ)
		return deadline_poll(fd, POLLIN, deadline, NULL);
	if (sslerr == SSL_ERROR_WANT_WRITE)
		return deadline_poll(fd, POLLOUT, deadline, NULL);
	return -1;
}

/*
 * Drive the handshake of ssl (connect or accept state already set) to its
 * end within the deadline: the client's and the listener's alike. 0, or -1
 * with the reason in err. With verify, a failed certificate check is named
 * as such rather than as the alert it caused.
 */
static int handshake(SSL *ssl, int fd, bool verify, int64_t deadline, char *err, size_t errlen)
{
	for (;;) {
		int rc, e, w;
		char why[200];

		ERR_clear_error();
		errno = 0;
		rc = SSL_do_handshake(ssl);
		if (rc == 1)
			return 0;
		e = SSL_get_error(ssl, rc);
		w = ssl_wait(fd, e, deadline);
		if (w > 0)
			continue;
		if (w == 0) {
			snprintf(err, errlen, "timeout during the TLS handshake");
		} else if (verify && SSL_get_verify_result(ssl) != X509_V_OK) {
			long v = SSL_get_verify_result(ssl);

			ERR_clear_error();
			snprintf(err, errlen, "certificate verify failed: %s",
			    X509_verify_cert_error_string(v));
		} else {
			bool closed = SSL_is_server(ssl) || e == SSL_ERROR_SYSCALL ||
			    e == SSL_ERROR_ZERO_RETURN;

			ssl_reason(e, closed ? "connection closed during the TLS handshake" :
			    "handshake failed", why, sizeof(why));
			snprintf(err, errlen, "TLS handshake failed: %s", why);
		}
		return -1;
	}
}

static struct tls_conn *conn_new(SSL *ssl, int fd)
{
	struct tls_conn *t = xcalloc(1, sizeof(*t));

	t->ssl = ssl;
	t->fd = fd;
	return t;
}

static bool is_ip_literal(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

static SSL_CTX *make_ctx(const struct conf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		ssl_reason(0, "cannot create TLS context", err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* SMTP frames itself (the final dot and its reply): a missing
	 * close_notify from the server is not a truncation attack here. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (c->tls_verify) {
		int ok = c->tls_ca_file != NULL ?
		    SSL_CTX_load_verify_locations(ctx, c->tls_ca_file, NULL) :
		    SSL_CTX_set_default_verify_paths(ctx);

		if (ok != 1) {
			char why[200];

			ssl_reason(0, "unknown error", why, sizeof(why));
			snprintf(err, errlen, "cannot load CA certificates from %s: %s",
			    c->tls_ca_file ? c->tls_ca_file : "the system store", why);
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (c->tls_client_cert != NULL) {
		char why[200];
		const char *what = c->tls_client_cert;

		if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_client_cert) != 1)
			goto certfail;
		what = c->tls_client_key ? c->tls_client_key : c->tls_client_cert;
		if (SSL_CTX_use_PrivateKey_file(ctx, what, SSL_FILETYPE_PEM) != 1)
			goto certfail;
		if (SSL_CTX_check_private_key(ctx) != 1)
			goto certfail;
		return ctx;
certfail:
		ssl_reason(0, "unknown error", why, sizeof(why));
		snprintf(err, errlen, "cannot use client certificate %s: %s", what, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* SHA-256 pin of the leaf certificate. 0 or -1 with err. */
static int check_pin(SSL *ssl, const struct conf *c, char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	char hex[2 * 32 + 1];

	if (cert == NULL) {
		snprintf(err, errlen, "certificate verify failed: server sent no certificate");
		return -1;
	}
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		X509_free(cert);
		snprintf(err, errlen, "cannot compute the certificate fingerprint");
		return -1;
	}
	X509_free(cert);
	if (CRYPTO_memcmp(md, c->tls_fingerprint, 32) == 0)
		return 0;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(err, errlen, "certificate fingerprint mismatch: server presented sha256:%s", hex);
	return -1;
}

struct tls_conn *tls_connect(int fd, const struct conf *c, const char *host,
    int64_t deadline, char *err, size_t errlen)
{
	SSL_CTX *ctx = make_ctx(c, err, errlen);
	SSL *ssl;

	if (ctx == NULL)
		return NULL;
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* ssl holds its own reference */
	if (ssl == NULL) {
		ssl_reason(0, "cannot create TLS session", err, errlen);
		return NULL;
	}
	if (is_ip_literal(host)) {
		/* No SNI for address literals (RFC 6066 §3). */
		if (c->tls_verify &&
		    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
			goto setup_fail;
	} else {
		if (SSL_set_tlsext_host_name(ssl, host) != 1)
			goto setup_fail;
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (c->tls_verify && SSL_set1_host(ssl, host) != 1)
			goto setup_fail;
	}
	if (SSL_set_fd(ssl, fd) != 1)
		goto setup_fail;
	SSL_set_connect_state(ssl);
	if (handshake(ssl, fd, c->tls_verify, deadline, err, errlen) == -1) {
		SSL_free(ssl);
		return NULL;
	}
	if (c->tls_verify && SSL_get_verify_result(ssl) != X509_V_OK) {
		snprintf(err, errlen, "certificate verify failed: %s",
		    X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		SSL_free(ssl);
		return NULL;
	}
	if (c->has_fingerprint && check_pin(ssl, c, err, errlen) == -1) {
		SSL_free(ssl);
		return NULL;
	}
	return conn_new(ssl, fd);

setup_fail:
	ssl_reason(0, "cannot set up the TLS session", err, errlen);
	SSL_free(ssl);
	return NULL;
}

ssize_t tls_read(struct tls_conn *t, void *p, size_t n, int64_t deadline)
{
	for (;;) {
		size_t got = 0;
		int rc, e, w;

		ERR_clear_error();
		errno = 0;
		rc = SSL_read_ex(t->ssl, p, n, &got);
		if (rc == 1)
			return (ssize_t)got;
		e = SSL_get_error(t->ssl, rc);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		w = ssl_wait(t->fd, e, deadline);
		if (w > 0)
			continue;
		if (w == 0)
			return -2;
		if (e == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0)
			return 0;
		ssl_reason(e, "TLS read error", t->err, sizeof(t->err));
		return -1;
	}
}

int tls_write(struct tls_conn *t, const void *p, size_t n, int64_t deadline)
{
	const char *s = p;

	while (n > 0) {
		size_t done = 0;
		int rc, e, w;

		ERR_clear_error();
		errno = 0;
		rc = SSL_write_ex(t->ssl, s, n, &done);
		if (rc == 1) {
			s += done;
			n -= done;
			continue;
		}
		e = SSL_get_error(t->ssl, rc);
		w = ssl_wait(t->fd, e, deadline);
		if (w > 0)
			continue;
		if (w == 0)
			return -2;
		ssl_reason(e, "connection closed", t->err, sizeof(t->err));
		return -1;
	}
	return 0;
}

void tls_describe(const struct tls_conn *t, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s with cipher %s", SSL_get_version(t->ssl),
	    SSL_get_cipher_name(t->ssl));
}

const char *tls_last_error(const struct tls_conn *t)
{
	return t->err[0] ? t->err : "TLS error";
}

void tls_close(struct tls_conn *t, int polite)
{
	if (t == NULL)
		return;
	if (polite)
		(void)SSL_shutdown(t->ssl);	/* one try: never wait for the peer */
	ERR_clear_error();
	SSL_free(t->ssl);
	free(t);
}

/* ---- The listener's server side (STARTTLS, SPEC §6.1) ---- */

struct tls_server {
	SSL_CTX *ctx;
};

struct tls_server *tls_server_new(const char *cert, const char *key, char *err, size_t errlen)
{
	struct tls_server *s;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *what = cert;
	char why[200];

	if (ctx == NULL) {
		ssl_reason(0, "cannot create TLS context", err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Each connection is its own process: a session cache would not be
	 * shared anyway. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		goto fail;
	what = key;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	s = xcalloc(1, sizeof(*s));
	s->ctx = ctx;
	return s;
fail:
	ssl_reason(0, "unknown error", why, sizeof(why));
	snprintf(err, errlen, "cannot use %s: %s", what, why);
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_server_free(struct tls_server *s)
{
	if (s == NULL)
		return;
	SSL_CTX_free(s->ctx);
	free(s);
}

struct tls_conn *tls_accept(struct tls_server *s, int fd, int64_t deadline, char *err,
    size_t errlen)
{
	SSL *ssl = SSL_new(s->ctx);

	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		ssl_reason(0, "cannot create TLS session", err, errlen);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	if (handshake(ssl, fd, false, deadline, err, errlen) == -1) {
		SSL_free(ssl);
		return NULL;
	}
	return conn_new(ssl, fd);
}

size_t tls_pending(const struct tls_conn *t)
{
	int n = SSL_pending(t->ssl);

	return n > 0 ? (size_t)n : 0;
}
