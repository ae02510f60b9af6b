/*
 * Where relayd's helper programs are (nullrelay-smtp, nullrelay-oauth2):
 * beside the running relayd (the build tree: relayd/relayd), in
 * ../lib/nullrelay/ from it (make install's default: PREFIX/sbin/relayd
 * and PREFIX/lib/nullrelay/), or in the LIBEXECDIR the binary was built
 * for (make install LIBEXECDIR=...), and last in the build folder it was
 * built in, if only root or its own user can write there (a relayd copied
 * out of the tree alone). Found through /proc/self/exe, never through PATH.
 */
#ifndef NULLRELAY_HELPER_PATH_H
#define NULLRELAY_HELPER_PATH_H

#include <stddef.h>

/* 0 with the path of name in out, or -1 with err naming where it looked. */
int helper_path(const char *name, char *out, size_t outlen, char *err, size_t errlen);

#endif
