/* Finding relayd's helper programs: see helper_path.h. */
#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper_path.h"

#ifndef NULLRELAY_LIBEXECDIR
#define NULLRELAY_LIBEXECDIR "/usr/local/lib/nullrelay"
#endif
#ifndef NULLRELAY_BUILDDIR
#define NULLRELAY_BUILDDIR ""
#endif

/*
 * The build tree is the last place looked in, for a relayd copied out of
 * it alone: only when the program and its folder belong to root or to us
 * and nobody else may write them, since the program will hold the
 * smarthost secret.
 */
static bool trusted(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && (st.st_uid == 0 || st.st_uid == geteuid()) &&
	    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static int try_path(const char *dir, const char *rel, const char *name, char *out,
    size_t outlen)
{
	struct stat st;
	int n = snprintf(out, outlen, "%s/%s%s", dir, rel, name);

	if (n < 0 || (size_t)n >= outlen)
		return -1;
	if (stat(out, &st) != 0 || !S_ISREG(st.st_mode) || access(out, X_OK) != 0)
		return -1;
	return 0;
}

int helper_path(const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
	char exe[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0) {
		snprintf(err, errlen, "cannot find the %s program: /proc/self/exe: %s", name,
		    strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL) {
		snprintf(err, errlen, "cannot find the %s program", name);
		return -1;
	}
	*slash = '\0';
	if (try_path(exe, "", name, out, outlen) == 0 ||
	    try_path(exe, "../lib/nullrelay/", name, out, outlen) == 0 ||
	    try_path(NULLRELAY_LIBEXECDIR, "", name, out, outlen) == 0)
		return 0;
	if (NULLRELAY_BUILDDIR[0] == '/' && trusted(NULLRELAY_BUILDDIR) &&
	    try_path(NULLRELAY_BUILDDIR, "", name, out, outlen) == 0 && trusted(out))
		return 0;
	snprintf(err, errlen, "the %s program is missing: looked for %s/%s, "
	    "%s/../lib/nullrelay/%s and %s/%s (make install puts it there)", name, exe, name,
	    exe, name, NULLRELAY_LIBEXECDIR, name);
	return -1;
}
