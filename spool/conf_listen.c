/*
 * Value syntax of the listener keys (SPEC §2, §6.1): `listen` addresses,
 * `listen_allow` networks and `listen_max_rcpts`; and the network match the
 * listener applies to each client. Pure functions, like conf_values.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_impl.h"
#include "spool_envelope.h"
#include "util.h"

const char *conf_val_listen(const char *s, struct listen_addr *out)
{
	static const char syntax[] =
	    "expected address:port, e.g. 127.0.0.1:2525, 0.0.0.0:25 or [::1]:2525";
	char host[64];
	const char *port, *why = NULL;
	unsigned char a[16];
	size_t len;
	long long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return syntax;
		len = (size_t)(close - s - 1);
		if (len == 0 || len >= sizeof host)
			return syntax;
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, a) != 1)
			return "expected an IPv6 address between the brackets, e.g. [::1]:2525";
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL)
			return "missing :port (e.g. 127.0.0.1:2525)";
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return "an IPv6 address needs brackets, e.g. [::1]:2525";
		len = (size_t)(colon - s);
		if (len == 0 || len >= sizeof host)
			return syntax;
		memcpy(host, s, len);
		host[len] = '\0';
		if (inet_pton(AF_INET, host, a) != 1)
			return "expected an IP address (not a host name), e.g. 127.0.0.1:2525";
		port = colon + 1;
	}
	if (!isdigit((unsigned char)port[0]))
		return "the port must be a number from 1 to 65535";
	p = strtonum(port, 1, 65535, &why);
	if (why != NULL)
		return "the port must be a number from 1 to 65535";
	out->host = xstrdup(host);
	out->port = (unsigned)p;
	return NULL;
}

/* One "addr" or "addr/bits" item. 0 or -1. */
static int parse_net(const char *item, struct conf_net *n)
{
	char host[64];
	const char *slash = strchr(item, '/'), *why = NULL;
	size_t len = slash != NULL ? (size_t)(slash - item) : strlen(item);
	unsigned max;

	if (len == 0 || len >= sizeof host)
		return -1;
	memcpy(host, item, len);
	host[len] = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, host, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	n->bits = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		n->bits = (unsigned)strtonum(slash + 1, 0, max, &why);
		if (why != NULL)
			return -1;
	}
	return 0;
}

const char *conf_val_allow(const char *s, struct conf_net *out, size_t *n)
{
	static const char syntax[] = "expected networks such as 127.0.0.0/8, ::1, 10.0.0.0/8 "
	    "(addresses with an optional /prefix, separated by commas or spaces)";
	struct conf_net v[CONF_MAX_ALLOW];
	size_t k = 0;
	const char *p = s;

	for (;;) {
		char item[80];
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, " \t,");
		if (len >= sizeof item || k == CONF_MAX_ALLOW)
			return k == CONF_MAX_ALLOW ? "too many networks (at most 32)" : syntax;
		memcpy(item, p, len);
		item[len] = '\0';
		if (parse_net(item, &v[k]) != 0)
			return syntax;
		k++;
		p += len;
	}
	if (k == 0)
		return syntax;
	memcpy(out, v, k * sizeof(v[0]));
	*n = k;
	return NULL;
}

const char *conf_val_max_rcpts(const char *s, unsigned *out)
{
	static const char syntax[] = "expected a number from 1 to 10000";
	const char *why = NULL;
	long long v;

	if (!isdigit((unsigned char)s[0]))
		return syntax;
	v = strtonum(s, 1, ENV_MAX_RCPTS, &why);
	if (why != NULL)
		return syntax;
	*out = (unsigned)v;
	return NULL;
}

bool conf_net_match(const struct conf_net *net, int family, const void *addr)
{
	const unsigned char *a = addr;
	unsigned full = net->bits / 8, rest = net->bits % 8;

	if (net->family != family)
		return false;
	if (memcmp(a, net->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ net->addr[full]) & (0xff00u >> rest) & 0xffu) == 0;
}
