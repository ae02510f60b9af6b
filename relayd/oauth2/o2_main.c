/*
 * nullrelay-oauth2 [-C FILE] [-f] login|token|refresh — see o2.h. Run by
 * relayd (token, refresh: as the relay user, stdout a pipe) and by
 * `relayd --oauth2-login` (login: already switched to the relay user).
 * Not meant to be run by hand, though it does no harm.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "o2.h"
#include "conf_secret.h"
#include "util.h"

#define SECRET_MAX 4096

static void usage(void)
{
	fprintf(stderr, "usage: nullrelay-oauth2 [-C FILE] [-f] login|token|refresh\n"
	    "(relayd runs it; to sign in, run relayd --oauth2-login)\n");
	exit(EX_USAGE);
}

/* The first line of the client secret file, judged by the secret rule. */
static char *read_client_secret(const char *path, char *err, size_t errlen)
{
	char buf[SECRET_MAX + 1], *out = NULL;
	struct stat st;
	ssize_t n;
	size_t l;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1) {
		snprintf(err, errlen, "oauth2_client_secret_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1)
		snprintf(err, errlen, "oauth2_client_secret_file %s: %s", path, strerror(errno));
	else if (secret_file_check("oauth2_client_secret_file", path, &st, geteuid(), err,
	    errlen) == 0) {
		n = io_read_full(fd, buf, SECRET_MAX);
		l = 0;
		if (n > 0) {
			char *nl = memchr(buf, '\n', (size_t)n);

			l = nl != NULL ? (size_t)(nl - buf) : (size_t)n;
			if (l > 0 && buf[l - 1] == '\r')
				l--;
		}
		if (n < 0)
			snprintf(err, errlen, "oauth2_client_secret_file %s: %s", path,
			    strerror(errno));
		else if (l == 0 || memchr(buf, '\0', l) != NULL)
			snprintf(err, errlen, "oauth2_client_secret_file %s: %s", path,
			    l == 0 ? "empty first line" : "contains a NUL byte");
		else
			out = xstrndup(buf, l);
		explicit_bzero(buf, sizeof(buf));
	}
	close(fd);
	return out;
}

static void no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	/* The same rule as relayd's: tokens never reach a core file. */
	if (setrlimit(RLIMIT_CORE, &rl) == -1 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		printf("oauth2: cannot disable core dumps: %s\n", strerror(errno));
		exit(O2_EXIT_TEMP);
	}
}

int main(int argc, char **argv)
{
	const char *path = NULL, *mode;
	bool foreground = false, must_exist, login;
	char err[CONF_ERR_MAX];
	struct o2 o;
	struct conf c;
	int ch, rc;

	no_core_dumps();
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "C:f")) != -1) {
		switch (ch) {
		case 'C': path = optarg; break;
		case 'f': foreground = true; break;
		default: usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	mode = argv[optind];
	login = strcmp(mode, "login") == 0;
	if (!login && strcmp(mode, "token") != 0 && strcmp(mode, "refresh") != 0)
		usage();
	/* login talks to a person on stderr; token's log lines go where relayd's do. */
	log_init("nullrelay/oauth2", foreground || login);
	path = conf_pick_path(path, &must_exist);
	if (conf_load(path, must_exist, &c, err, sizeof(err)) != 0) {
		if (login)
			fprintf(stderr, "relayd: %s\n", err);
		else
			printf("oauth2: %s\n", err);
		return login ? EX_CONFIG : O2_EXIT_TEMP;
	}
	if (c.oauth2 == OAUTH2_OFF) {
		if (login)
			fprintf(stderr, "relayd: %s: oauth2 is not set: there is nothing to sign "
			    "in to (set oauth2 = microsoft, google or generic)\n", c.path);
		else
			printf("oauth2: %s: oauth2 is not set\n", c.path);
		conf_free(&c);
		return login ? EX_CONFIG : O2_EXIT_TEMP;
	}
	memset(&o, 0, sizeof(o));
	o.c = &c;
	if (login) {
		o.http_timeout = 30;
		o.connect_timeout = 15;
	} else {
		/* Done well inside relayd's bound (timeout_command), so a refresh
		 * that got an answer always has time to store it. */
		o.http_timeout = (long)c.timeout_command * 2 / 3;
		o.http_timeout = o.http_timeout < 1 ? 1 : o.http_timeout > 60 ? 60 : o.http_timeout;
		o.connect_timeout = (long)c.timeout_connect < o.http_timeout ?
		    (long)c.timeout_connect : o.http_timeout;
	}
	if (c.oauth2_client_secret_file != NULL &&
	    (o.client_secret = read_client_secret(c.oauth2_client_secret_file, err,
	    sizeof(err))) == NULL) {
		if (login)
			fprintf(stderr, "relayd: %s\n", err);
		else
			printf("oauth2: %s\n", err);
		conf_free(&c);
		return login ? EX_CONFIG : O2_EXIT_TEMP;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		printf("oauth2: cannot initialise libcurl\n");
		o2_wipe(o.client_secret);
		conf_free(&c);
		return O2_EXIT_TEMP;
	}
	if (login)
		rc = o2_login_run(&o);
	else
		rc = o2_token_run(&o, strcmp(mode, "refresh") == 0);
	curl_global_cleanup();
	o2_wipe(o.client_secret);
	conf_free(&c);
	return rc;
}
