/*
 * The listener's users (SPEC §2 `listen_auth_file`): "user:hash" lines, the
 * hash in any format crypt(3) knows (yescrypt $y$, SHA-512 $6$, bcrypt $2b$,
 * ...), checked with libcrypt; and the SASL PLAIN/LOGIN server side.
 */
#ifndef NULLRELAY_LISTEN_AUTH_H
#define NULLRELAY_LISTEN_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct listen_users;

/*
 * Read the file: "#" comments and blank lines skipped, every other line
 * "user:hash". The file must be a regular file not writable by group or
 * others. NULL with "PATH:LINE: reason" in err.
 */
struct listen_users *listen_users_load(const char *path, char *err, size_t errlen);
void listen_users_free(struct listen_users *u);
size_t listen_users_count(const struct listen_users *u);

/* Does pass match user's hash? An unknown user costs a hash too, so the
 * time taken does not tell which names exist. */
bool listen_users_check(const struct listen_users *u, const char *user, const char *pass);

/*
 * Decode a PLAIN response (RFC 4616: base64 of authzid NUL authcid NUL
 * passwd). user and pass are allocated (free pass with auth_free). 0, or -1
 * if it is not base64 or not in that form, or authzid names someone else.
 */
int listen_sasl_plain(const char *b64, char **user, char **pass);

#endif
