/*
 * The configuration file of SPEC §2 (`key = value`, `#` comments), shared by
 * sendmail and relayd. Every bad line is reported as "FILE:LINE: reason".
 */
#ifndef NULLRELAY_CONF_H
#define NULLRELAY_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CONF_DEFAULT_PATH "/etc/nullrelay/relay.conf"
#define CONF_ENV_VAR "NULLRELAY_CONF"
#define CONF_MAX_SMARTHOSTS 8
#define CONF_MAX_MECHS 4
#define CONF_ERR_MAX 512

enum tls_mode { TLS_STARTTLS, TLS_SMTPS, TLS_NONE };

enum bounce_local { BOUNCE_LOCAL_MBOX, BOUNCE_LOCAL_RELAY, BOUNCE_LOCAL_KEEP };

enum auth_mech { AUTH_PLAIN, AUTH_LOGIN, AUTH_XOAUTH2, AUTH_OAUTHBEARER };

struct smarthost {
	char *host;	   /* name or address literal, without brackets */
	unsigned port;	   /* explicit, else 587 (starttls/none) or 465 (smtps) */
	bool port_given;
};

struct conf {
	char *path;		/* the file this was read from */
	bool file_found;	/* false: default path absent, defaults used */

	char *spool;		/* "/var/spool/nullrelay" */
	char *user;		/* "nullrelay" */
	char *hostname;		/* /etc/mailname, else the FQDN */
	char *default_domain;	/* hostname */
	char *admin_addr;	/* NULL = unset */
	char *from_rewrite;	/* NULL = unset */

	struct smarthost smarthosts[CONF_MAX_SMARTHOSTS];
	size_t nsmarthosts;

	enum tls_mode tls;
	bool tls_verify;
	char *tls_ca_file;
	bool has_fingerprint;
	unsigned char tls_fingerprint[32];
	char *tls_client_cert, *tls_client_key;

	char *auth_user;
	char *auth_password_file;
	char *auth_password_command;
	char *auth_token_command;
	enum auth_mech auth_mechanisms[CONF_MAX_MECHS];
	size_t nauth_mechanisms;	/* default filled in by conf_load */

	char *helo_name;		/* hostname */
	uint64_t max_message_size;	/* 35M; 0 = no limit */
	time_t queue_lifetime;		/* 5d */
	time_t retry_min, retry_max;	/* 1m, 1h */
	time_t delay_warning;		/* 4h; 0 = never */
	unsigned concurrency;		/* 4, range 1..64 */
	unsigned rate_limit_count;	/* 0 = none */
	time_t rate_limit_period;
	char *metrics_file;
	enum bounce_local bounce_local;	/* relay if admin_addr, else mbox */
	bool bounce_local_given;

	/* Not in SPEC §2 but documented in config.example: RFC 5321 §4.5.3.2
	 * timeouts, settable so tests can use short ones. */
	time_t timeout_connect;		/* 30s */
	time_t timeout_greeting;	/* 5m */
	time_t timeout_command;		/* 5m */
	time_t timeout_data_block;	/* 3m */
	time_t timeout_final_dot;	/* 10m */
	time_t rescan_interval;		/* 60s: fallback scan of the drop dir */
	time_t pickup_wait_max;		/* 2m: an incomplete drop file is quarantined
					 * this long after relayd first saw it */
};

/*
 * Which file to read: `explicit_path` (-C) if not NULL, else $NULLRELAY_CONF
 * if set and non-empty, else CONF_DEFAULT_PATH. *must_exist is set to true
 * for the first two (a missing file is then an error).
 */
const char *conf_pick_path(const char *explicit_path, bool *must_exist);

/*
 * Read and check the file. Fills every default, including hostname. Returns 0,
 * or -1 with err holding "FILE:LINE: reason" (or "FILE: reason").
 * A missing file is an error only if must_exist; otherwise defaults apply.
 * Does not require `smarthost`: see conf_check_relay.
 */
int conf_load(const char *path, bool must_exist, struct conf *c, char *err, size_t errlen);

/* The extra checks relayd needs (a smarthost, readable secret of the right
 * owner and mode when relay_uid is not (uid_t)-1, ...). 0 or -1 + err. */
int conf_check_relay(const struct conf *c, long relay_uid, char *err, size_t errlen);

void conf_free(struct conf *c);

/* Value parsers, exported for tests. 0 or -1. */
int conf_parse_duration(const char *s, time_t *out);	/* "90", "30s", "5m", "4h", "5d" */
int conf_parse_size(const char *s, uint64_t *out);	/* "1000", "10k", "35M", "1G" */

const char *conf_mech_name(enum auth_mech m);

#endif
