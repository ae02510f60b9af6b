/*
 * nullrelay-oauth2: the OAuth2 helper of relayd (SPEC §2.1). It alone links
 * libcurl and json-c, so that the resident relayd stays small; relayd runs
 * it per token (`token`, `refresh`) with a pipe on stdout, and
 * `relayd --oauth2-login` execs it (`login`).
 *
 *   o2_http.c   one HTTPS POST of a form (libcurl), the answer kept in memory
 *   o2_grant.c  the token endpoint's grants and its JSON answers (json-c)
 *   o2_store.c  the token file: locked, read, written durably
 *   o2_token.c  `token` / `refresh`: a valid access token on stdout
 *   o2_login.c  `login`: device flow (RFC 8628), or client credentials
 *   o2_authcode.c  `login` for authcode + PKCE (RFC 7636), loopback redirect
 *   o2_main.c   flags, configuration, no core dumps
 *
 * Every buffer that held a token or secret is wiped with explicit_bzero.
 */
#ifndef NULLRELAY_O2_H
#define NULLRELAY_O2_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"

/* Exit statuses of `token`: relayd treats any non-zero one as temporary. */
#define O2_EXIT_OK 0
#define O2_EXIT_LOGIN_FAILED 1	/* SPEC §2.1: login exits 1 with the provider's error */
#define O2_EXIT_TEMP 75

#define O2_ERR_MAX 768

struct o2 {
	const struct conf *c;
	char *client_secret;	/* NULL: the registration has none */
	long http_timeout;	/* seconds for one whole request */
	long connect_timeout;
};

/* An HTTP answer: status and body (NUL-terminated, at most O2_BODY_MAX). */
#define O2_BODY_MAX (256 * 1024)
struct o2_http {
	long status;
	char *body;
	size_t len;
};

/* o2_http.c. POST form (application/x-www-form-urlencoded) to url. 0 when an
 * answer came (any status), -1 with err on a transport failure. */
int o2_http_post(const struct o2 *o, const char *url, const char *form,
    struct o2_http *r, char *err, size_t errlen);
void o2_http_free(struct o2_http *r);
/* Append "&name=value" (or "name=value" first), value percent-encoded. */
void o2_form_add(char **form, const char *name, const char *value);
/* Wipe and free (NULL is fine). */
void o2_wipe(char *s);
/* Percent-decode s[0..n) into a new string. */
char *o2_urldecode(const char *s, size_t n);

/* o2_grant.c: what the token endpoint gave or said. */
struct o2_tokens {
	char *access_token, *refresh_token;
	long expires_in;		/* 0 if not said */
	char *error, *error_description; /* an OAuth error answer */
};
enum o2_result { O2_OK, O2_OAUTH_ERROR, O2_FAILED };
/* POST form to the token endpoint and read the answer. O2_OK fills access
 * (and refresh when given); O2_OAUTH_ERROR fills error; O2_FAILED: err. */
enum o2_result o2_grant(const struct o2 *o, const char *form, struct o2_tokens *t,
    char *err, size_t errlen);
/* The base form: client_id (+ client_secret when there is one). */
char *o2_form_client(const struct o2 *o);
void o2_tokens_free(struct o2_tokens *t);
/* Parse a JSON object answer; NULL if not JSON. Free with o2_json_free
 * (which wipes every string in it). */
struct json_object *o2_json_parse(const char *body, size_t len);
void o2_json_free(struct json_object *j);
const char *o2_json_str(struct json_object *j, const char *key);
long o2_json_long(struct json_object *j, const char *key, long dflt);
/* "error: description" of an OAuth error for messages. */
void o2_oauth_error(const struct o2_tokens *t, char *out, size_t outlen);

/* o2_store.c: the token file (oauth2_token_file). */
struct o2_store {
	char *refresh_token, *access_token;
	time_t expires_at, refresh_at;
};
/* Take the lock shared by every worker (TOKEN_FILE.lock), waiting at most
 * wait seconds. The fd, or -1 with err. */
int o2_store_lock(const struct conf *c, time_t wait, char *err, size_t errlen);
/* 1 read, 0 no token file yet, -1 refused or unreadable (err). */
int o2_store_read(const struct conf *c, struct o2_store *s, char *err, size_t errlen);
/* Write s atomically and durably (temp file, fsync, rename, fsync dir).
 * 0 or -1 with err. */
int o2_store_write(const struct conf *c, const struct o2_store *s, char *err, size_t errlen);
/* Fill s from a grant's answer (keeping the old refresh token when none came). */
void o2_store_update(struct o2_store *s, struct o2_tokens *t, time_t now);
void o2_store_free(struct o2_store *s);

/* o2_token.c: `token` (fresh = false) or `refresh`. Exit status. */
int o2_token_run(struct o2 *o, bool fresh);
/* o2_login.c: `login`. Exit status. */
int o2_login_run(struct o2 *o);
/* o2_authcode.c: the authorization code grant with PKCE. Fills t. Exit
 * status (0 or 1). */
int o2_authcode_login(struct o2 *o, struct o2_tokens *t);

#endif
