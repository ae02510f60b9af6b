/*
 * Finding and starting the OAuth2 helper: see oauth2_client.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper_path.h"
#include "oauth2_client.h"

extern char **environ;

int oauth2_client_helper(char *out, size_t outlen, char *err, size_t errlen)
{
	return helper_path(OAUTH2_HELPER_NAME, out, outlen, err, errlen);
}

void oauth2_client_env(char **envp, size_t max, char *home, size_t homelen)
{
	/* The proxies libcurl reads, and the sanitizers' options (make sanitize):
	 * settings, never secrets. */
	static const char *const pass[] = { "https_proxy=", "HTTPS_PROXY=", "all_proxy=",
		"ALL_PROXY=", "no_proxy=", "NO_PROXY=", "ASAN_OPTIONS=", "UBSAN_OPTIONS=" };
	struct passwd *pw = getpwuid(geteuid());
	size_t n = 0, i;
	char **e;

	snprintf(home, homelen, "HOME=%s", pw && pw->pw_dir ? pw->pw_dir : "/");
	if (n < max)
		envp[n++] = (char *)"PATH=/usr/bin:/bin";
	if (n < max)
		envp[n++] = home;
	for (e = environ; e != NULL && *e != NULL; e++)
		for (i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
			if (strncmp(*e, pass[i], strlen(pass[i])) == 0 && n < max)
				envp[n++] = *e;
	envp[n] = NULL;
}

int oauth2_client_check(const struct conf *c, char *note, size_t notelen, char *err,
    size_t errlen)
{
	char helper[4096], why[1024];
	struct stat st;

	note[0] = '\0';
	if (c->oauth2 == OAUTH2_OFF)
		return 0;
	if (oauth2_client_helper(helper, sizeof(helper), why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: oauth2 = %s: %s", c->path, conf_oauth2_name(c->oauth2),
		    why);
		return -1;
	}
	if (c->oauth2_flow != OAUTH2_FLOW_CLIENT_CREDENTIALS &&
	    stat(c->oauth2_token_file, &st) != 0 && errno == ENOENT)
		snprintf(note, notelen, "%s: not signed in to OAuth2 yet (no %s): mail stays "
		    "queued until you run relayd --oauth2-login", c->path, c->oauth2_token_file);
	return 0;
}

void oauth2_client_login(const struct conf *c, char *err, size_t errlen)
{
	char helper[4096], why[1024], *argv[5];

	if (oauth2_client_helper(helper, sizeof(helper), why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s", why);
		return;
	}
	argv[0] = (char *)OAUTH2_HELPER_NAME;
	argv[1] = (char *)"-C";
	argv[2] = c->path;
	argv[3] = (char *)"login";
	argv[4] = NULL;
	execv(helper, argv);
	snprintf(err, errlen, "cannot run %s: %s", helper, strerror(errno));
}
