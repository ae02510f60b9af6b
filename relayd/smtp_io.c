/*
 * The SMTP client's I/O primitives (see smtp_io.h): every command smtp.c
 * and smtp_send.c send and every reply they read goes through here, so the
 * transcript in the debug log, the timeouts and what a network failure
 * does to the session are decided in one place.
 */
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "log.h"
#include "smtp_io.h"
#include "util.h"

/* More reply lines than this is a smarthost gone mad, not a reply. */
#define SMTP_MAX_REPLY_LINES 1000

static const char *const state_names[] = {
	[SMTP_S_CONNECT] = "CONNECT", [SMTP_S_GREETING] = "GREETING", [SMTP_S_EHLO] = "EHLO",
	[SMTP_S_HELO] = "HELO", [SMTP_S_STARTTLS] = "STARTTLS",
	[SMTP_S_TLS_HANDSHAKE] = "TLS_HANDSHAKE", [SMTP_S_EHLO2] = "EHLO2",
	[SMTP_S_AUTH] = "AUTH", [SMTP_S_READY] = "READY", [SMTP_S_MAIL] = "MAIL",
	[SMTP_S_RCPT] = "RCPT", [SMTP_S_DATA] = "DATA", [SMTP_S_BODY] = "BODY",
	[SMTP_S_DOT] = "DOT", [SMTP_S_RSET] = "RSET", [SMTP_S_QUIT] = "QUIT",
};

const char *smtp_io_state_name(enum smtp_state st)
{
	if ((size_t)st < NR_ARRAY_LEN(state_names) && state_names[st] != NULL)
		return state_names[st];
	return "?";
}

void smtp_io_set_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state != st)
		log_debug("smtp %s: %s -> %s", s->relay, smtp_io_state_name(s->state),
		    smtp_io_state_name(st));
	s->state = st;
}

bool smtp_io_usable(const struct smtp_session *s)
{
	return s != NULL && s->usable && s->net != NULL;
}

void smtp_io_drop(struct smtp_session *s)
{
	s->usable = false;
	if (s->net != NULL) {
		net_close(s->net, false);
		s->net = NULL;
	}
}

/* The reply for a network failure while doing `what`. */
static void net_failure(struct smtp_session *s, enum net_status st, const char *what,
    struct smtp_reply *r)
{
	if (st == NET_TIMEOUT)
		smtp_reply_set(r, "4.4.2", "conversation with %s timed out while %s",
		    s->relay, what);
	else if (st == NET_ERROR)
		smtp_reply_set(r, "4.4.2", "lost connection with %s while %s (%s)", s->relay,
		    what, s->net ? net_error(s->net) : "closed");
	else
		smtp_reply_set(r, "4.4.2", "lost connection with %s while %s", s->relay, what);
	smtp_io_drop(s);
}

/* Log each line of a batch as the client's side of the transcript. */
static void log_sent(const struct smtp_session *s, const char *data, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t l = nl ? (size_t)(nl - data) + 1 : len;
		size_t show = l;

		while (show > 0 && (data[show - 1] == '\n' || data[show - 1] == '\r'))
			show--;
		log_debug("smtp %s: > %.*s", s->relay, (int)(show > 1000 ? 1000 : show), data);
		data += l;
		len -= l;
	}
}

int smtp_io_write(struct smtp_session *s, const char *data, size_t len, const char *shown,
    time_t timeout, const char *what, struct smtp_reply *r)
{
	enum net_status st;

	if (s->net == NULL) {
		smtp_reply_set(r, "4.4.2", "no connection with %s while %s", s->relay, what);
		return -1;
	}
	if (shown != NULL)
		log_debug("smtp %s: > %s", s->relay, shown);
	else
		log_sent(s, data, len);
	st = net_write(s->net, data, len, deadline_in(timeout));
	if (st != NET_OK) {
		net_failure(s, st, what, r);
		return -1;
	}
	return 0;
}

int smtp_io_cmd(struct smtp_session *s, const char *cmd, const char *shown, time_t timeout,
    const char *what, struct smtp_reply *r)
{
	size_t l = strlen(cmd);
	char *line = xmalloc(l + 3);
	int rc;

	memcpy(line, cmd, l);
	memcpy(line + l, "\r\n", 3);
	rc = smtp_io_write(s, line, l + 2, shown, timeout, what, r);
	explicit_bzero(line, l + 2);	/* may hold an AUTH response */
	free(line);
	return rc;
}

int smtp_io_read(struct smtp_session *s, struct smtp_reply *r, time_t timeout, const char *what,
    struct smtp_ext *ext)
{
	int64_t deadline = deadline_in(timeout);
	unsigned lines = 0;
	int more;

	smtp_reply_init(r);
	if (s->net == NULL) {
		smtp_reply_set(r, "4.4.2", "no connection with %s while %s", s->relay, what);
		return -1;
	}
	do {
		enum net_status st;
		bool trunc;
		size_t len;

		st = net_read_line(s->net, s->line, sizeof(s->line), &len, &trunc, deadline);
		if (st != NET_OK) {
			net_failure(s, st, what, r);
			return -1;
		}
		log_debug("smtp %s: < %s", s->relay, s->line);
		more = smtp_reply_add_line(r, s->line, len);
		if (more < 0 || ++lines > SMTP_MAX_REPLY_LINES) {
			char text[sizeof(r->text)];

			strlcpy(text, more < 0 ? r->text : "malformed reply: too many lines",
			    sizeof(text));
			smtp_reply_set(r, "4.5.0", "%s from %s while %s", text, s->relay, what);
			smtp_io_drop(s);
			return -1;
		}
		/* Lines after the first of a 250 EHLO reply are keywords. */
		if (ext != NULL && lines > 1 && r->code == 250 && len > 4)
			smtp_ext_parse_line(ext, s->line + 4, len - 4);
	} while (more > 0);
	smtp_reply_finish(r);
	if (r->code == 421)
		s->usable = false;	/* the server is closing the channel */
	return 0;
}

enum smtp_class smtp_io_rset(struct smtp_session *s)
{
	struct smtp_reply r;

	if (!smtp_io_usable(s))
		return SMTP_TEMP;
	smtp_io_set_state(s, SMTP_S_RSET);
	if (smtp_io_cmd(s, "RSET", NULL, s->c->timeout_command, "sending RSET", &r) ||
	    smtp_io_read(s, &r, s->c->timeout_command, "sending RSET", NULL))
		return SMTP_TEMP;
	if (r.code != 250) {
		/* We cannot know what state the server is in: start afresh. */
		log_debug("smtp %s: RSET refused: %s", s->relay, r.text);
		s->usable = false;
		return SMTP_TEMP;
	}
	s->in_txn = false;
	smtp_io_set_state(s, SMTP_S_READY);
	return SMTP_DONE;
}
