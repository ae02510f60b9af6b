/*
 * The one rule for files holding a secret (auth_password_file,
 * oauth2_client_secret_file, oauth2_token_file): a regular file owned by the
 * relay user that nobody else can read (mode 0600 or 0400), never followed
 * through a symbolic link. relayd -n (conf_check.c), delivery
 * (relayd/auth.c) and the OAuth2 helper all open a secret file with
 * secret_file_open, so -n never passes a file that delivery then refuses.
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

/*
 * Open the secret file path (named by key) for reading, as every reader of
 * a secret does: O_NOFOLLOW (a symbolic link is refused, never followed),
 * O_NONBLOCK (a FIFO cannot stall us), O_CLOEXEC; then secret_file_check on
 * the fstat of what was opened. The descriptor, or -1 with the reason in err
 * and errno set: ENOENT, the file does not exist; EACCES, the file meets
 * the rule (by lstat) but this process may not open it (relayd -n run by
 * another user, or a reload under Landlock: delivery will say); EPERM, the
 * rule refuses it. Whether ENOENT or EACCES is fine is the caller's to say.
 */
int secret_file_open(const char *key, const char *path, uid_t relay_uid, char *err,
    size_t errlen);

#endif
