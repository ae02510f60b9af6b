/*
 * The contradictions between the oauth2* keys and the other AUTH keys
 * (SPEC §2.1), checked after the last line; each error points at the later
 * of the lines involved. Apart from conf_oauth2.c (the values and presets)
 * so that the key table, which calls the value parsers, and this check,
 * which names keys from the table, do not call each other.
 */
#include <strings.h>

#include "conf_impl.h"
#include "util.h"

static unsigned later_of(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

static unsigned latest(const struct conf_ctx *x, const int *k, size_t n)
{
	unsigned l = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (x->key_line[k[i]] > l)
			l = x->key_line[k[i]];
	return l;
}

int conf_oauth2_check(struct conf_ctx *x)
{
	static const int okeys[] = { K_OAUTH2_CLIENT_ID, K_OAUTH2_CLIENT_SECRET_FILE,
		K_OAUTH2_TENANT, K_OAUTH2_FLOW, K_OAUTH2_TOKEN_URL, K_OAUTH2_DEVICE_URL,
		K_OAUTH2_AUTH_URL, K_OAUTH2_SCOPE, K_OAUTH2_TOKEN_FILE, K_OAUTH2_CA_FILE };
	static const int pw[] = { K_AUTH_PASSWORD_FILE, K_AUTH_PASSWORD_COMMAND };
	const struct conf *c = x->c;
	const unsigned *kl = x->key_line;
	unsigned ol = kl[K_OAUTH2], end = latest(x, okeys, NR_ARRAY_LEN(okeys));
	enum oauth2_flow flow = c->oauth2_flow_given ? c->oauth2_flow :
	    c->oauth2 == OAUTH2_GOOGLE ? OAUTH2_FLOW_AUTHCODE : OAUTH2_FLOW_DEVICE;
	size_t i;

	if (c->oauth2 == OAUTH2_OFF) {
		for (i = 0; i < NR_ARRAY_LEN(okeys); i++)
			if (kl[okeys[i]] != 0)
				return conf_error(x, kl[okeys[i]], "%s is set but oauth2 is not "
				    "(set oauth2 = microsoft, google or generic)",
				    conf_key_name(okeys[i]));
		return 0;
	}
	end = end > ol ? end : ol;
	if (c->auth_token_command != NULL)
		return conf_error(x, end > kl[K_AUTH_TOKEN_COMMAND] ? end :
		    kl[K_AUTH_TOKEN_COMMAND], "oauth2 and auth_token_command are both set: "
		    "with oauth2 relayd gets the token itself, remove auth_token_command");
	for (i = 0; i < NR_ARRAY_LEN(pw); i++)
		if (kl[pw[i]] != 0)
			return conf_error(x, end > kl[pw[i]] ? end : kl[pw[i]], "oauth2 and %s are "
			    "both set: keep one", conf_key_name(pw[i]));
	if (c->auth_user == NULL)
		return conf_error(x, ol, "oauth2 is set but auth_user is not (set auth_user to "
		    "the mailbox address the token is for)");
	if (c->oauth2_client_id == NULL)
		return conf_error(x, ol, "oauth2 is set but oauth2_client_id is not (the "
		    "application (client) id of your app registration)");
	if (kl[K_OAUTH2_TENANT] != 0 && c->oauth2 != OAUTH2_MICROSOFT)
		return conf_error(x, later_of(ol, kl[K_OAUTH2_TENANT]),
		    "oauth2_tenant applies to oauth2 = microsoft only");
	if (flow == OAUTH2_FLOW_CLIENT_CREDENTIALS) {
		if (c->oauth2 == OAUTH2_GOOGLE)
			return conf_error(x, later_of(ol, kl[K_OAUTH2_FLOW]), "oauth2_flow = "
			    "client_credentials is not offered by Google (use authcode or device)");
		if (c->oauth2_client_secret_file == NULL)
			return conf_error(x, later_of(ol, kl[K_OAUTH2_FLOW]), "oauth2_flow = "
			    "client_credentials needs oauth2_client_secret_file");
		if (c->oauth2 == OAUTH2_MICROSOFT && (c->oauth2_tenant == NULL ||
		    strcasecmp(c->oauth2_tenant, "organizations") == 0 ||
		    strcasecmp(c->oauth2_tenant, "common") == 0 ||
		    strcasecmp(c->oauth2_tenant, "consumers") == 0))
			return conf_error(x, later_of(ol, kl[K_OAUTH2_FLOW]), "oauth2_flow = "
			    "client_credentials needs oauth2_tenant set to your tenant id or "
			    "domain (not organizations or common)");
	}
	if (c->oauth2 != OAUTH2_GENERIC)
		return 0;
	if (c->oauth2_token_url == NULL)
		return conf_error(x, ol, "oauth2 = generic needs oauth2_token_url");
	if (flow == OAUTH2_FLOW_DEVICE && c->oauth2_device_url == NULL)
		return conf_error(x, end, "oauth2 = generic with oauth2_flow = device needs "
		    "oauth2_device_url");
	if (flow == OAUTH2_FLOW_AUTHCODE && c->oauth2_auth_url == NULL)
		return conf_error(x, end, "oauth2 = generic with oauth2_flow = authcode needs "
		    "oauth2_auth_url");
	return 0;
}
