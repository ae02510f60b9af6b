/*
 * Reading the configuration file (SPEC §2): which file, its lines, comments,
 * `key = value` splitting, and the defaults that depend on other keys.
 * The keys themselves are in conf_keys.c, value syntax in conf_values.c,
 * contradictions and relayd's file checks in conf_check.c, the error
 * messages all of them make in conf_error.c.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_impl.h"
#include "util.h"

/* A longer line is not a configuration line: refuse it rather than guess. */
#define CONF_LINE_MAX 4096
#define MAILNAME_PATH "/etc/mailname"

const char *conf_pick_path(const char *explicit_path, bool *must_exist)
{
	const char *env;

	*must_exist = true;
	if (explicit_path != NULL)
		return explicit_path;
	env = getenv(CONF_ENV_VAR);
	if (env != NULL && env[0] != '\0')
		return env;
	*must_exist = false;
	return CONF_DEFAULT_PATH;
}

static void set_defaults(struct conf *c)
{
	c->spool = xstrdup("/var/spool/nullrelay");
	c->user = xstrdup("nullrelay");
	c->tls = TLS_STARTTLS;
	c->tls_verify = true;
	c->max_message_size = (uint64_t)35 * 1024 * 1024;
	c->queue_lifetime = 5 * 86400;
	c->retry_min = 60;
	c->retry_max = 3600;
	c->delay_warning = 4 * 3600;
	c->concurrency = 4;
	c->bounce_local = BOUNCE_LOCAL_MBOX;
	c->timeout_connect = 30;
	c->timeout_greeting = 300;
	c->timeout_command = 300;
	c->timeout_data_block = 180;
	c->timeout_final_dot = 600;
	c->rescan_interval = 60;
	c->listen_max_rcpts = 100;
	/* Loopback only until listen_allow says otherwise. */
	(void)conf_val_allow("127.0.0.0/8, ::1", c->listen_allow, &c->nlisten_allow);
	c->pickup_wait_max = 120;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\f' || *s == '\v')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n' ||
	    e[-1] == '\f' || e[-1] == '\v'))
		*--e = '\0';
	return s;
}

/* /etc/mailname's first line, as Debian's MTAs use it; else the FQDN. */
static char *default_hostname(void)
{
	char buf[256], *name = NULL, *t;
	FILE *f = fopen(MAILNAME_PATH, "r");
	struct addrinfo hints, *res = NULL;

	if (f != NULL) {
		if (fgets(buf, sizeof buf, f) != NULL && *(t = trim(buf)) != '\0')
			name = xstrdup(t);
		fclose(f);
		if (name != NULL)
			return name;
	}
	if (gethostname(buf, sizeof buf) != 0 || buf[0] == '\0')
		return xstrdup("localhost");
	buf[sizeof buf - 1] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(buf, NULL, &hints, &res) == 0 && res != NULL &&
	    res->ai_canonname != NULL && res->ai_canonname[0] != '\0')
		name = xstrdup(res->ai_canonname);
	if (res != NULL)
		freeaddrinfo(res);
	return name != NULL ? name : xstrdup(buf);
}

/* Defaults that depend on other keys, filled after the last line. */
static void derive_defaults(struct conf *c)
{
	bool password = c->auth_password_file != NULL || c->auth_password_command != NULL;
	bool token = conf_token_configured(c);
	size_t i;

	if (c->hostname == NULL)
		c->hostname = default_hostname();
	if (c->default_domain == NULL)
		c->default_domain = xstrdup(c->hostname);
	if (c->helo_name == NULL)
		c->helo_name = xstrdup(c->hostname);
	if (c->nauth_mechanisms == 0) {
		if (password || !token) {
			c->auth_mechanisms[c->nauth_mechanisms++] = AUTH_PLAIN;
			c->auth_mechanisms[c->nauth_mechanisms++] = AUTH_LOGIN;
		}
		if (token) {
			c->auth_mechanisms[c->nauth_mechanisms++] = AUTH_XOAUTH2;
			c->auth_mechanisms[c->nauth_mechanisms++] = AUTH_OAUTHBEARER;
		}
	}
	if (!c->bounce_local_given)
		c->bounce_local = c->admin_addr != NULL ? BOUNCE_LOCAL_RELAY : BOUNCE_LOCAL_MBOX;
	for (i = 0; i < c->nsmarthosts; i++)
		if (!c->smarthosts[i].port_given)
			c->smarthosts[i].port = c->tls == TLS_SMTPS ? 465 : 587;
	conf_oauth2_defaults(c);
}

/* One line (already without its newline). 0, or -1 with x->err set. */
static int parse_line(struct conf_ctx *x, char *line)
{
	char *p, *eq, *key, *value, shown[128];
	int k;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	/* A trailing comment starts at a '#' after white space; a '#' inside a
	 * word (a command's argument, say) is kept. */
	for (p = line + 1; *p != '\0'; p++)
		if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	line = trim(line);
	if ((eq = strchr(line, '=')) == NULL) {
		conf_show(line, shown, sizeof shown);
		return conf_error(x, x->line, "missing \"=\" in \"%s\" (expected key = value)",
		    shown);
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (*key == '\0')
		return conf_error(x, x->line, "missing key before \"=\"");
	if ((k = conf_key_lookup(key)) < 0) {
		conf_show(key, shown, sizeof shown);
		return conf_error(x, x->line, "unknown key \"%s\"", shown);
	}
	if (*value == '\0')
		return conf_error(x, x->line, "empty value for %s", key);
	return conf_key_set(x, k, value);
}

static int read_file(struct conf_ctx *x, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	errno = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		x->line++;
		if (n > CONF_LINE_MAX)
			rc = conf_error(x, x->line, "line too long (more than %d bytes)",
			    CONF_LINE_MAX);
		else if (strlen(line) != (size_t)n)
			rc = conf_error(x, x->line, "NUL byte in line");
		else
			rc = parse_line(x, line);
		errno = 0;
	}
	if (rc == 0 && ferror(f))
		rc = conf_error(x, 0, "cannot read: %s", strerror(errno ? errno : EIO));
	free(line);
	return rc;
}

int conf_load(const char *path, bool must_exist, struct conf *c, char *err, size_t errlen)
{
	struct conf_ctx x;
	struct stat st;
	FILE *f;
	int rc = 0;

	memset(c, 0, sizeof *c);
	memset(&x, 0, sizeof x);
	x.c = c;
	x.path = path;
	x.err = err;
	x.errlen = errlen;
	c->path = xstrdup(path);
	set_defaults(c);

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !must_exist) {
			derive_defaults(c);
			return 0;
		}
		conf_error(&x, 0, "cannot open: %s", strerror(errno));
		conf_free(c);
		return -1;
	}
	c->file_found = true;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
		rc = conf_error(&x, 0, "is a directory, not a configuration file");
	if (rc == 0)
		rc = read_file(&x, f);
	fclose(f);
	if (rc == 0)
		rc = conf_check_contradictions(&x);
	if (rc == 0)
		derive_defaults(c);
	if (rc != 0)
		conf_free(c);
	return rc;
}

void conf_free(struct conf *c)
{
	size_t i;

	free(c->path);
	free(c->spool);
	free(c->user);
	free(c->hostname);
	free(c->default_domain);
	free(c->admin_addr);
	free(c->from_rewrite);
	for (i = 0; i < c->nsmarthosts; i++)
		free(c->smarthosts[i].host);
	free(c->tls_ca_file);
	free(c->tls_client_cert);
	free(c->tls_client_key);
	free(c->auth_user);
	free(c->auth_password_file);
	free(c->auth_password_command);
	free(c->auth_token_command);
	free(c->helo_name);
	free(c->metrics_file);
	free(c->aliases);
	conf_oauth2_free(c);
	for (i = 0; i < c->nlistens; i++)
		free(c->listens[i].host);
	free(c->listen_auth_file);
	free(c->listen_tls_cert);
	free(c->listen_tls_key);
	memset(c, 0, sizeof *c);
}
