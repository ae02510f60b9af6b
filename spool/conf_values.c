/*
 * Value syntax of the configuration file: durations, sizes, booleans,
 * smarthosts, fingerprints, mechanism lists, addresses. Pure functions: each
 * returns NULL or a static phrase saying what a good value looks like, which
 * conf_keys.c puts into "FILE:LINE: bad value ..." messages.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_impl.h"
#include "util.h"

/* Ten years: anything longer is a typo, and it keeps time_t sums far from
 * overflow when relayd adds durations to the clock. */
#define DURATION_MAX ((time_t)3650 * 86400)
/* One tebibyte: a larger message limit is a typo, and the cap keeps sizes
 * comparable with off_t without overflow. */
#define SIZE_MAX_CONF ((uint64_t)1024 * 1024 * 1024 * 1024)

static const char dur_syntax[] =
    "expected a number of seconds or a number followed by s, m, h or d (e.g. 30s, 5m, 4h, 5d)";

/* Leading decimal digits of s (at least one; no sign, no space). */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	char *e;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno == ERANGE)
		return -2;
	*out = v;
	*end = e;
	return 0;
}

const char *conf_val_duration(const char *s, time_t *out)
{
	uint64_t n, mult = 1;
	const char *end;
	int r = parse_digits(s, &n, &end);

	if (r == -2)
		return "too large (at most 3650d)";
	if (r < 0)
		return dur_syntax;
	if (*end != '\0') {
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		default: return dur_syntax;
		}
		if (end[1] != '\0')
			return dur_syntax;
	}
	if (n > (uint64_t)DURATION_MAX / mult)
		return "too large (at most 3650d)";
	*out = (time_t)(n * mult);
	return NULL;
}

int conf_parse_duration(const char *s, time_t *out)
{
	return conf_val_duration(s, out) == NULL ? 0 : -1;
}

const char *conf_val_size(const char *s, uint64_t *out)
{
	static const char syntax[] =
	    "expected a number of bytes or a number followed by k, M or G (e.g. 10k, 35M, 1G)";
	uint64_t n, mult = 1;
	const char *end;
	int r = parse_digits(s, &n, &end);

	if (r == -2)
		return "too large (at most 1024G)";
	if (r < 0)
		return syntax;
	if (*end != '\0') {
		switch (*end) {
		case 'k': case 'K': mult = 1024; break;
		case 'm': case 'M': mult = 1024 * 1024; break;
		case 'g': case 'G': mult = 1024 * 1024 * 1024; break;
		default: return syntax;
		}
		if (end[1] != '\0')
			return syntax;
	}
	if (n > SIZE_MAX_CONF / mult)
		return "too large (at most 1024G)";
	*out = n * mult;
	return NULL;
}

int conf_parse_size(const char *s, uint64_t *out)
{
	return conf_val_size(s, out) == NULL ? 0 : -1;
}

const char *conf_val_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < NR_ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return NULL;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return NULL;
		}
	}
	return "expected yes, no, true, false, on, off, 1 or 0";
}

const char *conf_val_concurrency(const char *s, unsigned *out)
{
	const char *why = NULL;
	long long v = strtonum(s, 1, 64, &why);

	if (why != NULL || !isdigit((unsigned char)s[0]))
		return "expected a number from 1 to 64";
	*out = (unsigned)v;
	return NULL;
}

const char *conf_val_rate(const char *s, unsigned *count, time_t *period)
{
	static const char syntax[] =
	    "expected 0 (no limit) or COUNT/PERIOD, e.g. 100/1h (count 1 to 1000000)";
	const char *slash = strchr(s, '/'), *why = NULL;
	char num[16], per[32];
	long long n;
	time_t p;

	if (strcmp(s, "0") == 0) {
		*count = 0;
		*period = 0;
		return NULL;
	}
	if (slash == NULL || (size_t)(slash - s) >= sizeof num)
		return syntax;
	memcpy(num, s, (size_t)(slash - s));
	num[slash - s] = '\0';
	n = strtonum(num, 1, 1000000, &why);
	if (why != NULL || !isdigit((unsigned char)num[0]))
		return syntax;
	/* "100/h" reads as "100/1h", as people write it. */
	if (isalpha((unsigned char)slash[1])) {
		if (snprintf(per, sizeof per, "1%s", slash + 1) >= (int)sizeof per)
			return syntax;
	} else if (strlcpy(per, slash + 1, sizeof per) >= sizeof per)
		return syntax;
	if (conf_val_duration(per, &p) != NULL)
		return syntax;
	if (p < 1)
		return "the period must be at least 1s";
	*count = (unsigned)n;
	*period = p;
	return NULL;
}

const char *conf_val_tls(const char *s, enum tls_mode *out)
{
	if (strcasecmp(s, "starttls") == 0)
		*out = TLS_STARTTLS;
	else if (strcasecmp(s, "smtps") == 0)
		*out = TLS_SMTPS;
	else if (strcasecmp(s, "none") == 0)
		*out = TLS_NONE;
	else
		return "expected starttls, smtps or none";
	return NULL;
}

const char *conf_val_bounce_local(const char *s, enum bounce_local *out)
{
	if (strcasecmp(s, "mbox") == 0)
		*out = BOUNCE_LOCAL_MBOX;
	else if (strcasecmp(s, "relay") == 0)
		*out = BOUNCE_LOCAL_RELAY;
	else if (strcasecmp(s, "keep") == 0)
		*out = BOUNCE_LOCAL_KEEP;
	else
		return "expected mbox, relay or keep";
	return NULL;
}

const char *conf_mech_name(enum auth_mech m)
{
	switch (m) {
	case AUTH_PLAIN: return "PLAIN";
	case AUTH_LOGIN: return "LOGIN";
	case AUTH_XOAUTH2: return "XOAUTH2";
	case AUTH_OAUTHBEARER: return "OAUTHBEARER";
	}
	return "?";
}

bool conf_mech_uses_token(enum auth_mech m)
{
	return m == AUTH_XOAUTH2 || m == AUTH_OAUTHBEARER;
}

const char *conf_val_mechs(const char *s, enum auth_mech *out, size_t *n)
{
	static const char syntax[] =
	    "expected a list of plain, login, xoauth2, oauthbearer (space or comma separated)";
	static const enum auth_mech all[] = { AUTH_PLAIN, AUTH_LOGIN, AUTH_XOAUTH2,
		AUTH_OAUTHBEARER };
	const char *p = s;
	size_t count = 0, len, i, j;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, " \t,");
		for (i = 0; i < NR_ARRAY_LEN(all); i++)
			if (strlen(conf_mech_name(all[i])) == len &&
			    strncasecmp(p, conf_mech_name(all[i]), len) == 0)
				break;
		if (i == NR_ARRAY_LEN(all))
			return syntax;
		for (j = 0; j < count; j++)
			if (out[j] == all[i])
				return "a mechanism is listed twice";
		out[count++] = all[i];	/* at most 4: duplicates are refused */
		p += len;
	}
	if (count == 0)
		return syntax;
	*n = count;
	return NULL;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

const char *conf_val_fingerprint(const char *s, unsigned char out[32])
{
	static const char syntax[] =
	    "expected sha256: followed by 64 hex digits (colons optional)";
	unsigned char fp[32];
	size_t nd = 0;
	int v;

	if (strncasecmp(s, "sha256:", 7) != 0)
		return syntax;
	for (s += 7; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if ((v = hexval((unsigned char)*s)) < 0 || nd >= 64)
			return syntax;
		if (nd % 2 == 0)
			fp[nd / 2] = (unsigned char)(v << 4);
		else
			fp[nd / 2] |= (unsigned char)v;
		nd++;
	}
	if (nd != 64)
		return syntax;
	memcpy(out, fp, sizeof fp);
	return NULL;
}

const char *conf_val_hostname(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > 253)
		return "expected a host name of 1 to 253 characters";
	if (s[0] == '.' || s[0] == '-' || strstr(s, "..") != NULL)
		return "expected a host name such as mail.example.org";
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(".-_", s[i]) == NULL)
			return "expected a host name (letters, digits, '-', '.', '_')";
	return NULL;
}

bool conf_is_ip_literal(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET6, s, a) == 1 || inet_pton(AF_INET, s, a) == 1;
}

const char *conf_val_smarthost(const char *s, struct smarthost *out)
{
	static const char port_syntax[] = "the port must be a number from 1 to 65535";
	char host[256];
	const char *port = NULL, *close, *why = NULL;
	size_t len;
	long long p = 0;

	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL)
			return "missing ']' after the address literal";
		len = (size_t)(close - s - 1);
		if (len >= sizeof host)
			return "address literal too long";
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (!conf_is_ip_literal(host))
			return "expected an IP address between the brackets, e.g. [2001:db8::1]:587";
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return "expected [address] or [address]:port";
	} else {
		const char *colon = strchr(s, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return "an IPv6 address needs brackets, e.g. [2001:db8::1]:587";
		len = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (len >= sizeof host)
			return "host name too long";
		memcpy(host, s, len);
		host[len] = '\0';
		if (conf_val_hostname(host) != NULL)
			return "expected host, host:port, [ipv6] or [ipv6]:port";
		if (colon != NULL)
			port = colon + 1;
	}
	if (port != NULL) {
		if (!isdigit((unsigned char)port[0]))
			return port_syntax;
		p = strtonum(port, 1, 65535, &why);
		if (why != NULL)
			return port_syntax;
	}
	out->host = xstrdup(host);
	out->port = (unsigned)p;
	out->port_given = port != NULL;
	return NULL;
}

bool conf_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return false;
}

const char *conf_val_address(const char *s)
{
	static const char syntax[] = "expected an address such as user@example.org";
	const char *at = strrchr(s, '@'), *p;
	char dom[256];
	size_t dlen;

	if (at == NULL || at == s || at[1] == '\0' || strlen(s) > 254)
		return syntax;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("<>,;\"()\\", *p) != NULL)
			return "expected a bare address such as user@example.org "
			       "(no spaces, quotes, brackets or control characters)";
	dlen = strlen(at + 1);
	if (at[1] == '[' && at[dlen] == ']') {
		if (dlen - 2 >= sizeof dom)
			return syntax;
		memcpy(dom, at + 2, dlen - 2);
		dom[dlen - 2] = '\0';
		return conf_is_ip_literal(dom) ? NULL : syntax;
	}
	return conf_val_hostname(at + 1) == NULL ? NULL : syntax;
}

const char *conf_val_path(const char *s)
{
	const char *p;

	if (s[0] != '/')
		return "expected an absolute path (starting with /)";
	if (strlen(s) >= PATH_MAX)
		return "path too long";
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return "control character in path";
	return NULL;
}

const char *conf_val_username(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > 32 || s[0] == '-')
		return "expected a user name of 1 to 32 characters";
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return "expected a user name (letters, digits, '.', '_', '-')";
	return NULL;
}
