/*
 * Internals of the configuration module (conf.h), shared by its files:
 * conf.c (reading lines), conf_keys.c (the key table), conf_values.c (value
 * syntax), conf_check.c (contradictions, relayd's file checks) and
 * conf_error.c (their error messages).
 * Nothing outside spool/conf*.c includes this.
 */
#ifndef NULLRELAY_CONF_IMPL_H
#define NULLRELAY_CONF_IMPL_H

#include <stdarg.h>

#include "conf.h"

enum conf_key {
	K_SPOOL, K_USER, K_HOSTNAME, K_DEFAULT_DOMAIN, K_ADMIN_ADDR, K_FROM_REWRITE,
	K_SMARTHOST, K_TLS, K_TLS_VERIFY, K_TLS_CA_FILE, K_TLS_FINGERPRINT,
	K_TLS_CLIENT_CERT, K_TLS_CLIENT_KEY, K_AUTH_USER, K_AUTH_PASSWORD_FILE,
	K_AUTH_PASSWORD_COMMAND, K_AUTH_TOKEN_COMMAND, K_AUTH_MECHANISMS,
	K_HELO_NAME, K_MAX_MESSAGE_SIZE, K_QUEUE_LIFETIME, K_RETRY_MIN, K_RETRY_MAX,
	K_DELAY_WARNING, K_CONCURRENCY, K_RATE_LIMIT, K_METRICS_FILE, K_BOUNCE_LOCAL,
	K_TIMEOUT_CONNECT, K_TIMEOUT_GREETING, K_TIMEOUT_COMMAND,
	K_TIMEOUT_DATA_BLOCK, K_TIMEOUT_FINAL_DOT, K_RESCAN_INTERVAL,
	K_ALIASES,
	K_OAUTH2, K_OAUTH2_CLIENT_ID, K_OAUTH2_CLIENT_SECRET_FILE, K_OAUTH2_TENANT,
	K_OAUTH2_FLOW, K_OAUTH2_TOKEN_URL, K_OAUTH2_DEVICE_URL, K_OAUTH2_AUTH_URL,
	K_OAUTH2_SCOPE, K_OAUTH2_TOKEN_FILE, K_OAUTH2_CA_FILE,
	K_LISTEN, K_LISTEN_ALLOW, K_LISTEN_AUTH_FILE, K_LISTEN_TLS_CERT, K_LISTEN_TLS_KEY,
	K_LISTEN_MAX_RCPTS,
	K_PICKUP_WAIT_MAX,
	K_NKEYS
};

/* State of one parse: where we are, and on which line each key was set, so
 * that a contradiction can point at the later of the lines involved. */
struct conf_ctx {
	struct conf *c;
	const char *path;
	unsigned line;			/* current line, 1-based */
	unsigned key_line[K_NKEYS];	/* 0 = key not set */
	unsigned smarthost_line[CONF_MAX_SMARTHOSTS];
	char *err;
	size_t errlen;
};

/* conf_keys.c: look key up (-1 if unknown) and apply value to the conf. */
int conf_key_lookup(const char *name);
const char *conf_key_name(int key);
int conf_key_set(struct conf_ctx *x, int key, const char *value);

/* conf_check.c: contradictions between keys, checked after the last line. */
int conf_check_contradictions(struct conf_ctx *x);

/*
 * conf_values.c: value syntax. Each returns NULL on success or a static
 * string saying what a good value looks like (for the error message).
 */
const char *conf_val_duration(const char *s, time_t *out);
const char *conf_val_size(const char *s, uint64_t *out);
const char *conf_val_bool(const char *s, bool *out);
const char *conf_val_concurrency(const char *s, unsigned *out);
const char *conf_val_rate(const char *s, unsigned *count, time_t *period);
const char *conf_val_tls(const char *s, enum tls_mode *out);
const char *conf_val_bounce_local(const char *s, enum bounce_local *out);
const char *conf_val_mechs(const char *s, enum auth_mech *out, size_t *n);
const char *conf_val_fingerprint(const char *s, unsigned char out[32]);
/* host is allocated (xstrdup) on success. */
const char *conf_val_smarthost(const char *s, struct smarthost *out);
const char *conf_val_address(const char *s);
/* conf_listen.c: `listen` (host is allocated on success), `listen_allow`
 * (replaces the list), `listen_max_rcpts`. */
const char *conf_val_listen(const char *s, struct listen_addr *out);
const char *conf_val_allow(const char *s, struct conf_net *out, size_t *n);
const char *conf_val_max_rcpts(const char *s, unsigned *out);
const char *conf_val_hostname(const char *s);
const char *conf_val_path(const char *s);
const char *conf_val_username(const char *s);
bool conf_host_is_loopback(const char *host);
bool conf_is_ip_literal(const char *s);	/* IPv4 or IPv6, no brackets */
bool conf_mech_uses_token(enum auth_mech m);

/* conf_oauth2.c: the oauth2* values and presets; conf_oauth2_check.c: the
 * contradictions. */
const char *conf_val_oauth2(const char *s, enum oauth2_provider *out);
const char *conf_val_oauth2_flow(const char *s, enum oauth2_flow *out);
const char *conf_val_https_url(const char *s);
const char *conf_val_tenant(const char *s);
int conf_oauth2_check(struct conf_ctx *x);
void conf_oauth2_defaults(struct conf *c);
void conf_oauth2_free(struct conf *c);

/* conf_error.c: "PATH:LINE: ..." (line 0: "PATH: ...") into x->err. Returns -1. */
int conf_error(struct conf_ctx *x, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A printable, shortened copy of a user-supplied value for error messages. */
void conf_show(const char *s, char *out, size_t outlen);

#endif
