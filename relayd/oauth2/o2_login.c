/*
 * `login` (relayd --oauth2-login): sign the person in once and store the
 * refresh token. The device flow (RFC 8628) is here, authcode + PKCE in
 * o2_authcode.c; client_credentials needs no sign-in, so login only checks
 * that the registration works by fetching one token. Every step says in
 * plain words what the person must do next; a refusal exits 1 with the
 * provider's own error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "o2.h"
#include "util.h"

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

static int failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int failed(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("relayd: OAuth2 sign-in failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	return O2_EXIT_LOGIN_FAILED;
}

/* Store what the sign-in gave: a refresh token is required. */
static int store(struct o2 *o, struct o2_tokens *t)
{
	const struct conf *c = o->c;
	bool app = c->oauth2_flow == OAUTH2_FLOW_CLIENT_CREDENTIALS;
	struct o2_store s;
	char err[O2_ERR_MAX];
	int have, lock;

	if (!app && t->refresh_token == NULL)
		return failed("%s gave an access token but no refresh token, so relayd could "
		    "not renew it; check that the scope includes offline_access (Microsoft) "
		    "or that the consent asked for offline access (Google)", c->oauth2_token_url);
	/* Under the workers' lock: a refresh running now must not overwrite us. */
	if ((lock = o2_store_lock(c, 60, err, sizeof(err))) == -1)
		return failed("%s", err);
	if ((have = o2_store_read(c, &s, err, sizeof(err))) < 0) {
		/* A file of the wrong owner or mode is the operator's to fix. */
		close(lock);
		return failed("%s", err);
	}
	(void)have;
	o2_store_update(&s, t, time(NULL));
	if (o2_store_write(c, &s, err, sizeof(err)) != 0) {
		o2_store_free(&s);
		close(lock);
		return failed("%s", err);
	}
	o2_store_free(&s);
	close(lock);
	if (app)
		printf("The app registration works: relayd got a token for %s with the "
		    "client_credentials grant (no sign-in is needed for it).\n", c->auth_user);
	else
		printf("Signed in. The refresh token is stored in %s.\nrelayd uses it from "
		    "its next delivery attempt: no restart is needed.\n", c->oauth2_token_file);
	fflush(stdout);
	return O2_EXIT_OK;
}

static void wait_seconds(long n)
{
	struct timespec ts = { n, 0 };

	while (nanosleep(&ts, &ts) == -1)
		;
}

static int device_login(struct o2 *o, struct o2_tokens *t)
{
	const struct conf *c = o->c;
	const char *uri, *code, *dev, *complete;
	char err[O2_ERR_MAX], why[400], *form = o2_form_client(o), *device_code;
	struct json_object *j;
	struct o2_http r;
	long interval, expires;
	time_t until;
	int rc = O2_EXIT_LOGIN_FAILED;

	if (c->oauth2_scope != NULL)
		o2_form_add(&form, "scope", c->oauth2_scope);
	if (o2_http_post(o, c->oauth2_device_url, form, &r, err, sizeof(err)) != 0) {
		o2_wipe(form);
		return failed("cannot reach the device authorization endpoint: %s", err);
	}
	o2_wipe(form);
	if ((j = o2_json_parse(r.body, r.len)) == NULL) {
		o2_http_free(&r);
		return failed("%s answered HTTP %ld with something that is not a JSON object",
		    c->oauth2_device_url, r.status);
	}
	o2_http_free(&r);
	if (o2_json_str(j, "error") != NULL) {
		struct o2_tokens e = { 0 };

		e.error = xstrdup(o2_json_str(j, "error"));
		if (o2_json_str(j, "error_description") != NULL)
			e.error_description = xstrdup(o2_json_str(j, "error_description"));
		o2_oauth_error(&e, why, sizeof(why));
		o2_tokens_free(&e);
		o2_json_free(j);
		return failed("the provider said: %s", why);
	}
	dev = o2_json_str(j, "device_code");
	code = o2_json_str(j, "user_code");
	/* Google says verification_url, RFC 8628 verification_uri. */
	uri = o2_json_str(j, "verification_uri");
	if (uri == NULL)
		uri = o2_json_str(j, "verification_url");
	complete = o2_json_str(j, "verification_uri_complete");
	if (dev == NULL || code == NULL || uri == NULL) {
		o2_json_free(j);
		return failed("%s did not answer a device_code, user_code and verification_uri",
		    c->oauth2_device_url);
	}
	interval = o2_json_long(j, "interval", 5);
	expires = o2_json_long(j, "expires_in", 900);
	printf("To let relayd send mail as %s, sign in from any device with a browser:\n"
	    "  1. open   %s\n  2. enter  %s\n", c->auth_user, uri, code);
	if (complete != NULL)
		printf("  (or open %s, which carries the code)\n", complete);
	printf("then sign in as %s and accept. The code is valid for %ld minutes.\n"
	    "Waiting for you to finish...\n", c->auth_user, (expires + 59) / 60);
	fflush(stdout);
	device_code = xstrdup(dev);
	o2_json_free(j);

	until = time(NULL) + expires;
	for (;;) {
		enum o2_result res;

		wait_seconds(interval);
		form = o2_form_client(o);
		o2_form_add(&form, "grant_type", DEVICE_GRANT);
		o2_form_add(&form, "device_code", device_code);
		res = o2_grant(o, form, t, err, sizeof(err));
		o2_wipe(form);
		if (res == O2_OK) {
			rc = O2_EXIT_OK;
			break;
		}
		if (res == O2_FAILED) {
			/* A network hiccup while the person types: keep polling. */
			fprintf(stderr, "relayd: polling the token endpoint: %s (retrying)\n", err);
		} else if (strcmp(t->error, "authorization_pending") == 0) {
			;	/* not yet */
		} else if (strcmp(t->error, "slow_down") == 0) {
			interval += 5;	/* RFC 8628 §3.5 */
		} else if (strcmp(t->error, "expired_token") == 0) {
			o2_oauth_error(t, why, sizeof(why));
			rc = failed("the code expired before the sign-in was finished (the provider "
			    "said: %s); run relayd --oauth2-login again", why);
			break;
		} else {
			o2_oauth_error(t, why, sizeof(why));
			rc = failed("the provider said: %s", why);
			break;
		}
		o2_tokens_free(t);
		if (time(NULL) > until) {
			rc = failed("the code expired before the sign-in was finished; run relayd "
			    "--oauth2-login again");
			break;
		}
	}
	o2_wipe(device_code);
	return rc;
}

static int app_login(struct o2 *o, struct o2_tokens *t)
{
	const struct conf *c = o->c;
	char err[O2_ERR_MAX], why[400], *form = o2_form_client(o);
	enum o2_result res;

	o2_form_add(&form, "grant_type", "client_credentials");
	if (c->oauth2_scope != NULL)
		o2_form_add(&form, "scope", c->oauth2_scope);
	res = o2_grant(o, form, t, err, sizeof(err));
	o2_wipe(form);
	if (res == O2_FAILED)
		return failed("%s", err);
	if (res == O2_OAUTH_ERROR) {
		o2_oauth_error(t, why, sizeof(why));
		return failed("the provider said: %s", why);
	}
	return O2_EXIT_OK;
}

int o2_login_run(struct o2 *o)
{
	struct o2_tokens t;
	int rc;

	memset(&t, 0, sizeof(t));
	switch (o->c->oauth2_flow) {
	case OAUTH2_FLOW_DEVICE:
		rc = device_login(o, &t);
		break;
	case OAUTH2_FLOW_AUTHCODE:
		rc = o2_authcode_login(o, &t);
		break;
	default:
		printf("oauth2_flow = client_credentials needs no sign-in; checking the app "
		    "registration...\n");
		fflush(stdout);
		rc = app_login(o, &t);
		break;
	}
	if (rc == O2_EXIT_OK)
		rc = store(o, &t);
	o2_tokens_free(&t);
	return rc;
}
