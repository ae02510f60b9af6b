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

#define CONF_MAX_LISTEN 8
#define CONF_MAX_ALLOW 32

enum tls_mode { TLS_STARTTLS, TLS_SMTPS, TLS_NONE };

enum bounce_local { BOUNCE_LOCAL_MBOX, BOUNCE_LOCAL_RELAY, BOUNCE_LOCAL_KEEP };

enum auth_mech { AUTH_PLAIN, AUTH_LOGIN, AUTH_XOAUTH2, AUTH_OAUTHBEARER };

/* Built-in OAuth2 (SPEC §2.1): the provider preset and the grant. */
enum oauth2_provider { OAUTH2_OFF, OAUTH2_MICROSOFT, OAUTH2_GOOGLE, OAUTH2_GENERIC };
enum oauth2_flow { OAUTH2_FLOW_DEVICE, OAUTH2_FLOW_AUTHCODE, OAUTH2_FLOW_CLIENT_CREDENTIALS };

struct smarthost {
	char *host;	   /* name or address literal, without brackets */
	unsigned port;	   /* explicit, else 587 (starttls/none) or 465 (smtps) */
	bool port_given;
};

/* One `listen` address (SPEC §6.1). */
struct listen_addr {
	char *host;	/* IPv4 or IPv6 literal, without brackets */
	unsigned port;
};

/* One `listen_allow` network: family AF_INET or AF_INET6, the address in
 * network order (4 or 16 bytes used) and the prefix length. */
struct conf_net {
	int family;
	unsigned char addr[16];
	unsigned bits;
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

	char *aliases;		/* NULL = /etc/aliases when it exists; "" = none */
	/* Built-in OAuth2 (SPEC §2.1). conf_oauth2.c fills the presets: after
	 * conf_load, with oauth2 set, token_url, scope and token_file are set,
	 * and device_url / auth_url when the flow needs them. */
	enum oauth2_provider oauth2;	/* OAUTH2_OFF */
	enum oauth2_flow oauth2_flow;	/* device; authcode for google */
	bool oauth2_flow_given;
	char *oauth2_client_id;
	char *oauth2_client_secret_file;
	char *oauth2_tenant;		/* "organizations" (microsoft) */
	char *oauth2_token_url, *oauth2_device_url, *oauth2_auth_url;
	char *oauth2_scope;
	char *oauth2_token_file;	/* SPOOL/oauth2.json */
	char *oauth2_ca_file;		/* NULL: the system store */
	/* The SMTP listener (SPEC §2, §6.1). */
	struct listen_addr listens[CONF_MAX_LISTEN];
	size_t nlistens;
	struct conf_net listen_allow[CONF_MAX_ALLOW];	/* default: 127.0.0.0/8, ::1 */
	size_t nlisten_allow;
	char *listen_auth_file;		/* NULL: no AUTH asked */
	char *listen_tls_cert, *listen_tls_key;	/* NULL: no STARTTLS */
	unsigned listen_max_rcpts;	/* 100 */
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

/* True if an OAuth2 token can be had: auth_token_command or oauth2. */
bool conf_token_configured(const struct conf *c);
/* "microsoft", "google", "generic" (or "off"); "device", "authcode",
 * "client_credentials". */
const char *conf_oauth2_name(enum oauth2_provider p);
const char *conf_oauth2_flow_name(enum oauth2_flow f);
/* Is the address (family AF_INET/AF_INET6, network order) inside net? */
bool conf_net_match(const struct conf_net *net, int family, const void *addr);

#endif
