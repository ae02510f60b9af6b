/*
 * One mail transaction on an open session: MAIL, RCPT, DATA, the body and
 * the final dot (see smtp.h for the contract).
 *
 * Decisions where the SPEC is silent:
 * - BODY=8BITMIME is sent only when the smarthost offers 8BITMIME. When it
 *   does not, the message is sent anyway without the parameter, as Postfix
 *   does by default: converting would alter the message, refusing would
 *   bounce mail every real smarthost accepts.
 * - DSN parameters (RET, ENVID, NOTIFY, ORCPT) are dropped silently when
 *   DSN is not offered (RFC 3461 §4.1 lets the relay do so).
 * - Pipelining writes MAIL, the RCPTs and DATA as one batch, but at most
 *   PIPE_CHUNK commands per write, reading the replies in between, so that
 *   neither side can block writing while the other does too.
 * - A 552 with enhanced code 5.5.3 to RCPT is "too many recipients" in the
 *   old style (RFC 5321 §4.5.3.1.10): treated like 452.
 * - SMTPUTF8 (RFC 6531 §3.4) is decided per address. To a smarthost that
 *   does not offer it, a message whose sender needs it fails whole (5.6.7,
 *   the reason names the sender); otherwise only the recipients whose
 *   address needs it fail (5.6.7, decided here, never sent), and the others
 *   go in a transaction without the SMTPUTF8 parameter. UTF-8 in header
 *   fields alone does not ask for SMTPUTF8: like an 8-bit body it is sent
 *   as it is (with BODY=8BITMIME when offered), as it was before RFC 6531.
 *   An ORCPT that needs it is then left out (DSN allows that).
 * - A stored line over 998 octets or a read error of the stored file is
 *   found while streaming: the connection is dropped without the final dot
 *   (so the smarthost discards what it got) rather than sending a cut
 *   message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msg_limits.h"
#include "smtp_impl.h"
#include "util.h"
#include "util_utf8.h"

#define PIPE_CHUNK 100
#define BODY_BLOCK (64 * 1024)
#define CMD_BATCH_MAX (4 * 1024 * 1024)

enum rstate { R_PENDING, R_ACCEPTED, R_REFUSED, R_TOO_MANY };

/* RFC 3461 §4: xtext. */
static void xtext(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= '!' && ch <= '~' && ch != '+' && ch != '=')
			(void)buf_append(b, s, 1);
		else
			(void)buf_appendf(b, "+%02X", ch);
	}
}

static void mail_cmd(const struct smtp_session *s, const struct smtp_msg *m, bool utf8,
    struct buf *b)
{
	const struct envelope *e = m->env;

	(void)buf_appendf(b, "MAIL FROM:<%s>", e->sender ? e->sender : "");
	if (s->ext.size)
		(void)buf_appendf(b, " SIZE=%" PRIu64, m->len);
	if (m->body_8bit && s->ext.eightbitmime)
		(void)buf_appends(b, " BODY=8BITMIME");
	if (utf8)
		(void)buf_appends(b, " SMTPUTF8");
	if (s->ext.dsn && e->ret != RET_UNSET)
		(void)buf_appends(b, e->ret == RET_FULL ? " RET=FULL" : " RET=HDRS");
	if (s->ext.dsn && e->envid != NULL) {
		(void)buf_appends(b, " ENVID=");
		xtext(b, e->envid);
	}
	(void)buf_appends(b, "\r\n");
}

static void rcpt_cmd(const struct smtp_session *s, const struct envelope *e,
    const struct env_rcpt *r, bool utf8, struct buf *b)
{
	(void)buf_appendf(b, "RCPT TO:<%s>", r->addr);
	if (s->ext.dsn && e->notify != 0) {
		if (e->notify & NOTIFY_NEVER) {
			(void)buf_appends(b, " NOTIFY=NEVER");
		} else {
			const char *sep = " NOTIFY=";

			if (e->notify & NOTIFY_SUCCESS) {
				(void)buf_appendf(b, "%sSUCCESS", sep);
				sep = ",";
			}
			if (e->notify & NOTIFY_FAILURE) {
				(void)buf_appendf(b, "%sFAILURE", sep);
				sep = ",";
			}
			if (e->notify & NOTIFY_DELAY)
				(void)buf_appendf(b, "%sDELAY", sep);
		}
	}
	if (s->ext.dsn && r->orcpt != NULL && (utf8 || !utf8_has_8bit(r->orcpt))) {
		(void)buf_appends(b, " ORCPT=rfc822;");
		xtext(b, r->orcpt);
	}
	(void)buf_appends(b, "\r\n");
}

static bool is_too_many(const struct smtp_reply *r)
{
	return r->code == 452 || strcmp(r->dsn, "4.5.3") == 0 ||
	    (r->code == 552 && strcmp(r->dsn, "5.5.3") == 0);
}

/* Each input byte becomes at most two output bytes (LF -> CRLF, or a dot
 * stuffed before a leading dot); the tail adds CRLF and ".CRLF". */
#define BODY_OUT_CAP (2 * BODY_BLOCK + 8)
#define BODY_TAIL 5

/* Stream the body: LF -> CRLF, dot-stuffing, a final CRLF if missing, then
 * the final dot. 0, or -1 with r and *cls set. The output bound holds by
 * construction: each read takes no more than what the room left in out can
 * hold doubled, whatever earlier (short) reads left there. */
static int send_body(struct smtp_session *s, const struct smtp_msg *m, struct smtp_reply *r,
    enum smtp_class *cls)
{
	const char *what = "sending message body";
	char *in = xmalloc(BODY_BLOCK), *out = xmalloc(BODY_OUT_CAP);
	uint64_t left = m->len;
	off_t off = m->off;
	size_t o = 0, linelen = 0;
	bool bol = true;
	char prev = '\n';
	int rc = -1;

	*cls = SMTP_TEMP;
	while (left > 0) {
		/* o < BODY_BLOCK here (flushed below), so room >= BODY_BLOCK / 2. */
		size_t room = (BODY_OUT_CAP - BODY_TAIL - o) / 2;
		size_t want = left < BODY_BLOCK ? (size_t)left : BODY_BLOCK, i;
		ssize_t n;

		if (want > room)
			want = room;
		n = pread(m->fd, in, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			smtp_reply_set(r, "4.3.0", "cannot read the stored message: %s",
			    n < 0 ? strerror(errno) : "shorter than its recorded length");
			smtp_drop(s);
			goto out;
		}
		for (i = 0; i < (size_t)n; i++) {
			char ch = in[i];

			if (bol && ch == '.')
				out[o++] = '.';
			bol = false;
			if (ch == '\n') {
				if (prev != '\r')
					out[o++] = '\r';
				out[o++] = '\n';
				bol = true;
				linelen = 0;
			} else {
				if (++linelen > MSG_LINE_MAX + (ch == '\r' ? 1 : 0)) {
					smtp_reply_set(r, "5.6.0", "line too long in stored "
					    "message (over %d octets)", MSG_LINE_MAX);
					*cls = SMTP_PERM;
					smtp_drop(s);
					goto out;
				}
				out[o++] = ch;
			}
			prev = ch;
		}
		off += n;
		left -= (uint64_t)n;
		if (o >= BODY_BLOCK) {
			if (smtp_write(s, out, o, "<message body block>", s->c->timeout_data_block,
			    what, r))
				goto out;
			o = 0;
		}
	}
	if (!bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	smtp_set_state(s, SMTP_S_DOT);
	rc = smtp_write(s, out, o, ".", s->c->timeout_data_block, what, r);
out:
	free(in);
	free(out);
	return rc;
}

static void fill_all(struct smtp_rcpt_result *res, const enum rstate *st, size_t n,
    enum smtp_class cls, const struct smtp_reply *r, bool only_accepted)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (st[i] == R_REFUSED || st[i] == R_TOO_MANY)
			continue;
		if (only_accepted && st[i] != R_ACCEPTED)
			continue;
		res[i].cls = cls;
		res[i].reply = *r;
	}
}

/*
 * A smarthost without SMTPUTF8: each recipient whose address needs it is
 * refused here (5.6.7) and never sent; *first gets the first such reply.
 * Returns how many were refused.
 */
static size_t utf8_refusals(const struct smtp_session *s, const struct smtp_msg *m,
    enum rstate *st, struct smtp_rcpt_result *res, struct smtp_reply *first)
{
	size_t refused = 0;

	for (size_t i = 0; i < m->nrcpt; i++) {
		if (!utf8_has_8bit(m->env->rcpts[m->rcpt_idx[i]].addr))
			continue;
		st[i] = R_REFUSED;
		res[i].cls = SMTP_PERM;
		smtp_reply_set(&res[i].reply, "5.6.7", "5.6.7 the recipient address needs "
		    "SMTPUTF8, which smarthost %s does not offer", s->relay);
		smtp_reply_finish(&res[i].reply);
		if (refused++ == 0)
			*first = res[i].reply;
	}
	return refused;
}

enum smtp_class smtp_send(struct smtp_session *s, const struct smtp_msg *m,
    struct smtp_rcpt_result *res, struct smtp_reply *msg_reply)
{
	const struct conf *c = s->c;
	size_t n = m->nrcpt, next = 0, naccepted = 0, i, per = s->ext.pipelining ? PIPE_CHUNK : 1;
	enum rstate *st = xcalloc(n ? n : 1, sizeof(*st));
	enum smtp_class cls = SMTP_TEMP;
	bool first = true, too_many = false, data_sent = false, mail_ok = false, utf8;
	struct smtp_reply r, data_reply, first_refusal;
	struct buf b;

	buf_init(&b, CMD_BATCH_MAX);
	smtp_reply_init(msg_reply);
	smtp_reply_init(&data_reply);
	smtp_reply_init(&first_refusal);
	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].cls = SMTP_TEMP;
	}
	if (s->in_txn && smtp_rset(s) != SMTP_DONE)
		smtp_drop(s);
	if (!smtp_usable(s)) {
		smtp_reply_set(msg_reply, "4.4.2", "connection with %s is no longer usable",
		    s->relay);
		goto fail_all;
	}
	if (n == 0) {
		smtp_reply_set(msg_reply, "4.0.0", "no recipients to send to");
		goto fail_all;
	}
	/* Refusals we can decide before sending anything. */
	utf8 = m->smtputf8 && s->ext.smtputf8;
	if (m->smtputf8 && !s->ext.smtputf8) {
		if (utf8_has_8bit(m->env->sender)) {
			smtp_reply_set(msg_reply, "5.6.7", "5.6.7 the sender address needs "
			    "SMTPUTF8, which smarthost %s does not offer", s->relay);
			cls = SMTP_PERM;
			goto fail_all;
		}
		if (utf8_refusals(s, m, st, res, &first_refusal) == n) {
			*msg_reply = first_refusal;
			cls = SMTP_PERM;
			goto out;
		}
	}
	if (s->ext.size && s->ext.size_max > 0 && m->len > s->ext.size_max) {
		smtp_reply_set(msg_reply, "5.3.4", "5.3.4 message size %" PRIu64 " exceeds the "
		    "smarthost's limit of %" PRIu64, m->len, s->ext.size_max);
		cls = SMTP_PERM;
		goto fail_all;
	}

	s->in_txn = true;
	/* MAIL, RCPT... and (pipelining) DATA, PIPE_CHUNK commands per write. */
	while (first || (mail_ok && next < n && !too_many)) {
		size_t from = next, cnt = 0;
		bool with_mail = first, with_data = false;

		buf_reset(&b);
		if (with_mail) {
			mail_cmd(s, m, utf8, &b);
			cnt++;
		}
		while (next < n && cnt < per) {
			/* Refused above (SMTPUTF8): never sent. */
			if (st[next] != R_REFUSED) {
				rcpt_cmd(s, m->env, &m->env->rcpts[m->rcpt_idx[next]], utf8, &b);
				cnt++;
			}
			next++;
		}
		if (s->ext.pipelining && next == n) {
			(void)buf_appends(&b, "DATA\r\n");
			with_data = true;
		}
		if (b.len >= b.max - 1) {
			smtp_reply_set(msg_reply, "4.3.0", "command batch too large");
			goto fail_all;
		}
		smtp_set_state(s, with_mail ? SMTP_S_MAIL : SMTP_S_RCPT);
		/* (Empty when the rest were all refused above.) */
		if (b.len > 0 && smtp_write(s, b.data, b.len, NULL, c->timeout_command,
		    with_mail ? "sending MAIL FROM" : "sending RCPT TO", msg_reply))
			goto fail_all;
		if (with_mail) {
			if (smtp_read(s, &r, c->timeout_command, "sending MAIL FROM", NULL)) {
				*msg_reply = r;
				goto fail_all;
			}
			mail_ok = r.code >= 200 && r.code < 300;
			if (!mail_ok) {
				*msg_reply = r;
				cls = smtp_reply_class(&r);
			}
		}
		smtp_set_state(s, SMTP_S_RCPT);
		for (i = from; i < next; i++) {
			if (st[i] == R_REFUSED)
				continue;
			if (smtp_read(s, &r, c->timeout_command, "sending RCPT TO", NULL)) {
				*msg_reply = r;
				goto fail_all;
			}
			if (!mail_ok)
				continue;	/* replies to a failed MAIL: 503s */
			res[i].reply = r;
			res[i].cls = smtp_reply_class(&r);
			if (res[i].cls == SMTP_DONE) {
				st[i] = R_ACCEPTED;
				naccepted++;
			} else if (is_too_many(&r)) {
				st[i] = R_TOO_MANY;
				res[i].cls = SMTP_TEMP;
				res[i].too_many = true;
				too_many = true;
			} else {
				st[i] = R_REFUSED;
				if (first_refusal.code == 0)
					first_refusal = r;
			}
		}
		if (with_data) {
			smtp_set_state(s, SMTP_S_DATA);
			if (smtp_read(s, &data_reply, c->timeout_command, "sending DATA command",
			    NULL)) {
				*msg_reply = data_reply;
				goto fail_all;
			}
			data_sent = true;
		}
		first = false;
	}
	if (data_sent && data_reply.code == 354 && (!mail_ok || naccepted == 0)) {
		/* A server that says 354 with no valid recipient: end the empty
		 * data at once; it has nobody to deliver it to. */
		if (smtp_write(s, ".\r\n", 3, NULL, c->timeout_command, "sending end of data",
		    &r) == 0)
			(void)smtp_read(s, &r, c->timeout_final_dot, "sending end of data", NULL);
	}
	if (!mail_ok) {
		fill_all(res, st, n, cls, msg_reply, false);
		goto done_refused;
	}
	/* Recipients never sent after a "too many recipients". */
	for (i = next; i < n; i++) {
		if (st[i] == R_REFUSED)
			continue;
		st[i] = R_TOO_MANY;
		res[i].cls = SMTP_TEMP;
		res[i].too_many = true;
		for (size_t j = 0; j < next; j++)
			if (st[j] == R_TOO_MANY) {
				res[i].reply = res[j].reply;
				break;
			}
	}
	if (naccepted == 0) {
		cls = SMTP_PERM;
		for (i = 0; i < n; i++)
			if (res[i].cls != SMTP_PERM)
				cls = SMTP_TEMP;
		if (first_refusal.code != 0)
			*msg_reply = first_refusal;
		else
			*msg_reply = res[0].reply;
		goto done_refused;
	}
	if (!data_sent) {
		smtp_set_state(s, SMTP_S_DATA);
		if (smtp_cmd(s, "DATA", NULL, c->timeout_command, "sending DATA command", msg_reply))
			goto fail_all;
		if (smtp_read(s, &data_reply, c->timeout_command, "sending DATA command", NULL)) {
			*msg_reply = data_reply;
			goto fail_all;
		}
	}
	if (data_reply.code != 354) {
		*msg_reply = data_reply;
		cls = data_reply.code >= 500 && data_reply.code < 600 ? SMTP_PERM : SMTP_TEMP;
		fill_all(res, st, n, cls, msg_reply, true);
		goto done_refused;
	}
	smtp_set_state(s, SMTP_S_BODY);
	if (send_body(s, m, msg_reply, &cls) == -1) {
		fill_all(res, st, n, cls, msg_reply, true);
		goto out;
	}
	if (smtp_read(s, &r, c->timeout_final_dot,
	    "sending end of data -- message may be sent more than once", NULL)) {
		*msg_reply = r;
		fill_all(res, st, n, SMTP_TEMP, msg_reply, true);
		cls = SMTP_TEMP;
		goto out;
	}
	s->in_txn = false;
	smtp_set_state(s, SMTP_S_READY);
	*msg_reply = r;
	cls = smtp_reply_class(&r);
	fill_all(res, st, n, cls, &r, true);
	goto out;

done_refused:
	/* The transaction is still open on the server side: RSET before the
	 * next one (smtp_rset, or smtp_send does it). */
	if (s->usable)
		smtp_set_state(s, SMTP_S_READY);
	goto out;

fail_all:
	fill_all(res, st, n, cls, msg_reply, false);
out:
	if (msg_reply->dsn[0] == '\0')
		smtp_reply_finish(msg_reply);
	buf_free(&b);
	free(st);
	return cls;
}
