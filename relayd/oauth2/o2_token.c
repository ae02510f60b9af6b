/*
 * `token` and `refresh`: print a valid access token on stdout (a pipe to
 * relayd's worker), and nothing else. Under the token file's lock: the
 * cached access token if it is not near expiry (and not `refresh`), else one
 * refresh — refresh_token grant, or client_credentials — whose result is
 * stored durably before the new access token is printed. A failure prints
 * one line "oauth2: why" instead (never a token) and exits non-zero: relayd
 * defers the mail, it never bounces it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "o2.h"
#include "util.h"

static int say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int say(const char *fmt, ...)
{
	va_list ap;

	fputs("oauth2: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
	fflush(stdout);
	return O2_EXIT_TEMP;
}

static int print_token(const char *tok)
{
	size_t n = strlen(tok);

	if (io_write_all(STDOUT_FILENO, tok, n) != 0 || io_write_all(STDOUT_FILENO, "\n", 1) != 0)
		return O2_EXIT_TEMP;
	return O2_EXIT_OK;
}

/* One grant at the token endpoint, its result stored. 0 or an exit status. */
static int refresh(struct o2 *o, struct o2_store *s)
{
	const struct conf *c = o->c;
	bool app = c->oauth2_flow == OAUTH2_FLOW_CLIENT_CREDENTIALS;
	char err[O2_ERR_MAX], why[400], *form = o2_form_client(o);
	struct o2_tokens t;
	enum o2_result r;
	bool rotated;

	if (app) {
		o2_form_add(&form, "grant_type", "client_credentials");
	} else {
		o2_form_add(&form, "grant_type", "refresh_token");
		o2_form_add(&form, "refresh_token", s->refresh_token);
	}
	if (c->oauth2_scope != NULL)
		o2_form_add(&form, "scope", c->oauth2_scope);
	r = o2_grant(o, form, &t, err, sizeof(err));
	o2_wipe(form);
	if (r == O2_FAILED)
		return say("token endpoint failed: %s", err);
	if (r == O2_OAUTH_ERROR) {
		o2_oauth_error(&t, why, sizeof(why));
		if (!app && strcmp(t.error, "invalid_grant") == 0) {
			o2_tokens_free(&t);
			return say("the refresh token was refused (%s): run relayd --oauth2-login "
			    "to sign in again", why);
		}
		o2_tokens_free(&t);
		return say("the token endpoint refused the %s grant (%s)",
		    app ? "client_credentials" : "refresh_token", why);
	}
	rotated = !app && t.refresh_token != NULL &&
	    strcmp(t.refresh_token, s->refresh_token) != 0;
	o2_store_update(s, &t, time(NULL));
	o2_tokens_free(&t);
	if (o2_store_write(c, s, err, sizeof(err)) != 0)
		return say("%s", err);
	/* Never the tokens themselves: what happened, and until when. */
	log_info("new access token for %s from %s (%s grant), valid for %lds",
	    c->auth_user, c->oauth2_token_url, app ? "client_credentials" : "refresh_token",
	    (long)(s->expires_at - time(NULL)));
	if (rotated)
		log_info("the provider rotated the refresh token; the new one is stored "
		    "durably in %s", c->oauth2_token_file);
	return 0;
}

int o2_token_run(struct o2 *o, bool fresh)
{
	const struct conf *c = o->c;
	char err[O2_ERR_MAX];
	struct o2_store s;
	int lock, rc, have;

	lock = o2_store_lock(c, o->http_timeout, err, sizeof(err));
	if (lock == -1)
		return say("%s", err);
	have = o2_store_read(c, &s, err, sizeof(err));
	if (have < 0) {
		close(lock);
		return say("%s", err);
	}
	if (c->oauth2_flow != OAUTH2_FLOW_CLIENT_CREDENTIALS &&
	    (have == 0 || s.refresh_token == NULL)) {
		o2_store_free(&s);
		close(lock);
		return say("not signed in: no refresh token in %s; run relayd --oauth2-login",
		    c->oauth2_token_file);
	}
	if (fresh || s.access_token == NULL || time(NULL) >= s.refresh_at) {
		if ((rc = refresh(o, &s)) != 0) {
			o2_store_free(&s);
			close(lock);
			return rc;
		}
	}
	/* Stored (if new) before it is used: now it may go to relayd. */
	rc = print_token(s.access_token);
	o2_store_free(&s);
	close(lock);
	return rc;
}
