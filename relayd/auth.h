/*
 * SASL for the SMTP client: the client responses of PLAIN (RFC 4616), LOGIN,
 * XOAUTH2 (Google's) and OAUTHBEARER (RFC 7628), base64 through OpenSSL, and
 * fetching the secret (password file, password command, token command).
 * The dialogue itself is in smtp.c. Every returned secret-bearing string is
 * released with auth_free(), which wipes it.
 */
#ifndef NULLRELAY_AUTH_H
#define NULLRELAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/* Largest secret a command may print (its first line is used). */
#define AUTH_SECRET_MAX (16 * 1024)

/* Base64 (no line breaks) of p; allocated. */
char *auth_b64_encode(const void *p, size_t n);
/* Decode s (whitespace not allowed; padding required). Allocated and NUL-
 * terminated (the NUL not counted in *outlen). NULL if s is not base64. */
unsigned char *auth_b64_decode(const char *s, size_t *outlen);

/* The base64 client responses. */
char *auth_plain_response(const char *user, const char *pass);
char *auth_xoauth2_response(const char *user, const char *token);
char *auth_oauthbearer_response(const char *user, const char *host, unsigned port,
    const char *token);

/* True if m needs an OAuth token rather than a password. */
bool auth_mech_is_token(enum auth_mech m);
/* True if the configuration gives us a secret usable with m. */
bool auth_can_use(const struct conf *c, enum auth_mech m);

/*
 * Fetch the password (token = false: auth_password_file, else
 * auth_password_command) or the OAuth token (auth_token_command). The file
 * must be a regular file owned by the current user with mode 0600 or 0400
 * (checked at each use, not only at start-up); its first line is used. A
 * command runs as `/bin/sh -c CMD` with PATH and HOME only in its
 * environment, stdin from /dev/null, within timeout seconds; its exit status
 * must be 0 and its first line of output is used (at most AUTH_SECRET_MAX
 * bytes). Returns the secret (free with auth_free) or NULL with the reason
 * in err (which never contains the secret).
 */
char *auth_secret_fetch(const struct conf *c, bool token, time_t timeout, char *err, size_t errlen);

/*
 * The OAuth token alone: from auth_token_command, or with oauth2 set from the
 * built-in helper (oauth2_client.h), which keeps a cached access token until
 * near its expiry; fresh = true asks it for a new one (the smarthost refused
 * the cached one). A failure with oauth2 has a reason starting "oauth2: ".
 */
char *auth_token_fetch(const struct conf *c, bool fresh, time_t timeout, char *err,
    size_t errlen);

/*
 * Run auth_password_command and auth_token_command now (a worker, before
 * it confines itself) and hand out copies of what they printed from then
 * on; a fresh token (the smarthost refused one) runs the command again.
 */
void auth_prefetch(const struct conf *c);

/* Wipe and free a string holding a secret (NULL is fine). */
void auth_free(char *s);

#endif
