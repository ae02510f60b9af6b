/*
 * Advice for smarthost failures (advice.h). The reasons come from net.c,
 * tls.c and smtp.c (our own wording, and OpenSSL's verify strings), so
 * matching their words is matching a closed set; an unknown reason gets no
 * advice rather than a wrong one.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "advice.h"

static bool has(const char *why, const char *word)
{
	return strstr(why, word) != NULL;
}

const char *advice_open_failure(const struct conf *c, const struct smarthost *sh,
    const char *why, char *out, size_t outlen)
{
	/* With tls = starttls a :465 line gets implicit TLS (smtp.c host_tls). */
	const char *alt = c->tls == TLS_STARTTLS ? "465 (implicit TLS)" :
	    c->tls == TLS_SMTPS ? "587 with tls = starttls" : "587 or 465";
	int n = 0;

	out[0] = '\0';
	if (has(why, "cannot resolve ")) {
		n = snprintf(out, outlen, "; what to do: check the spelling of smarthost = %s in %s "
		    "and this host's DNS (getent hosts %s)", sh->host, c->path, sh->host);
	} else if (has(why, "Connection refused")) {
		n = snprintf(out, outlen, "; what to do: nothing accepts connections on port %u "
		    "there: check the port in smarthost (587 for starttls, 465 for smtps) and "
		    "that the smarthost is up", sh->port);
	} else if (has(why, "Connection timed out") || has(why, "Network is unreachable") ||
	    has(why, "No route to host") || has(why, "timed out while receiving the initial")) {
		n = snprintf(out, outlen, "; what to do: port %u looks blocked on this network "
		    "(a firewall, a hotel or guest network): add a second smarthost line %s:%s; "
		    "mail stays queued and is retried", sh->port, sh->host, alt);
	} else if (has(why, "hostname mismatch")) {
		n = snprintf(out, outlen, "; what to do: the certificate is not for \"%s\": put the "
		    "name it carries in smarthost (openssl s_client -connect %s:%u%s shows it), "
		    "or pin this certificate with tls_fingerprint and tls_verify = no", sh->host, sh->host, sh->port,
		    c->tls == TLS_STARTTLS ? " -starttls smtp" : "");
	} else if (has(why, "self-signed") || has(why, "unable to get local issuer") ||
	    has(why, "unable to get issuer") || has(why, "self signed")) {
		n = snprintf(out, outlen, "; what to do: the certificate is not signed by a CA "
		    "this host trusts: set tls_ca_file to the smarthost's CA%s, or pin it with "
		    "tls_fingerprint and tls_verify = no", c->tls_ca_file ? " (the one now set does not sign it)" : "");
	} else if (has(why, "certificate has expired")) {
		n = snprintf(out, outlen, "; what to do: the smarthost's certificate has "
		    "expired; its operator must renew it (mail stays queued)");
	} else if (has(why, "SASL authentication failed")) {
		n = snprintf(out, outlen, "; what to do: the smarthost refused user \"%s\" with "
		    "this password: check auth_user and the password in %s%s; mail stays "
		    "queued and is retried", c->auth_user ? c->auth_user : "",
		    c->auth_password_file ? "auth_password_file " :
		    c->auth_password_command ? "what auth_password_command prints" : "the secret",
		    c->auth_password_file ? c->auth_password_file : "");
	}
	if (n < 0)
		out[0] = '\0';
	else if ((size_t)n >= outlen && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);	/* a long path: say it was cut */
	return out;
}
