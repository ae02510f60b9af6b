/*
 * The SMTP client session (SPEC §6): connect, greeting, EHLO (HELO
 * fallback), STARTTLS or implicit TLS, AUTH, RSET and QUIT, as an explicit
 * state machine. The mail transaction is in smtp_send.c; both send and read
 * through smtp_io.c. No OpenSSL here: TLS is behind net.h/tls.h, SASL
 * encodings behind auth.h.
 *
 * Every failure while opening is SMTP_TEMP: a smarthost that refuses us,
 * speaks garbage or fails TLS or AUTH must never bounce mail. A reply code
 * a smarthost gave us is kept in the smtp_reply for the log, but its
 * enhanced code is forced to class 4 so nothing downstream takes it as
 * permanent.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "deadline.h"
#include "log.h"
#include "smtp.h"
#include "smtp_io.h"
#include "util.h"

/* QUIT is a courtesy: never wait long for its answer. */
#define SMTP_QUIT_TIMEOUT 10

const char *smtp_relay_name(const struct smtp_session *s)
{
	return s->relay;
}

bool smtp_usable(const struct smtp_session *s)
{
	return smtp_io_usable(s);
}

/* Send cmd and read its reply into r; on a network failure the reason goes
 * to why too. 0 or -1. */
static int cmd_reply(struct smtp_session *s, const char *cmd, const char *shown, const char *what,
    struct smtp_reply *r, struct smtp_reply *why, struct smtp_ext *ext)
{
	time_t t = s->c->timeout_command;

	if (smtp_io_cmd(s, cmd, shown, t, what, why))
		return -1;
	if (smtp_io_read(s, r, t, what, ext)) {
		*why = *r;
		return -1;
	}
	return 0;
}

/* A failure while opening: class 4 always (see the top of the file). */
static enum smtp_class open_fail(struct smtp_session *s, struct smtp_reply *why,
    const struct smtp_reply *r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum smtp_class open_fail(struct smtp_session *s, struct smtp_reply *why,
    const struct smtp_reply *r, const char *fmt, ...)
{
	char text[sizeof(why->text)], dsn[sizeof(why->dsn)];
	va_list ap;

	strlcpy(dsn, r && r->dsn[0] ? r->dsn : "4.4.0", sizeof(dsn));
	if (dsn[0] == '5' || dsn[0] == '2')
		dsn[0] = '4';
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtp_reply_set(why, dsn, "%s", text);
	why->code = r ? r->code : 0;
	s->usable = false;
	return SMTP_TEMP;
}

/* EHLO, or HELO when EHLO is refused with 5xx (no extensions then). */
static enum smtp_class ehlo(struct smtp_session *s, enum smtp_state st, struct smtp_reply *why)
{
	const struct conf *c = s->c;
	struct smtp_reply r;
	char cmd[300];

	memset(&s->ext, 0, sizeof(s->ext));
	smtp_io_set_state(s, st);
	snprintf(cmd, sizeof(cmd), "EHLO %s", c->helo_name);
	if (cmd_reply(s, cmd, NULL, "performing the EHLO handshake", &r, why, &s->ext)) {
		s->usable = false;
		return SMTP_TEMP;
	}
	if (r.code == 250)
		return SMTP_DONE;
	if (r.code < 500 || r.code > 599 || st != SMTP_S_EHLO)
		return open_fail(s, why, &r, "%s refused EHLO: %s", s->relay, r.text);
	memset(&s->ext, 0, sizeof(s->ext));
	smtp_io_set_state(s, SMTP_S_HELO);
	snprintf(cmd, sizeof(cmd), "HELO %s", c->helo_name);
	if (cmd_reply(s, cmd, NULL, "performing the HELO handshake", &r, why, NULL)) {
		s->usable = false;
		return SMTP_TEMP;
	}
	if (r.code != 250)
		return open_fail(s, why, &r, "%s refused HELO: %s", s->relay, r.text);
	return SMTP_DONE;
}

static enum smtp_class start_tls(struct smtp_session *s, struct smtp_reply *why)
{
	char err[512], desc[128];

	smtp_io_set_state(s, SMTP_S_TLS_HANDSHAKE);
	if (net_start_tls(s->net, s->c, s->sh->host, deadline_in(s->c->timeout_command), err,
	    sizeof(err)) == -1) {
		smtp_reply_set(why, "4.7.5", "TLS with %s failed: %s", s->relay, err);
		smtp_io_drop(s);
		return SMTP_TEMP;
	}
	net_tls_describe(s->net, desc, sizeof(desc));
	log_debug("smtp %s: TLS established: %s", s->relay, desc);
	return SMTP_DONE;
}

static enum smtp_class starttls(struct smtp_session *s, struct smtp_reply *why)
{
	struct smtp_reply r;

	if (!s->ext.starttls)
		return open_fail(s, why, NULL, "%s: smarthost does not offer STARTTLS "
		    "(tls = starttls refuses to continue in plain text)", s->relay);
	smtp_io_set_state(s, SMTP_S_STARTTLS);
	if (cmd_reply(s, "STARTTLS", NULL, "sending STARTTLS", &r, why, NULL))
		return SMTP_TEMP;
	if (r.code != 220)
		return open_fail(s, why, &r, "%s refused STARTTLS: %s", s->relay, r.text);
	return start_tls(s, why);
}

/* One SASL exchange with the secret. 0 done (*r is the final reply), -1
 * network failure (why filled). */
static int sasl(struct smtp_session *s, enum auth_mech m, const char *secret,
    struct smtp_reply *r, struct smtp_reply *why)
{
	const struct conf *c = s->c;
	const char *name = conf_mech_name(m), *what = "performing SASL authentication";
	char shown[64], *resp = NULL, *cmd;
	int rc;

	snprintf(shown, sizeof(shown), "AUTH %s <secret hidden>", name);
	if (m == AUTH_LOGIN) {
		char *u;

		if (cmd_reply(s, "AUTH LOGIN", NULL, what, r, why, NULL))
			return -1;
		if (r->code != 334)
			return 0;
		u = auth_b64_encode(c->auth_user, strlen(c->auth_user));
		rc = cmd_reply(s, u, "<user name hidden>", what, r, why, NULL);
		free(u);
		if (rc)
			return -1;
		if (r->code != 334)
			return 0;
		resp = auth_b64_encode(secret, strlen(secret));
		rc = cmd_reply(s, resp, "<secret hidden>", what, r, why, NULL);
		auth_free(resp);
		if (rc)
			return -1;
		if (r->code == 334)	/* a third challenge: cancel (RFC 4954) */
			goto cancel;
		return 0;
	}
	if (m == AUTH_PLAIN)
		resp = auth_plain_response(c->auth_user, secret);
	else if (m == AUTH_XOAUTH2)
		resp = auth_xoauth2_response(c->auth_user, secret);
	else
		resp = auth_oauthbearer_response(c->auth_user, s->sh->host, s->sh->port, secret);
	cmd = xasprintf("AUTH %s %s", name, resp);
	auth_free(resp);
	rc = cmd_reply(s, cmd, shown, what, r, why, NULL);
	auth_free(cmd);
	if (rc)
		return -1;
	if (r->code != 334)
		return 0;
	/* XOAUTH2 and OAUTHBEARER report a refused token as a 334 challenge
	 * holding an error JSON; the client answers with an empty line
	 * (XOAUTH2) or ^A (RFC 7628 §3.2.3) and the server then sends 535. */
	{
		const char *b64 = strchr(r->text, ' ');
		size_t jl;
		unsigned char *json = b64 ? auth_b64_decode(b64 + 1, &jl) : NULL;

		if (json != NULL) {
			for (size_t i = 0; i < jl; i++)
				if (json[i] < 0x20 || json[i] >= 0x7f)
					json[i] = '?';
			log_debug("smtp %s: %s error: %s", s->relay, name, (char *)json);
			free(json);
		}
	}
cancel:
	if (cmd_reply(s, m == AUTH_OAUTHBEARER ? "AQ==" : m == AUTH_XOAUTH2 ? "" : "*", NULL,
	    what, r, why, NULL))
		return -1;
	if (r->code == 235 || r->code == 334) {
		/* Success after our cancel, or yet another challenge: the server
		 * does not follow the protocol; do not trust this session. */
		smtp_reply_set(r, "4.7.0", "SASL %s: unexpected reply after the error "
		    "challenge", name);
		smtp_io_drop(s);
		*why = *r;
		return -1;
	}
	return 0;
}

static enum smtp_class authenticate(struct smtp_session *s, struct smtp_reply *why)
{
	const struct conf *c = s->c;
	enum auth_mech m = AUTH_PLAIN;
	bool found = false, token;
	char err[512], *secret;
	struct smtp_reply r;
	int tries;
	size_t i;

	smtp_io_set_state(s, SMTP_S_AUTH);
	/* The connected address decides, not the configured name: a name
	 * may resolve elsewhere than the operator believed. */
	if (!net_is_tls(s->net) && !(c->tls == TLS_NONE && net_peer_loopback(s->net)))
		return open_fail(s, why, NULL, "%s: refusing to send AUTH over an unencrypted "
		    "connection", s->relay);
	for (i = 0; i < c->nauth_mechanisms && !found; i++) {
		m = c->auth_mechanisms[i];
		found = (s->ext.auth & (1u << m)) != 0 && auth_can_use(c, m);
	}
	if (!found) {
		char offered[128] = "", allowed[128] = "";

		for (i = 0; i < 4; i++)
			if (s->ext.auth & (1u << i)) {
				strlcat(offered, " ", sizeof(offered));
				strlcat(offered, conf_mech_name((enum auth_mech)i), sizeof(offered));
			}
		for (i = 0; i < c->nauth_mechanisms; i++)
			if (auth_can_use(c, c->auth_mechanisms[i])) {
				strlcat(allowed, " ", sizeof(allowed));
				strlcat(allowed, conf_mech_name(c->auth_mechanisms[i]),
				    sizeof(allowed));
			}
		snprintf(err, sizeof(err), " (smarthost offers:%s; allowed:%s)",
		    offered[0] ? offered : " none", allowed[0] ? allowed : " none");
		return open_fail(s, why, NULL, "%s: no common AUTH mechanism%s", s->relay, err);
	}
	token = auth_mech_is_token(m);
	/* A refused token may just have expired: fetch a fresh one once. */
	for (tries = token ? 2 : 1; tries > 0; tries--) {
		int rc;

		secret = token ? auth_token_fetch(c, tries == 1, c->timeout_command, err,
		    sizeof(err)) : auth_secret_fetch(c, false, c->timeout_command, err, sizeof(err));
		if (secret == NULL && c->oauth2 != OAUTH2_OFF) {
			/* "oauth2: why": --health names an AUTH failure as OAuth2's. */
			smtp_reply_set(why, "4.7.0", "%s", err);
			s->usable = false;
			return SMTP_TEMP;
		}
		if (secret == NULL) {
			smtp_reply_set(why, "4.7.0", "cannot get the AUTH secret for %s: %s",
			    s->relay, err);
			s->usable = false;
			return SMTP_TEMP;
		}
		rc = sasl(s, m, secret, &r, why);
		auth_free(secret);
		if (rc == -1)
			return SMTP_TEMP;
		if (r.code == 235) {
			log_debug("smtp %s: authenticated as %s with %s", s->relay, c->auth_user,
			    conf_mech_name(m));
			return SMTP_DONE;
		}
		if (r.code == 421 || s->net == NULL)
			break;
		if (tries > 1)
			log_info("smtp %s: %s token refused (%s), fetching a new one", s->relay,
			    conf_mech_name(m), r.text);
	}
	return open_fail(s, why, &r, "SASL authentication failed; server %s said: %s", s->relay,
	    r.text);
}


/*
 * With tls = starttls, a smarthost given with port 465 gets implicit TLS:
 * RFC 8314 makes 465 the implicit-TLS submission port and nobody offers
 * STARTTLS there, so "587, else 465" can be one failover list (a laptop on
 * a network that blocks one of them).
 */
static enum tls_mode host_tls(const struct conf *c, const struct smarthost *sh)
{
	if (c->tls == TLS_STARTTLS && sh->port_given && sh->port == 465)
		return TLS_SMTPS;
	return c->tls;
}
static enum smtp_class open_session(struct smtp_session *s, struct smtp_reply *why)
{
	const struct conf *c = s->c;
	struct smtp_reply r;
	char err[1024];

	smtp_io_set_state(s, SMTP_S_CONNECT);
	s->net = net_connect(s->sh->host, s->sh->port, c->timeout_connect, err, sizeof(err));
	if (s->net == NULL) {
		smtp_reply_set(why, "4.4.1", "%s", err);
		return SMTP_TEMP;
	}
	snprintf(s->relay, sizeof(s->relay), "%s[%s]:%u", s->sh->host, net_peer_addr(s->net),
	    s->sh->port);
	if (host_tls(c, s->sh) == TLS_SMTPS && start_tls(s, why) != SMTP_DONE)
		return SMTP_TEMP;
	smtp_io_set_state(s, SMTP_S_GREETING);
	if (smtp_io_read(s, &r, c->timeout_greeting, "receiving the initial server greeting", NULL)) {
		*why = r;
		return SMTP_TEMP;
	}
	if (r.code != 220)
		return open_fail(s, why, &r, "%s refused to talk to me: %s", s->relay, r.text);
	if (ehlo(s, SMTP_S_EHLO, why) != SMTP_DONE)
		return SMTP_TEMP;
	if (host_tls(c, s->sh) == TLS_STARTTLS) {
		if (starttls(s, why) != SMTP_DONE || ehlo(s, SMTP_S_EHLO2, why) != SMTP_DONE)
			return SMTP_TEMP;
	}
	if (c->auth_user != NULL && authenticate(s, why) != SMTP_DONE)
		return SMTP_TEMP;
	smtp_io_set_state(s, SMTP_S_READY);
	s->usable = true;
	return SMTP_DONE;
}

enum smtp_class smtp_open(const struct conf *c, const struct smarthost *sh,
    struct smtp_session **out, struct smtp_reply *why)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	/* OpenSSL writes with write(2): a peer that hung up must be an error
	 * return, not a fatal SIGPIPE (plain writes use MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	s->c = c;
	s->sh = sh;
	s->state = SMTP_S_CONNECT;
	snprintf(s->relay, sizeof(s->relay), "%s[?]:%u", sh->host, sh->port);
	smtp_reply_init(why);
	if (open_session(s, why) != SMTP_DONE) {
		if (why->dsn[0] == '\0')
			strlcpy(why->dsn, "4.4.0", sizeof(why->dsn));
		why->at_auth = s->state == SMTP_S_AUTH;	/* for relayd --health */
		log_debug("smtp %s: open failed: %s", s->relay, why->text);
		smtp_close(s, true);
		*out = NULL;
		return SMTP_TEMP;
	}
	*out = s;
	return SMTP_DONE;
}

enum smtp_class smtp_rset(struct smtp_session *s)
{
	return smtp_io_rset(s);
}

void smtp_close(struct smtp_session *s, bool polite)
{
	struct smtp_reply r;

	if (s == NULL)
		return;
	if (polite && s->net != NULL && s->usable) {
		smtp_io_set_state(s, SMTP_S_QUIT);
		if (smtp_io_cmd(s, "QUIT", NULL, SMTP_QUIT_TIMEOUT, "sending QUIT", &r) == 0)
			(void)smtp_io_read(s, &r, SMTP_QUIT_TIMEOUT, "sending QUIT", NULL);
	}
	if (s->net != NULL)
		net_close(s->net, polite);
	free(s);
}
