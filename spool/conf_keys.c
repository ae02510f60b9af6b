/*
 * The keys of SPEC §2 (plus the timeout keys of conf.h): one table row per
 * key saying what kind of value it takes and where it is stored.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conf_impl.h"
#include "util.h"

enum kind {
	V_PATH,		/* absolute path */
	V_ADDR,		/* user@domain */
	V_HOST,		/* host name */
	V_HELO,		/* host name or [address literal] */
	V_USER,		/* local account name */
	V_TEXT,		/* free text without control characters (commands, AUTH user) */
	V_DURATION,	/* >= min_secs */
	V_SIZE,
	V_BOOL,
	V_SMARTHOST, V_TLS, V_FINGERPRINT, V_MECHS, V_CONCURRENCY, V_RATE, V_BOUNCE,
	V_ALIASES,
	V_OAUTH2, V_OAUTH2_FLOW, V_URL, V_TENANT,
	V_LISTEN, V_ALLOW, V_MAX_RCPTS,
};

struct keydef {
	const char *name;
	enum kind kind;
	size_t off;		/* offset of the field in struct conf */
	time_t min_secs;	/* V_DURATION only */
};

#define F(field) offsetof(struct conf, field)

/* Indexed by enum conf_key: the order must match conf_impl.h. */
static const struct keydef keys[K_NKEYS] = {
	[K_SPOOL] = { "spool", V_PATH, F(spool), 0 },
	[K_USER] = { "user", V_USER, F(user), 0 },
	[K_HOSTNAME] = { "hostname", V_HOST, F(hostname), 0 },
	[K_DEFAULT_DOMAIN] = { "default_domain", V_HOST, F(default_domain), 0 },
	[K_ADMIN_ADDR] = { "admin_addr", V_ADDR, F(admin_addr), 0 },
	[K_FROM_REWRITE] = { "from_rewrite", V_ADDR, F(from_rewrite), 0 },
	[K_SMARTHOST] = { "smarthost", V_SMARTHOST, 0, 0 },
	[K_TLS] = { "tls", V_TLS, 0, 0 },
	[K_TLS_VERIFY] = { "tls_verify", V_BOOL, F(tls_verify), 0 },
	[K_TLS_CA_FILE] = { "tls_ca_file", V_PATH, F(tls_ca_file), 0 },
	[K_TLS_FINGERPRINT] = { "tls_fingerprint", V_FINGERPRINT, 0, 0 },
	[K_TLS_CLIENT_CERT] = { "tls_client_cert", V_PATH, F(tls_client_cert), 0 },
	[K_TLS_CLIENT_KEY] = { "tls_client_key", V_PATH, F(tls_client_key), 0 },
	[K_AUTH_USER] = { "auth_user", V_TEXT, F(auth_user), 0 },
	[K_AUTH_PASSWORD_FILE] = { "auth_password_file", V_PATH, F(auth_password_file), 0 },
	[K_AUTH_PASSWORD_COMMAND] = { "auth_password_command", V_TEXT,
		F(auth_password_command), 0 },
	[K_AUTH_TOKEN_COMMAND] = { "auth_token_command", V_TEXT, F(auth_token_command), 0 },
	[K_AUTH_MECHANISMS] = { "auth_mechanisms", V_MECHS, 0, 0 },
	[K_HELO_NAME] = { "helo_name", V_HELO, F(helo_name), 0 },
	[K_MAX_MESSAGE_SIZE] = { "max_message_size", V_SIZE, F(max_message_size), 0 },
	[K_QUEUE_LIFETIME] = { "queue_lifetime", V_DURATION, F(queue_lifetime), 1 },
	[K_RETRY_MIN] = { "retry_min", V_DURATION, F(retry_min), 1 },
	[K_RETRY_MAX] = { "retry_max", V_DURATION, F(retry_max), 1 },
	[K_DELAY_WARNING] = { "delay_warning", V_DURATION, F(delay_warning), 0 },
	[K_CONCURRENCY] = { "concurrency", V_CONCURRENCY, 0, 0 },
	[K_RATE_LIMIT] = { "rate_limit", V_RATE, 0, 0 },
	[K_METRICS_FILE] = { "metrics_file", V_PATH, F(metrics_file), 0 },
	[K_BOUNCE_LOCAL] = { "bounce_local", V_BOUNCE, 0, 0 },
	[K_TIMEOUT_CONNECT] = { "timeout_connect", V_DURATION, F(timeout_connect), 1 },
	[K_TIMEOUT_GREETING] = { "timeout_greeting", V_DURATION, F(timeout_greeting), 1 },
	[K_TIMEOUT_COMMAND] = { "timeout_command", V_DURATION, F(timeout_command), 1 },
	[K_TIMEOUT_DATA_BLOCK] = { "timeout_data_block", V_DURATION, F(timeout_data_block), 1 },
	[K_TIMEOUT_FINAL_DOT] = { "timeout_final_dot", V_DURATION, F(timeout_final_dot), 1 },
	[K_RESCAN_INTERVAL] = { "rescan_interval", V_DURATION, F(rescan_interval), 1 },
	[K_ALIASES] = { "aliases", V_ALIASES, F(aliases), 0 },
	[K_OAUTH2] = { "oauth2", V_OAUTH2, 0, 0 },
	[K_OAUTH2_CLIENT_ID] = { "oauth2_client_id", V_TEXT, F(oauth2_client_id), 0 },
	[K_OAUTH2_CLIENT_SECRET_FILE] = { "oauth2_client_secret_file", V_PATH,
		F(oauth2_client_secret_file), 0 },
	[K_OAUTH2_TENANT] = { "oauth2_tenant", V_TENANT, F(oauth2_tenant), 0 },
	[K_OAUTH2_FLOW] = { "oauth2_flow", V_OAUTH2_FLOW, 0, 0 },
	[K_OAUTH2_TOKEN_URL] = { "oauth2_token_url", V_URL, F(oauth2_token_url), 0 },
	[K_OAUTH2_DEVICE_URL] = { "oauth2_device_url", V_URL, F(oauth2_device_url), 0 },
	[K_OAUTH2_AUTH_URL] = { "oauth2_auth_url", V_URL, F(oauth2_auth_url), 0 },
	[K_OAUTH2_SCOPE] = { "oauth2_scope", V_TEXT, F(oauth2_scope), 0 },
	[K_OAUTH2_TOKEN_FILE] = { "oauth2_token_file", V_PATH, F(oauth2_token_file), 0 },
	[K_OAUTH2_CA_FILE] = { "oauth2_ca_file", V_PATH, F(oauth2_ca_file), 0 },
	[K_LISTEN] = { "listen", V_LISTEN, 0, 0 },
	[K_LISTEN_ALLOW] = { "listen_allow", V_ALLOW, 0, 0 },
	[K_LISTEN_AUTH_FILE] = { "listen_auth_file", V_PATH, F(listen_auth_file), 0 },
	[K_LISTEN_TLS_CERT] = { "listen_tls_cert", V_PATH, F(listen_tls_cert), 0 },
	[K_LISTEN_TLS_KEY] = { "listen_tls_key", V_PATH, F(listen_tls_key), 0 },
	[K_LISTEN_MAX_RCPTS] = { "listen_max_rcpts", V_MAX_RCPTS, 0, 0 },
	[K_PICKUP_WAIT_MAX] = { "pickup_wait_max", V_DURATION, F(pickup_wait_max), 1 },
};

int conf_key_lookup(const char *name)
{
	int i;

	for (i = 0; i < K_NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

const char *conf_key_name(int key)
{
	return keys[key].name;
}

static const char *check_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return "control character in value";
	return NULL;
}

static const char *check_helo(const char *s)
{
	static const char syntax[] =
	    "expected a host name or an address literal such as [192.0.2.1]";
	size_t len = strlen(s);
	char lit[64];

	if (s[0] != '[')
		return conf_val_hostname(s);
	/* An address literal (RFC 5321 §4.1.3), for hosts without a name. */
	if (len < 3 || len - 2 >= sizeof lit || s[len - 1] != ']')
		return syntax;
	memcpy(lit, s + 1, len - 2);
	lit[len - 2] = '\0';
	if (strncmp(lit, "IPv6:", 5) == 0)
		return conf_is_ip_literal(lit + 5) ? NULL : syntax;
	return conf_is_ip_literal(lit) ? NULL : syntax;
}

static const char *set_value(struct conf_ctx *x, const struct keydef *k, const char *v)
{
	struct conf *c = x->c;
	char *base = (char *)c;
	const char *why = NULL;

	switch (k->kind) {
	case V_PATH: why = conf_val_path(v); break;
	case V_ALIASES:
		/* "none": no aliases file at all, not even /etc/aliases. */
		if (strcmp(v, "none") == 0)
			v = "";
		else
			why = conf_val_path(v);
		break;
	case V_ADDR: why = conf_val_address(v); break;
	case V_HOST: why = conf_val_hostname(v); break;
	case V_HELO: why = check_helo(v); break;
	case V_USER: why = conf_val_username(v); break;
	case V_TEXT: why = check_text(v); break;
	case V_URL: why = conf_val_https_url(v); break;
	case V_TENANT: why = conf_val_tenant(v); break;
	case V_DURATION: {
		time_t t;

		if ((why = conf_val_duration(v, &t)) == NULL && t < k->min_secs)
			why = "must be at least 1s";
		if (why == NULL)
			memcpy(base + k->off, &t, sizeof t);
		return why;
	}
	case V_SIZE:
		return conf_val_size(v, (uint64_t *)(void *)(base + k->off));
	case V_BOOL:
		return conf_val_bool(v, (bool *)(void *)(base + k->off));
	case V_SMARTHOST:
		if (c->nsmarthosts == CONF_MAX_SMARTHOSTS)
			return "too many smarthost lines (at most 8)";
		if ((why = conf_val_smarthost(v, &c->smarthosts[c->nsmarthosts])) == NULL)
			x->smarthost_line[c->nsmarthosts++] = x->line;
		return why;
	case V_TLS:
		return conf_val_tls(v, &c->tls);
	case V_FINGERPRINT:
		if ((why = conf_val_fingerprint(v, c->tls_fingerprint)) == NULL)
			c->has_fingerprint = true;
		return why;
	case V_MECHS:
		return conf_val_mechs(v, c->auth_mechanisms, &c->nauth_mechanisms);
	case V_CONCURRENCY:
		return conf_val_concurrency(v, &c->concurrency);
	case V_RATE:
		return conf_val_rate(v, &c->rate_limit_count, &c->rate_limit_period);
	case V_OAUTH2:
		return conf_val_oauth2(v, &c->oauth2);
	case V_OAUTH2_FLOW:
		if ((why = conf_val_oauth2_flow(v, &c->oauth2_flow)) == NULL)
			c->oauth2_flow_given = true;
		return why;
	case V_BOUNCE:
		if ((why = conf_val_bounce_local(v, &c->bounce_local)) == NULL)
			c->bounce_local_given = true;
		return why;
	case V_LISTEN:
		if (c->nlistens == CONF_MAX_LISTEN)
			return "too many listen lines (at most 8)";
		if ((why = conf_val_listen(v, &c->listens[c->nlistens])) == NULL)
			c->nlistens++;
		return why;
	case V_ALLOW:
		return conf_val_allow(v, c->listen_allow, &c->nlisten_allow);
	case V_MAX_RCPTS:
		return conf_val_max_rcpts(v, &c->listen_max_rcpts);
	}
	if (why == NULL) {
		/* A string key: replace the default. */
		char **field = (char **)(void *)(base + k->off);

		free(*field);
		*field = xstrdup(v);
	}
	return why;
}

int conf_key_set(struct conf_ctx *x, int key, const char *value)
{
	const struct keydef *k = &keys[key];
	char shown[128];
	const char *why;

	if (x->key_line[key] != 0 && key != K_SMARTHOST && key != K_LISTEN)
		return conf_error(x, x->line, "duplicate key %s (first set on line %u)",
		    k->name, x->key_line[key]);
	conf_show(value, shown, sizeof shown);
	if ((why = set_value(x, k, value)) != NULL)
		return conf_error(x, x->line, "bad value \"%s\" for %s: %s", shown, k->name, why);
	if (x->key_line[key] == 0)
		x->key_line[key] = x->line;
	return 0;
}
