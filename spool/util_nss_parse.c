/* The entry lines getent prints, parsed (util_nss.h). Apart from the
 * wrappers in util_nss.c so that the unit tests link without --wrap. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util_nss.h"

/* Cut s into n fields at ':' (the last takes the rest, which must hold no
 * ':'); false if there are not exactly n. */
static bool fields(char *s, char **f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *c = strchr(s, ':');

		f[i] = s;
		if (i + 1 == n)
			return c == NULL;
		if (c == NULL)
			return false;
		*c = '\0';
		s = c + 1;
	}
	return false;
}

static bool id_parse(const char *s, unsigned long *out)
{
	const char *errstr = NULL;
	long long v;

	/* (uid_t)-1 means "no change" to setresuid: never an entry's id. */
	v = strtonum(s, 0, (long long)UINT32_MAX - 1, &errstr);
	if (errstr != NULL)
		return false;
	*out = (unsigned long)v;
	return true;
}

/* The line copied into buf, cut into n fields there. */
static int copy_fields(const char *line, char *buf, size_t buflen, char **f, size_t n)
{
	size_t len = strlen(line);

	if (len + 1 > buflen)
		return ERANGE;
	memcpy(buf, line, len + 1);
	return fields(buf, f, n) && f[0][0] != '\0' ? 0 : EINVAL;
}

int nss_passwd_parse(const char *line, struct passwd *pw, char *buf, size_t buflen)
{
	unsigned long uid, gid;
	char *f[7];
	int r;

	if ((r = copy_fields(line, buf, buflen, f, 7)) != 0)
		return r;
	if (!id_parse(f[2], &uid) || !id_parse(f[3], &gid))
		return EINVAL;
	pw->pw_name = f[0];
	pw->pw_passwd = f[1];
	pw->pw_uid = (uid_t)uid;
	pw->pw_gid = (gid_t)gid;
	pw->pw_gecos = f[4];
	pw->pw_dir = f[5];
	pw->pw_shell = f[6];
	return 0;
}

int nss_group_parse(const char *line, struct group *gr, char *buf, size_t buflen)
{
	static char *no_members[1];
	unsigned long gid;
	char *f[4];
	int r;

	if ((r = copy_fields(line, buf, buflen, f, 4)) != 0)
		return r;
	if (!id_parse(f[2], &gid))
		return EINVAL;
	gr->gr_name = f[0];
	gr->gr_passwd = f[1];
	gr->gr_gid = (gid_t)gid;
	gr->gr_mem = no_members;
	return 0;
}
