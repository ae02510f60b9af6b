/*
 * The oauth2* keys (SPEC §2.1): value syntax and the provider presets (the
 * contradictions between them are in conf_oauth2_check.c). The presets are filled here, once, so that
 * relayd -n, relayd and the OAuth2 helper (relayd/oauth2/) see the same
 * endpoints.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_impl.h"
#include "util.h"

#define MS_BASE "https://login.microsoftonline.com/"
#define MS_SCOPE "https://outlook.office.com/SMTP.Send offline_access"
#define MS_APP_SCOPE "https://outlook.office365.com/.default"
#define GOOGLE_TOKEN "https://oauth2.googleapis.com/token"
#define GOOGLE_DEVICE "https://oauth2.googleapis.com/device/code"
#define GOOGLE_AUTH "https://accounts.google.com/o/oauth2/v2/auth"
#define GOOGLE_SCOPE "https://mail.google.com/"
#define URL_MAX 2048

static const char *const provider_names[] = { "off", "microsoft", "google", "generic" };
static const char *const flow_names[] = { "device", "authcode", "client_credentials" };

const char *conf_oauth2_name(enum oauth2_provider p)
{
	return provider_names[p];
}

const char *conf_oauth2_flow_name(enum oauth2_flow f)
{
	return flow_names[f];
}

bool conf_token_configured(const struct conf *c)
{
	return c->auth_token_command != NULL || c->oauth2 != OAUTH2_OFF;
}

const char *conf_val_oauth2(const char *s, enum oauth2_provider *out)
{
	size_t i;

	for (i = 1; i < NR_ARRAY_LEN(provider_names); i++)
		if (strcasecmp(s, provider_names[i]) == 0) {
			*out = (enum oauth2_provider)i;
			return NULL;
		}
	return "expected microsoft, google or generic";
}

const char *conf_val_oauth2_flow(const char *s, enum oauth2_flow *out)
{
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(flow_names); i++)
		if (strcasecmp(s, flow_names[i]) == 0) {
			*out = (enum oauth2_flow)i;
			return NULL;
		}
	return "expected device, authcode or client_credentials";
}

const char *conf_val_https_url(const char *s)
{
	size_t i, len = strlen(s);

	/* The token travels over this: plain http is never acceptable. */
	if (strncasecmp(s, "https://", 8) != 0 || len == 8 || s[8] == '/')
		return "expected an https:// URL (https://host/path)";
	if (len > URL_MAX)
		return "URL too long (at most 2048 bytes)";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '#')
			return "space, control character or '#' in URL";
	return NULL;
}

const char *conf_val_tenant(const char *s)
{
	size_t i, len = strlen(s);

	/* It becomes a path segment of the Microsoft endpoints. */
	if (len == 0 || len > 128)
		return "expected organizations, common, consumers, a tenant id or domain";
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return "expected organizations, common, consumers, a tenant id or domain "
			    "(letters, digits, '-' and '.')";
	return NULL;
}

static void set_default(char **field, char *value)
{
	if (*field == NULL)
		*field = value;
	else
		free(value);
}

void conf_oauth2_defaults(struct conf *c)
{
	const char *t;

	if (c->oauth2 == OAUTH2_OFF)
		return;
	if (!c->oauth2_flow_given)
		c->oauth2_flow = c->oauth2 == OAUTH2_GOOGLE ? OAUTH2_FLOW_AUTHCODE :
		    OAUTH2_FLOW_DEVICE;
	if (c->oauth2 == OAUTH2_MICROSOFT) {
		set_default(&c->oauth2_tenant, xstrdup("organizations"));
		t = c->oauth2_tenant;
		set_default(&c->oauth2_token_url, xasprintf(MS_BASE "%s/oauth2/v2.0/token", t));
		set_default(&c->oauth2_device_url,
		    xasprintf(MS_BASE "%s/oauth2/v2.0/devicecode", t));
		set_default(&c->oauth2_auth_url, xasprintf(MS_BASE "%s/oauth2/v2.0/authorize", t));
		set_default(&c->oauth2_scope, xstrdup(c->oauth2_flow ==
		    OAUTH2_FLOW_CLIENT_CREDENTIALS ? MS_APP_SCOPE : MS_SCOPE));
	} else if (c->oauth2 == OAUTH2_GOOGLE) {
		set_default(&c->oauth2_token_url, xstrdup(GOOGLE_TOKEN));
		set_default(&c->oauth2_device_url, xstrdup(GOOGLE_DEVICE));
		set_default(&c->oauth2_auth_url, xstrdup(GOOGLE_AUTH));
		set_default(&c->oauth2_scope, xstrdup(GOOGLE_SCOPE));
	}
	set_default(&c->oauth2_token_file, xasprintf("%s/oauth2.json", c->spool));
}

void conf_oauth2_free(struct conf *c)
{
	free(c->oauth2_client_id);
	free(c->oauth2_client_secret_file);
	free(c->oauth2_tenant);
	free(c->oauth2_token_url);
	free(c->oauth2_device_url);
	free(c->oauth2_auth_url);
	free(c->oauth2_scope);
	free(c->oauth2_token_file);
	free(c->oauth2_ca_file);
}
