/*
 * The listener's ESMTP session: see listen_smtp.h. The states:
 *
 *   LS_GREETED  after the 220 banner, or after STARTTLS: EHLO/HELO first
 *   LS_READY    a name was given: AUTH, STARTTLS, MAIL
 *   LS_MAIL     MAIL accepted: RCPT
 *   LS_RCPT     at least one RCPT accepted: more RCPT, or DATA
 *   LS_DONE     QUIT, a fatal error, a timeout or SIGTERM: close
 *
 * DATA, AUTH and STARTTLS run to completion inside their command and
 * return to LS_READY (or LS_GREETED after STARTTLS). RSET and a new EHLO go
 * back to LS_READY from anywhere.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "auth.h"
#include "spool_envelope.h"
#include "listen_auth.h"
#include "listen_conn.h"
#include "listen_data.h"
#include "listen_smtp.h"
#include "log.h"
#include "net.h"
#include "smtp_parse.h"
#include "sm_submit.h"
#include "util.h"

/* RFC 5321 §4.5.3.1.4: 512 octets with CRLF; AUTH responses may be longer
 * (RFC 4954 §4), so allow what a long password in base64 needs. */
#define LS_LINE_MAX 2048
/* A client that keeps sending bad commands or passwords is let go. */
#define LS_MAX_ERRORS 10
#define LS_MAX_AUTH_FAILURES 3
/* No session lasts longer, however slowly the client trickles bytes. */
#define LS_SESSION_SECONDS 3600

enum ls_state { LS_GREETED, LS_READY, LS_MAIL, LS_RCPT, LS_DONE };

static const char *const state_name[] = {
	[LS_GREETED] = "greeted", [LS_READY] = "ready", [LS_MAIL] = "mail",
	[LS_RCPT] = "rcpt", [LS_DONE] = "done",
};

struct ls {
	const struct lsmtp_ctx *x;
	const struct conf *c;
	struct lconn *conn;
	enum ls_state st;
	int64_t session_end;
	char helo[ENV_HELO_MAX + 1];
	char *user;		/* authenticated, or NULL */
	unsigned errors, auth_failures;

	/* The transaction. */
	char *sender;		/* "" = the null sender */
	enum sm_body body;
	char **rcpts;
	size_t nrcpts, cap;
};

static const char *host(const struct ls *s)
{
	return s->c->hostname != NULL ? s->c->hostname : "localhost";
}

static int64_t cmd_deadline(const struct ls *s)
{
	int64_t d = net_deadline(s->c->timeout_command);

	return d < s->session_end ? d : s->session_end;
}

static void event(const struct ls *s, const char *what)
{
	if (s->x->events != -1)
		(void)send(s->x->events, what, strlen(what), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void reset_transaction(struct ls *s)
{
	size_t i;

	for (i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	free(s->sender);
	s->rcpts = NULL;
	s->nrcpts = s->cap = 0;
	s->sender = NULL;
	s->body = SM_BODY_UNSET;
	if (s->st == LS_MAIL || s->st == LS_RCPT)
		s->st = LS_READY;
}

/* A refused command; too many of them end the session. */
static void error_reply(struct ls *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void error_reply(struct ls *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	conn_reply(s->conn, "%s", line);
	if (++s->errors >= LS_MAX_ERRORS) {
		conn_reply(s->conn, "421 4.7.0 %s Error: too many errors", host(s));
		log_warnx("listen: too many errors from %s[%s], disconnecting", s->helo,
		    s->x->ip);
		s->st = LS_DONE;
	}
}

static bool auth_offered(const struct ls *s)
{
	return s->x->users != NULL && s->user == NULL &&
	    (conn_is_tls(s->conn) || s->x->loopback);
}

/* "ESMTP", "ESMTPS", "ESMTPA" or "ESMTPSA" (RFC 3848). */
static const char *proto(const struct ls *s)
{
	bool tls = conn_is_tls(s->conn), a = s->user != NULL;

	return tls && a ? "ESMTPSA" : tls ? "ESMTPS" : a ? "ESMTPA" : "ESMTP";
}

static void cmd_ehlo(struct ls *s, const char *args, bool extended)
{
	char name[ENV_HELO_MAX + 2];
	size_t n;

	while (*args == ' ')
		args++;
	n = strlcpy(name, args, sizeof name);
	while (n > 0 && n < sizeof name && name[n - 1] == ' ')
		name[--n] = '\0';
	if (!envelope_helo_ok(name)) {
		error_reply(s, "501 5.5.4 Syntax: %s hostname (letters, digits and . - _ : [ ])",
		    extended ? "EHLO" : "HELO");
		return;
	}
	strlcpy(s->helo, name, sizeof s->helo);
	reset_transaction(s);
	s->st = LS_READY;
	if (!extended) {
		conn_reply(s->conn, "250 %s", host(s));
		return;
	}
	conn_reply(s->conn, "250-%s", host(s));
	conn_reply(s->conn, "250-PIPELINING");
	if (s->c->max_message_size > 0)
		conn_reply(s->conn, "250-SIZE %" PRIu64, s->c->max_message_size);
	else
		conn_reply(s->conn, "250-SIZE");
	conn_reply(s->conn, "250-8BITMIME");
	conn_reply(s->conn, "250-SMTPUTF8");
	if (s->x->tls != NULL && !conn_is_tls(s->conn))
		conn_reply(s->conn, "250-STARTTLS");
	if (auth_offered(s))
		conn_reply(s->conn, "250-AUTH PLAIN LOGIN");
	conn_reply(s->conn, "250 ENHANCEDSTATUSCODES");
}

static void cmd_starttls(struct ls *s, const char *args)
{
	char err[256];
	size_t junk;

	if (s->x->tls == NULL || conn_is_tls(s->conn)) {
		error_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (*args != '\0') {
		error_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	conn_reply(s->conn, "220 2.0.0 Ready to start TLS");
	/* Commands pipelined behind STARTTLS were sent in clear and must not
	 * run as if they came over TLS (CVE-2011-0411). */
	if ((junk = conn_discard(s->conn)) > 0)
		log_warnx("listen: %s[%s] sent %zu bytes after STARTTLS before the handshake; "
		    "discarded", s->helo, s->x->ip, junk);
	if (conn_start_tls(s->conn, s->x->tls, cmd_deadline(s), err, sizeof err) != 0) {
		log_warnx("listen: STARTTLS with %s[%s] failed: %s", s->helo, s->x->ip, err);
		s->st = LS_DONE;
		return;
	}
	/* RFC 3207 §4.2: forget everything learnt before TLS. */
	reset_transaction(s);
	strlcpy(s->helo, "unknown", sizeof s->helo);
	s->st = LS_GREETED;
}

/* Read one AUTH continuation line. NULL (and state set) on failure. */
static char *auth_line(struct ls *s, const char *prompt)
{
	char line[LS_LINE_MAX + 1];
	size_t n = 0;
	enum lc_status st;

	conn_reply(s->conn, "334 %s", prompt);
	st = conn_read_line(s->conn, line, sizeof line, &n, cmd_deadline(s));
	if (st == LC_LONG) {
		error_reply(s, "500 5.5.6 Error: authentication line too long");
		return NULL;
	}
	if (st != LC_OK) {
		s->st = LS_DONE;
		return NULL;
	}
	if (strcmp(line, "*") == 0) {
		error_reply(s, "501 5.7.0 Authentication cancelled");
		return NULL;
	}
	return xstrdup(line);
}

static void auth_result(struct ls *s, char *user, char *pass, const char *mech)
{
	char shown[LOG_SAFE_SIZE(64)];

	if (user != NULL && pass != NULL && listen_users_check(s->x->users, user, pass)) {
		s->user = user;
		auth_free(pass);
		log_info("listen: %s[%s] authenticated as %s (%s)", s->helo, s->x->ip,
		    log_safe(s->user, shown, sizeof shown), mech);
		conn_reply(s->conn, "235 2.7.0 Authentication successful");
		return;
	}
	log_warnx("listen: authentication failed for %s[%s] (%s, user %s)", s->helo, s->x->ip,
	    mech, user != NULL ? log_safe(user, shown, sizeof shown) : "(malformed)");
	free(user);
	auth_free(pass);
	/* Slow down guessing: the client waits a second for each failure. */
	(void)conn_flush(s->conn, cmd_deadline(s));
	sleep(1);
	if (++s->auth_failures >= LS_MAX_AUTH_FAILURES) {
		conn_reply(s->conn, "421 4.7.0 %s Error: too many failed authentications",
		    host(s));
		s->st = LS_DONE;
		return;
	}
	error_reply(s, "535 5.7.8 Error: authentication failed");
}

static void cmd_auth(struct ls *s, const char *args)
{
	char mech[16], *initial, *user = NULL, *pass = NULL, *b64;
	size_t mlen, n;

	while (*args == ' ')
		args++;
	if (s->x->users == NULL) {
		error_reply(s, "502 5.5.1 Error: authentication not enabled");
		return;
	}
	if (s->st == LS_GREETED) {
		error_reply(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->user != NULL || s->st != LS_READY) {
		error_reply(s, "503 5.5.1 Error: %s", s->user != NULL ? "already authenticated" :
		    "AUTH not allowed during a mail transaction");
		return;
	}
	if (!auth_offered(s)) {
		error_reply(s, "538 5.7.11 Encryption required for requested authentication "
		    "mechanism (use STARTTLS)");
		return;
	}
	mlen = strcspn(args, " ");
	if (mlen == 0 || mlen >= sizeof mech) {
		error_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	memcpy(mech, args, mlen);
	mech[mlen] = '\0';
	initial = (char *)args + mlen;
	while (*initial == ' ')
		initial++;
	if (strcasecmp(mech, "PLAIN") == 0) {
		/* "=" is an empty initial response (RFC 4954 §4). */
		b64 = *initial != '\0' && strcmp(initial, "=") != 0 ? xstrdup(initial) :
		    auth_line(s, "");
		if (b64 == NULL)
			return;
		if (listen_sasl_plain(b64, &user, &pass) != 0)
			user = pass = NULL;
		auth_free(b64);
		auth_result(s, user, pass, "PLAIN");
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		b64 = *initial != '\0' ? xstrdup(initial) : auth_line(s, "VXNlcm5hbWU6");
		if (b64 == NULL)
			return;
		user = (char *)auth_b64_decode(b64, &n);
		free(b64);
		if (user != NULL && strlen(user) != n) {
			free(user);
			user = NULL;
		}
		if ((b64 = auth_line(s, "UGFzc3dvcmQ6")) == NULL) {
			free(user);
			return;
		}
		pass = (char *)auth_b64_decode(b64, &n);
		auth_free(b64);
		if (pass != NULL && strlen(pass) != n) {
			auth_free(pass);
			pass = NULL;
		}
		auth_result(s, user, pass, "LOGIN");
	} else {
		error_reply(s, "504 5.5.4 Unrecognized authentication type (PLAIN and LOGIN are "
		    "offered)");
	}
}

/* Who may start a transaction now. NULL, or the refusal. */
static const char *mail_refusal(const struct ls *s)
{
	if (s->st == LS_GREETED)
		return "503 5.5.1 Error: send HELO/EHLO first";
	if (s->st != LS_READY)
		return "503 5.5.1 Error: nested MAIL command";
	if (s->x->users != NULL && s->user == NULL)
		return !conn_is_tls(s->conn) && !s->x->loopback && s->x->tls != NULL ?
		    "530 5.7.0 Must issue a STARTTLS command first" :
		    "530 5.7.0 Authentication required";
	return NULL;
}

static void cmd_mail(struct ls *s, const char *args)
{
	const char *p = smtp_after_prefix(args, " FROM:"), *rest, *why;
	struct smtp_mail_params mp;
	char err[CONF_ERR_MAX];
	struct addr a;
	bool is_null;
	char *path;

	if ((why = mail_refusal(s)) != NULL) {
		error_reply(s, "%s", why);
		return;
	}
	if (p == NULL) {
		error_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if ((path = smtp_parse_path(p, &rest)) == NULL) {
		error_reply(s, "501 5.1.7 Bad sender address syntax: unbalanced '<'");
		return;
	}
	if ((*rest != '\0' && *rest != ' ') ||
	    smtp_mail_params(rest, s->c->max_message_size, &mp, err, sizeof err) != 0) {
		if (*rest != '\0' && *rest != ' ')
			snprintf(err, sizeof err, "501 5.1.7 Bad sender address syntax");
		free(path);
		error_reply(s, "%s", err);
		return;
	}
	if (addr_parse_sender(path, &a, &is_null, err, sizeof err) != 0) {
		free(path);
		smtp_clean_text(err);
		error_reply(s, "553 5.1.7 Bad sender address: %s", err);
		return;
	}
	addr_free(&a);
	s->sender = path;
	s->body = mp.body;
	s->st = LS_MAIL;
	conn_reply(s->conn, "250 2.1.0 Ok");
}

static void cmd_rcpt(struct ls *s, const char *args)
{
	const char *p = smtp_after_prefix(args, " TO:"), *rest;
	struct addrlist l = { NULL, 0, 0 };
	char err[CONF_ERR_MAX], shown[LOG_SAFE_SIZE(100)];
	char *path;
	int rc;

	if (s->st != LS_MAIL && s->st != LS_RCPT) {
		error_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (p == NULL) {
		error_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if ((path = smtp_parse_path(p, &rest)) == NULL) {
		error_reply(s, "501 5.1.3 Bad recipient address syntax: unbalanced '<'");
		return;
	}
	while (*rest == ' ')
		rest++;
	if (*rest != '\0') {
		free(path);
		error_reply(s, "555 5.5.4 Unsupported RCPT parameter");
		return;
	}
	if (path[0] == '\0') {
		free(path);
		error_reply(s, "501 5.1.3 Bad recipient address syntax: empty address");
		return;
	}
	if (s->nrcpts >= s->c->listen_max_rcpts) {
		/* RFC 5321 §4.5.3.1.10: the client sends the rest in another
		 * transaction. Not an error that ends the session. */
		log_warnx("listen: %s[%s]: too many recipients (listen_max_rcpts = %u), refused "
		    "<%s>", s->helo, s->x->ip, s->c->listen_max_rcpts,
		    log_safe(path, shown, sizeof shown));
		free(path);
		conn_reply(s->conn, "452 4.5.3 Error: too many recipients (at most %u per "
		    "message)", s->c->listen_max_rcpts);
		return;
	}
	rc = submit_rewrite_rcpts(s->c, path, &l, err, sizeof err);
	if (rc == 0 && l.n != 1) {
		snprintf(err, sizeof err, "exactly one address per RCPT command");
		rc = EX_DATAERR;
	}
	addr_list_free(&l);
	if (rc != 0) {
		free(path);
		smtp_clean_text(err);
		error_reply(s, "553 5.1.3 Bad recipient address: %s", err);
		return;
	}
	if (s->nrcpts == s->cap) {
		s->cap = s->cap == 0 ? 8 : s->cap * 2;
		s->rcpts = xreallocarray(s->rcpts, s->cap, sizeof(*s->rcpts));
	}
	s->rcpts[s->nrcpts++] = path;
	s->st = LS_RCPT;
	conn_reply(s->conn, "250 2.1.5 Ok");
}

static void submit_reply(struct ls *s, int rc, const char *id, char *err)
{
	char shown[LOG_SAFE_SIZE(64)];

	smtp_clean_text(err);
	switch (rc) {
	case 0:
		/* Postfix's smtpd line; pick-up logs from=, size=, client=. */
		if (s->user != NULL)
			log_info("%s: client=%s[%s], proto=%s, sasl_username=%s", id, s->helo,
			    s->x->ip, proto(s), log_safe(s->user, shown, sizeof shown));
		else
			log_info("%s: client=%s[%s], proto=%s", id, s->helo, s->x->ip, proto(s));
		event(s, "A");
		conn_reply(s->conn, "250 2.0.0 Ok: queued as %s", id);
		return;
	case EX_NOPERM:
		conn_reply(s->conn, "552 5.3.4 %s", err);
		break;
	case EX_DATAERR:
	case EX_USAGE:
		conn_reply(s->conn, "554 5.6.0 %s", err);
		break;
	default:
		conn_reply(s->conn, "451 4.3.0 %s", err[0] != '\0' ? err :
		    "Error: queue file write error");
		break;
	}
	log_warnx("listen: NOQUEUE: reject: DATA from %s[%s]: %s", s->helo, s->x->ip, err);
}

static void cmd_data(struct ls *s, const char *args)
{
	struct submit_req req;
	enum ld_result dr;
	enum lc_status cst;
	char id[17] = "", err[CONF_ERR_MAX] = "";
	uint64_t cap = 0;
	int fd, rc, werr = 0;

	if (*args != '\0') {
		error_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->st != LS_RCPT) {
		error_reply(s, "503 5.5.1 Error: need %s command", s->st == LS_MAIL ? "RCPT" :
		    "MAIL");
		return;
	}
	if ((fd = data_tempfile(s->c->spool)) == -1) {
		conn_reply(s->conn, "451 4.3.0 Error: cannot create a temporary file: %s",
		    strerror(errno));
		reset_transaction(s);
		return;
	}
	conn_reply(s->conn, "354 End data with <CR><LF>.<CR><LF>");
	/* The exact limit is submit_message's, on the stored form; this cap
	 * only stops a runaway client from filling the disk (CRLF text is at
	 * most twice its stored size). */
	if (s->c->max_message_size > 0)
		cap = s->c->max_message_size * 2 + 65536;
	conn_hold_stop(s->conn, true);
	dr = data_copy(s->conn, fd, cap, s->c->timeout_data_block, s->session_end, &cst, &werr);
	conn_hold_stop(s->conn, false);
	if (dr == LD_CONN) {
		close(fd);
		log_warnx("listen: %s[%s] %s inside DATA: nothing queued", s->helo, s->x->ip,
		    cst == LC_EOF ? "disconnected" : cst == LC_TIMEOUT ? "timed out" :
		    cst == LC_STOP ? "was stopped" : conn_error(s->conn));
		if (cst == LC_TIMEOUT)
			conn_reply(s->conn, "421 4.4.2 %s Error: timeout exceeded", host(s));
		s->st = LS_DONE;
		return;
	}
	if (dr != LD_OK || lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		if (dr == LD_TOO_BIG) {
			snprintf(err, sizeof err, "Message size exceeds fixed limit of %" PRIu64
			    " bytes", s->c->max_message_size);
			submit_reply(s, EX_NOPERM, id, err);
		} else {
			snprintf(err, sizeof err, "Error: temporary file: %s",
			    strerror(dr == LD_WRITE_FAILED ? werr : errno));
			submit_reply(s, EX_IOERR, id, err);
		}
		reset_transaction(s);
		return;
	}
	memset(&req, 0, sizeof req);
	req.conf = s->c;
	req.sender = s->sender;
	req.ignore_dots = true;		/* the end marker is gone; the rest is text */
	req.rcpts = s->rcpts;
	req.nrcpts = s->nrcpts;
	req.ret = RET_UNSET;
	req.body = s->body;
	req.uid = geteuid();
	req.login = "MAILER-DAEMON";
	req.client_proto = proto(s);
	req.client_ip = s->x->ip;
	req.client_helo = s->helo;
	rc = submit_message(&req, fd, id, err, sizeof err);
	close(fd);
	submit_reply(s, rc, id, err);
	reset_transaction(s);
}

/* One command line. */
static void dispatch(struct ls *s, const char *line)
{
	size_t vlen = strcspn(line, " ");
	const char *args = line + vlen;
	char verb[12];

	if (vlen == 0 || vlen >= sizeof(verb)) {
		error_reply(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	memcpy(verb, line, vlen);
	verb[vlen] = '\0';
	if (strcasecmp(verb, "EHLO") == 0 || strcasecmp(verb, "HELO") == 0)
		cmd_ehlo(s, args, strcasecmp(verb, "EHLO") == 0);
	else if (strcasecmp(verb, "STARTTLS") == 0)
		cmd_starttls(s, args);
	else if (strcasecmp(verb, "AUTH") == 0)
		cmd_auth(s, args);
	else if (strcasecmp(verb, "MAIL") == 0)
		cmd_mail(s, args);
	else if (strcasecmp(verb, "RCPT") == 0)
		cmd_rcpt(s, args);
	else if (strcasecmp(verb, "DATA") == 0)
		cmd_data(s, args);
	else if (strcasecmp(verb, "RSET") == 0) {
		reset_transaction(s);
		conn_reply(s->conn, "250 2.0.0 Ok");
	} else if (strcasecmp(verb, "NOOP") == 0)
		conn_reply(s->conn, "250 2.0.0 Ok");
	else if (strcasecmp(verb, "QUIT") == 0) {
		conn_reply(s->conn, "221 2.0.0 Bye");
		s->st = LS_DONE;
	} else if (strcasecmp(verb, "VRFY") == 0)
		conn_reply(s->conn, "252 2.5.2 Cannot VRFY user, but will accept message and "
		    "attempt delivery");
	else if (strcasecmp(verb, "HELP") == 0)
		conn_reply(s->conn, "214 2.0.0 Commands: HELO EHLO STARTTLS AUTH MAIL RCPT DATA "
		    "RSET NOOP QUIT VRFY HELP");
	else if (strcasecmp(verb, "EXPN") == 0 || strcasecmp(verb, "BDAT") == 0 ||
	    strcasecmp(verb, "ETRN") == 0 || strcasecmp(verb, "TURN") == 0)
		error_reply(s, "502 5.5.1 Error: command not implemented");
	else
		error_reply(s, "500 5.5.2 Error: command not recognized");
}

void listen_smtp_serve(const struct lsmtp_ctx *x, int fd)
{
	struct ls *s = xcalloc(1, sizeof(*s));
	char line[LS_LINE_MAX + 1];

	s->x = x;
	s->c = x->c;
	s->conn = conn_new(fd, x->stop);
	s->st = LS_GREETED;
	s->session_end = net_deadline(LS_SESSION_SECONDS);
	strlcpy(s->helo, "unknown", sizeof s->helo);
	conn_reply(s->conn, "220 %s ESMTP nullrelay", host(s));
	while (s->st != LS_DONE) {
		size_t n = 0;
		enum lc_status st = conn_read_line(s->conn, line, sizeof line, &n, cmd_deadline(s));

		if (st == LC_LONG) {
			error_reply(s, "500 5.5.2 Error: line too long");
			continue;
		}
		if (st != LC_OK) {
			if (st == LC_TIMEOUT)
				conn_reply(s->conn, "421 4.4.2 %s Error: timeout exceeded", host(s));
			else if (st == LC_STOP)
				conn_reply(s->conn, "421 4.3.2 %s Service shutting down", host(s));
			if (st == LC_TIMEOUT || st == LC_ERROR)
				log_warnx("listen: %s from %s[%s] in state %s",
				    st == LC_TIMEOUT ? "timeout" : conn_error(s->conn), s->helo,
				    x->ip, state_name[s->st]);
			break;
		}
		if (memchr(line, '\0', n) != NULL) {
			error_reply(s, "500 5.5.2 Error: NUL byte in command");
			continue;
		}
		dispatch(s, line);
		if (x->stop != NULL && *x->stop && s->st != LS_DONE && s->st != LS_MAIL &&
		    s->st != LS_RCPT) {
			conn_reply(s->conn, "421 4.3.2 %s Service shutting down", host(s));
			s->st = LS_DONE;
		}
	}
	(void)conn_flush(s->conn, net_deadline(5));
	log_info("listen: disconnect from %s[%s]", s->helo, x->ip);
	reset_transaction(s);
	free(s->user);
	conn_free(s->conn);
	free(s);
}
