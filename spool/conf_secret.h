/*
 * The one rule for files holding a secret (auth_password_file,
 * oauth2_client_secret_file, oauth2_token_file): a regular file owned by the
 * relay user that nobody else can read (mode 0600 or 0400). relayd -n
 * (conf_check.c), delivery (relayd/auth.c) and the OAuth2 helper all judge
 * a file by this function, on a stat they made themselves.
 */
#ifndef NULLRELAY_SECRET_H
#define NULLRELAY_SECRET_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* 0 if st (of path, named by key in messages) is acceptable for a secret of
 * the user relay_uid; else -1 with a reason and the command that fixes it
 * in err (never the file's content). */
int secret_file_check(const char *key, const char *path, const struct stat *st,
    uid_t relay_uid, char *err, size_t errlen);

#endif
