/*
 * Checks across keys: contradictions found after the last line (reported at
 * the later of the lines involved), and the extra checks relayd makes on the
 * files the configuration names (conf_check_relay).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_impl.h"
#include "conf_secret.h"
#include "util.h"

static unsigned later(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

/* Every listed mechanism needs its secret, and every secret a mechanism. */
static int check_mechanisms(struct conf_ctx *x)
{
	const struct conf *c = x->c;
	unsigned ml = x->key_line[K_AUTH_MECHANISMS];
	bool password = c->auth_password_file != NULL || c->auth_password_command != NULL;
	bool token = conf_token_configured(c), any_pw = false, any_tok = false;
	size_t i;

	if (ml == 0 || c->auth_user == NULL)
		return 0;	/* the default list is derived from the secrets */
	for (i = 0; i < c->nauth_mechanisms; i++) {
		bool uses_token = conf_mech_uses_token(c->auth_mechanisms[i]);

		if (uses_token && !token)
			return conf_error(x, ml, "auth_mechanisms lists %s but "
			    "auth_token_command is not set (nor oauth2)",
			    conf_mech_name(c->auth_mechanisms[i]));
		if (!uses_token && !password)
			return conf_error(x, ml, "auth_mechanisms lists %s but neither "
			    "auth_password_file nor auth_password_command is set",
			    conf_mech_name(c->auth_mechanisms[i]));
		any_tok |= uses_token;
		any_pw |= !uses_token;
	}
	if (token && !any_tok)
		return conf_error(x, later(later(ml, x->key_line[K_AUTH_TOKEN_COMMAND]),
		    x->key_line[K_OAUTH2]), "%s is set but auth_mechanisms lists only password "
		    "mechanisms (add xoauth2 or oauthbearer)",
		    c->oauth2 != OAUTH2_OFF ? "oauth2" : "auth_token_command");
	if (password && !any_pw)
		return conf_error(x, ml, "a password is configured but auth_mechanisms lists "
		    "only token mechanisms (add plain or login)");
	return 0;
}

static int check_auth(struct conf_ctx *x)
{
	const struct conf *c = x->c;
	const unsigned *kl = x->key_line;
	static const int secrets[] = { K_AUTH_PASSWORD_FILE, K_AUTH_PASSWORD_COMMAND,
		K_AUTH_TOKEN_COMMAND };
	size_t i;

	if (c->auth_password_file != NULL && c->auth_password_command != NULL)
		return conf_error(x, later(kl[K_AUTH_PASSWORD_FILE], kl[K_AUTH_PASSWORD_COMMAND]),
		    "auth_password_file and auth_password_command are both set: keep one");
	for (i = 0; i < NR_ARRAY_LEN(secrets); i++)
		if (kl[secrets[i]] != 0 && c->auth_user == NULL)
			return conf_error(x, kl[secrets[i]], "%s is set but auth_user is not "
			    "(set auth_user to the smarthost login)", conf_key_name(secrets[i]));
	if (c->auth_user != NULL && c->auth_password_file == NULL &&
	    c->auth_password_command == NULL && !conf_token_configured(c))
		return conf_error(x, kl[K_AUTH_USER], "auth_user is set but none of "
		    "auth_password_file, auth_password_command, auth_token_command, oauth2 is");
	if (conf_oauth2_check(x) != 0)
		return -1;
	return check_mechanisms(x);
}

static int check_tls(struct conf_ctx *x)
{
	const struct conf *c = x->c;
	const unsigned *kl = x->key_line;
	size_t i;

	if ((c->tls_client_cert == NULL) != (c->tls_client_key == NULL))
		return conf_error(x, later(kl[K_TLS_CLIENT_CERT], kl[K_TLS_CLIENT_KEY]),
		    "%s is set without %s",
		    c->tls_client_cert != NULL ? "tls_client_cert" : "tls_client_key",
		    c->tls_client_cert != NULL ? "tls_client_key" : "tls_client_cert");
	if (c->tls != TLS_NONE)
		return 0;
	if (c->has_fingerprint)
		return conf_error(x, later(kl[K_TLS], kl[K_TLS_FINGERPRINT]),
		    "tls_fingerprint is set but tls = none: there is no certificate to check");
	if (c->auth_user == NULL)
		return 0;
	for (i = 0; i < c->nsmarthosts; i++)
		if (!conf_host_is_loopback(c->smarthosts[i].host))
			return conf_error(x, later(later(kl[K_TLS], kl[K_AUTH_USER]),
			    x->smarthost_line[i]),
			    "tls = none with auth_user set: AUTH would be sent in clear to "
			    "smarthost %s; use tls = starttls or smtps (AUTH without TLS is "
			    "allowed only to a loopback smarthost)", c->smarthosts[i].host);
	return 0;
}

/* STARTTLS on the listener needs both halves of the key pair. */
static int check_listen(struct conf_ctx *x)
{
	const struct conf *c = x->c;
	const unsigned *kl = x->key_line;

	if ((c->listen_tls_cert == NULL) != (c->listen_tls_key == NULL))
		return conf_error(x, later(kl[K_LISTEN_TLS_CERT], kl[K_LISTEN_TLS_KEY]),
		    "%s is set without %s",
		    c->listen_tls_cert != NULL ? "listen_tls_cert" : "listen_tls_key",
		    c->listen_tls_cert != NULL ? "listen_tls_key" : "listen_tls_cert");
	return 0;
}

int conf_check_contradictions(struct conf_ctx *x)
{
	const struct conf *c = x->c;
	const unsigned *kl = x->key_line;

	if (check_auth(x) != 0 || check_tls(x) != 0 || check_listen(x) != 0)
		return -1;
	if (c->retry_min > c->retry_max)
		return conf_error(x, later(kl[K_RETRY_MIN], kl[K_RETRY_MAX]),
		    "retry_min (%llds) is greater than retry_max (%llds%s)",
		    (long long)c->retry_min, (long long)c->retry_max,
		    kl[K_RETRY_MAX] == 0 ? ", the default" : "");
	if (c->bounce_local_given && c->bounce_local == BOUNCE_LOCAL_RELAY &&
	    c->admin_addr == NULL)
		return conf_error(x, kl[K_BOUNCE_LOCAL],
		    "bounce_local = relay needs admin_addr (where would the bounce go?)");
	return 0;
}

/* A secret file (conf_secret.h): missing is an error when must_exist, else fine. */
static int check_secret_file(struct conf_ctx *x, const char *key, const char *path,
    long relay_uid, bool must_exist)
{
	struct passwd *pw = getpwuid((uid_t)relay_uid);
	char why[CONF_ERR_MAX];
	struct stat st;

	/* lstat: the link itself is judged, as delivery opens it O_NOFOLLOW,
	 * so relayd -n never passes a file that delivery then refuses. */
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return conf_error(x, 0, "%s %s: %s (create it holding the secret, then: "
		    "chown %s %s && chmod 600 %s)", key, path, strerror(errno),
		    pw != NULL ? pw->pw_name : "RELAYUSER", path, path);
	}
	if (secret_file_check(key, path, &st, (uid_t)relay_uid, why, sizeof why) != 0)
		return conf_error(x, 0, "%s", why);
	return 0;
}

static int check_readable(struct conf_ctx *x, const char *key, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return conf_error(x, 0, "%s %s: cannot read: %s", key, path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return conf_error(x, 0, "%s %s is not a regular file", key, path);
	}
	close(fd);
	return 0;
}

int conf_check_relay(const struct conf *c, long relay_uid, char *err, size_t errlen)
{
	struct conf_ctx x;

	memset(&x, 0, sizeof x);
	/* x.c stays NULL: only conf_error is used, with the file's path. */
	x.path = c->path != NULL ? c->path : "(configuration)";
	x.err = err;
	x.errlen = errlen;
	if (c->nsmarthosts == 0)
		return conf_error(&x, 0, "no smarthost configured (add a line such as "
		    "\"smarthost = mail.example.org:587\")");
	if (relay_uid != -1 && c->auth_password_file != NULL &&
	    check_secret_file(&x, "auth_password_file", c->auth_password_file, relay_uid,
	    true) != 0)
		return -1;
	/* OAuth2 (§2.1): the client secret must exist; the token file appears at
	 * the first login (or first client_credentials token). */
	if (relay_uid != -1 && c->oauth2_client_secret_file != NULL &&
	    check_secret_file(&x, "oauth2_client_secret_file", c->oauth2_client_secret_file,
	    relay_uid, true) != 0)
		return -1;
	if (relay_uid != -1 && c->oauth2 != OAUTH2_OFF && c->oauth2_token_file != NULL &&
	    check_secret_file(&x, "oauth2_token_file", c->oauth2_token_file, relay_uid,
	    false) != 0)
		return -1;
	if (c->oauth2_ca_file != NULL &&
	    check_readable(&x, "oauth2_ca_file", c->oauth2_ca_file) != 0)
		return -1;
	if (c->tls_ca_file != NULL && check_readable(&x, "tls_ca_file", c->tls_ca_file) != 0)
		return -1;
	if (c->tls_client_cert != NULL &&
	    check_readable(&x, "tls_client_cert", c->tls_client_cert) != 0)
		return -1;
	if (c->tls_client_key != NULL &&
	    check_readable(&x, "tls_client_key", c->tls_client_key) != 0)
		return -1;
	if (c->listen_tls_cert != NULL &&
	    check_readable(&x, "listen_tls_cert", c->listen_tls_cert) != 0)
		return -1;
	if (c->listen_tls_key != NULL &&
	    check_readable(&x, "listen_tls_key", c->listen_tls_key) != 0)
		return -1;
	if (c->listen_auth_file != NULL &&
	    check_readable(&x, "listen_auth_file", c->listen_auth_file) != 0)
		return -1;
	return 0;
}
