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
#include "smtp.h"
#include "smtp_dot.h"
#include "smtp_io.h"
#include "util.h"
#include "util_utf8.h"

#define PIPE_CHUNK 100
#define BODY_BLOCK (64 * 1024)
#define CMD_BATCH_MAX (4 * 1024 * 1024)

enum rstate { R_PENDING, R_ACCEPTED, R_REFUSED, R_TOO_MANY };

/* One transaction as it goes: what each recipient's RCPT got, and the
 * replies the message-level outcome is made of. */
struct txn {
	struct smtp_session *s;
	const struct smtp_msg *m;
	struct smtp_rcpt_result *res;	/* res[i] for m->rcpt_idx[i] */
	enum rstate *st;		/* likewise */
	size_t n;			/* m->nrcpt */
	size_t next;			/* the next recipient to send RCPT for */
	size_t naccepted;
	bool utf8;			/* MAIL ... SMTPUTF8 */
	bool mail_ok, too_many, data_sent;
	enum smtp_class cls;		/* the message-level class */
	struct smtp_reply *msg_reply;
	struct smtp_reply data_reply, first_refusal;
	struct buf b;			/* the command batch */
};

/* How a step ends: go on to the next step, or how the transaction ends. */
enum step {
	STEP_NEXT,
	STEP_FAIL_ALL,	/* cls and msg_reply for every recipient not refused */
	STEP_REFUSED,	/* decided by the replies: RSET before the next one */
	STEP_END,	/* res[] and cls are final */
};

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

/* Each input byte becomes at most two output bytes (smtp_dot_stuff); the
 * end adds at most SMTP_DOT_END_MAX. */
#define BODY_OUT_CAP (2 * BODY_BLOCK + 8)

/* Stream the body through smtp_dot_stuff, then the final dot. 0, or -1
 * with r and *cls set. The output bound holds by construction: each read
 * takes no more than what the room left in out can hold doubled, whatever
 * earlier (short) reads left there. */
static int send_body(struct smtp_session *s, const struct smtp_msg *m, struct smtp_reply *r,
    enum smtp_class *cls)
{
	const char *what = "sending message body";
	char *in = xmalloc(BODY_BLOCK), *out = xmalloc(BODY_OUT_CAP);
	uint64_t left = m->len;
	off_t off = m->off;
	struct smtp_dot dot;
	size_t o = 0;
	int rc = -1;

	smtp_dot_init(&dot);
	*cls = SMTP_TEMP;
	while (left > 0) {
		/* o < BODY_BLOCK here (flushed below), so room >= BODY_BLOCK / 2. */
		size_t room = (BODY_OUT_CAP - SMTP_DOT_END_MAX - o) / 2;
		size_t want = left < BODY_BLOCK ? (size_t)left : BODY_BLOCK;
		ssize_t n, w;

		if (want > room)
			want = room;
		n = pread(m->fd, in, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			smtp_reply_set(r, "4.3.0", "cannot read the stored message: %s",
			    n < 0 ? strerror(errno) : "shorter than its recorded length");
			smtp_io_drop(s);
			goto out;
		}
		if ((w = smtp_dot_stuff(&dot, in, (size_t)n, out + o)) < 0) {
			smtp_reply_set(r, "5.6.0", "line too long in stored message (over %d "
			    "octets)", MSG_LINE_MAX);
			*cls = SMTP_PERM;
			smtp_io_drop(s);
			goto out;
		}
		o += (size_t)w;
		off += n;
		left -= (uint64_t)n;
		if (o >= BODY_BLOCK) {
			if (smtp_io_write(s, out, o, "<message body block>",
			    s->c->timeout_data_block, what, r))
				goto out;
			o = 0;
		}
	}
	o += smtp_dot_end(&dot, out + o);
	smtp_io_set_state(s, SMTP_S_DOT);
	rc = smtp_io_write(s, out, o, ".", s->c->timeout_data_block, what, r);
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


/* One RCPT reply: accepted, "too many recipients" (sent again at once in
 * another transaction), or refused. */
static void rcpt_result(struct txn *t, size_t i, const struct smtp_reply *r)
{
	struct smtp_rcpt_result *res = &t->res[i];

	res->reply = *r;
	res->cls = smtp_reply_class(r);
	if (res->cls == SMTP_DONE) {
		t->st[i] = R_ACCEPTED;
		t->naccepted++;
	} else if (is_too_many(r)) {
		t->st[i] = R_TOO_MANY;
		res->cls = SMTP_TEMP;
		res->too_many = true;
		t->too_many = true;
	} else {
		t->st[i] = R_REFUSED;
		if (t->first_refusal.code == 0)
			t->first_refusal = *r;
	}
}

/* Refusals decided before anything is sent: a session gone, no
 * recipients, SMTPUTF8 the smarthost does not offer, SIZE over its limit. */
static enum step txn_precheck(struct txn *t)
{
	struct smtp_session *s = t->s;
	const struct smtp_msg *m = t->m;

	if (s->in_txn && smtp_io_rset(s) != SMTP_DONE)
		smtp_io_drop(s);
	if (!smtp_io_usable(s)) {
		smtp_reply_set(t->msg_reply, "4.4.2", "connection with %s is no longer usable",
		    s->relay);
		return STEP_FAIL_ALL;
	}
	if (t->n == 0) {
		smtp_reply_set(t->msg_reply, "4.0.0", "no recipients to send to");
		return STEP_FAIL_ALL;
	}
	t->utf8 = m->smtputf8 && s->ext.smtputf8;
	if (m->smtputf8 && !s->ext.smtputf8) {
		if (utf8_has_8bit(m->env->sender)) {
			smtp_reply_set(t->msg_reply, "5.6.7", "5.6.7 the sender address needs "
			    "SMTPUTF8, which smarthost %s does not offer", s->relay);
			t->cls = SMTP_PERM;
			return STEP_FAIL_ALL;
		}
		if (utf8_refusals(s, m, t->st, t->res, &t->first_refusal) == t->n) {
			*t->msg_reply = t->first_refusal;
			t->cls = SMTP_PERM;
			return STEP_END;
		}
	}
	if (s->ext.size && s->ext.size_max > 0 && m->len > s->ext.size_max) {
		smtp_reply_set(t->msg_reply, "5.3.4", "5.3.4 message size %" PRIu64 " exceeds the "
		    "smarthost's limit of %" PRIu64, m->len, s->ext.size_max);
		t->cls = SMTP_PERM;
		return STEP_FAIL_ALL;
	}
	return STEP_NEXT;
}

/* Write one batch: MAIL (the first time), RCPTs up to PIPE_CHUNK commands
 * (one without pipelining), and DATA after the last RCPT when pipelining.
 * 0, or -1 with msg_reply set. */
static int write_batch(struct txn *t, bool with_mail, bool *with_data)
{
	struct smtp_session *s = t->s;
	const struct smtp_msg *m = t->m;
	size_t cnt = 0, per = s->ext.pipelining ? PIPE_CHUNK : 1;

	buf_reset(&t->b);
	*with_data = false;
	if (with_mail) {
		mail_cmd(s, m, t->utf8, &t->b);
		cnt++;
	}
	while (t->next < t->n && cnt < per) {
		/* Refused by txn_precheck (SMTPUTF8): never sent. */
		if (t->st[t->next] != R_REFUSED) {
			rcpt_cmd(s, m->env, &m->env->rcpts[m->rcpt_idx[t->next]], t->utf8, &t->b);
			cnt++;
		}
		t->next++;
	}
	if (s->ext.pipelining && t->next == t->n) {
		(void)buf_appends(&t->b, "DATA\r\n");
		*with_data = true;
	}
	if (t->b.len >= t->b.max - 1) {
		smtp_reply_set(t->msg_reply, "4.3.0", "command batch too large");
		return -1;
	}
	smtp_io_set_state(s, with_mail ? SMTP_S_MAIL : SMTP_S_RCPT);
	/* (Empty when the rest were all refused by txn_precheck.) */
	if (t->b.len > 0 && smtp_io_write(s, t->b.data, t->b.len, NULL, s->c->timeout_command,
	    with_mail ? "sending MAIL FROM" : "sending RCPT TO", t->msg_reply))
		return -1;
	return 0;
}

/* Read the replies to one batch, in order: MAIL's, each RCPT's from
 * recipient `from` on, DATA's. 0, or -1 on a network failure (msg_reply
 * says). */
static int read_batch(struct txn *t, bool with_mail, size_t from, bool with_data)
{
	struct smtp_session *s = t->s;
	time_t tmo = s->c->timeout_command;
	struct smtp_reply r;
	size_t i;

	if (with_mail) {
		if (smtp_io_read(s, &r, tmo, "sending MAIL FROM", NULL)) {
			*t->msg_reply = r;
			return -1;
		}
		t->mail_ok = r.code >= 200 && r.code < 300;
		if (!t->mail_ok) {
			*t->msg_reply = r;
			t->cls = smtp_reply_class(&r);
		}
	}
	smtp_io_set_state(s, SMTP_S_RCPT);
	for (i = from; i < t->next; i++) {
		if (t->st[i] == R_REFUSED)
			continue;
		if (smtp_io_read(s, &r, tmo, "sending RCPT TO", NULL)) {
			*t->msg_reply = r;
			return -1;
		}
		if (t->mail_ok)
			rcpt_result(t, i, &r);
		/* else: replies to a failed MAIL, 503s */
	}
	if (with_data) {
		smtp_io_set_state(s, SMTP_S_DATA);
		if (smtp_io_read(s, &t->data_reply, tmo, "sending DATA command", NULL)) {
			*t->msg_reply = t->data_reply;
			return -1;
		}
		t->data_sent = true;
	}
	return 0;
}

/* The envelope: MAIL FROM, RCPT TO for each recipient and (pipelining)
 * DATA, in batches with the replies read in between, until every
 * recipient is sent, MAIL fails or the smarthost says "too many". */
static enum step txn_envelope(struct txn *t)
{
	bool first = true;

	t->s->in_txn = true;
	while (first || (t->mail_ok && t->next < t->n && !t->too_many)) {
		size_t from = t->next;
		bool with_data;

		if (write_batch(t, first, &with_data) == -1 ||
		    read_batch(t, first, from, with_data) == -1)
			return STEP_FAIL_ALL;
		first = false;
	}
	return STEP_NEXT;
}

/* What the RCPT replies decide for the message: nothing to send when MAIL
 * failed or no recipient was accepted; recipients never sent after a "too
 * many recipients" are marked so. */
static enum step txn_recipients(struct txn *t)
{
	struct smtp_session *s = t->s;
	struct smtp_reply r;
	size_t i;

	if (t->data_sent && t->data_reply.code == 354 && (!t->mail_ok || t->naccepted == 0)) {
		/* A server that says 354 with no valid recipient: end the empty
		 * data at once; it has nobody to deliver it to. */
		if (smtp_io_write(s, ".\r\n", 3, NULL, s->c->timeout_command, "sending end of data",
		    &r) == 0)
			(void)smtp_io_read(s, &r, s->c->timeout_final_dot, "sending end of data",
			    NULL);
	}
	if (!t->mail_ok) {
		fill_all(t->res, t->st, t->n, t->cls, t->msg_reply, false);
		return STEP_REFUSED;
	}
	for (i = t->next; i < t->n; i++) {
		if (t->st[i] == R_REFUSED)
			continue;
		t->st[i] = R_TOO_MANY;
		t->res[i].cls = SMTP_TEMP;
		t->res[i].too_many = true;
		for (size_t j = 0; j < t->next; j++)
			if (t->st[j] == R_TOO_MANY) {
				t->res[i].reply = t->res[j].reply;
				break;
			}
	}
	if (t->naccepted == 0) {
		t->cls = SMTP_PERM;
		for (i = 0; i < t->n; i++)
			if (t->res[i].cls != SMTP_PERM)
				t->cls = SMTP_TEMP;
		*t->msg_reply = t->first_refusal.code != 0 ? t->first_refusal : t->res[0].reply;
		return STEP_REFUSED;
	}
	return STEP_NEXT;
}

/* DATA (unless pipelined), the body, the final dot and its reply: the
 * outcome of every accepted recipient. */
static enum step txn_data(struct txn *t)
{
	struct smtp_session *s = t->s;
	const struct conf *c = s->c;
	struct smtp_reply r;

	if (!t->data_sent) {
		smtp_io_set_state(s, SMTP_S_DATA);
		if (smtp_io_cmd(s, "DATA", NULL, c->timeout_command, "sending DATA command",
		    t->msg_reply))
			return STEP_FAIL_ALL;
		if (smtp_io_read(s, &t->data_reply, c->timeout_command, "sending DATA command",
		    NULL)) {
			*t->msg_reply = t->data_reply;
			return STEP_FAIL_ALL;
		}
	}
	if (t->data_reply.code != 354) {
		*t->msg_reply = t->data_reply;
		t->cls = t->data_reply.code >= 500 && t->data_reply.code < 600 ? SMTP_PERM :
		    SMTP_TEMP;
		fill_all(t->res, t->st, t->n, t->cls, t->msg_reply, true);
		return STEP_REFUSED;
	}
	smtp_io_set_state(s, SMTP_S_BODY);
	if (send_body(s, t->m, t->msg_reply, &t->cls) == -1) {
		fill_all(t->res, t->st, t->n, t->cls, t->msg_reply, true);
		return STEP_END;
	}
	if (smtp_io_read(s, &r, c->timeout_final_dot,
	    "sending end of data -- message may be sent more than once", NULL)) {
		*t->msg_reply = r;
		fill_all(t->res, t->st, t->n, SMTP_TEMP, t->msg_reply, true);
		t->cls = SMTP_TEMP;
		return STEP_END;
	}
	s->in_txn = false;
	smtp_io_set_state(s, SMTP_S_READY);
	*t->msg_reply = r;
	t->cls = smtp_reply_class(&r);
	fill_all(t->res, t->st, t->n, t->cls, &r, true);
	return STEP_END;
}

enum smtp_class smtp_send(struct smtp_session *s, const struct smtp_msg *m,
    struct smtp_rcpt_result *res, struct smtp_reply *msg_reply)
{
	struct txn t = { .s = s, .m = m, .res = res, .n = m->nrcpt, .cls = SMTP_TEMP,
		.msg_reply = msg_reply };
	enum step how;
	size_t i;

	t.st = xcalloc(t.n ? t.n : 1, sizeof(*t.st));
	buf_init(&t.b, CMD_BATCH_MAX);
	smtp_reply_init(msg_reply);
	smtp_reply_init(&t.data_reply);
	smtp_reply_init(&t.first_refusal);
	for (i = 0; i < t.n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].cls = SMTP_TEMP;
	}
	how = txn_precheck(&t);
	if (how == STEP_NEXT)
		how = txn_envelope(&t);
	if (how == STEP_NEXT)
		how = txn_recipients(&t);
	if (how == STEP_NEXT)
		how = txn_data(&t);
	if (how == STEP_FAIL_ALL) {
		fill_all(res, t.st, t.n, t.cls, msg_reply, false);
	} else if (how == STEP_REFUSED && s->usable) {
		/* The transaction is still open on the server side: RSET before
		 * the next one (smtp_rset, or txn_precheck does it). */
		smtp_io_set_state(s, SMTP_S_READY);
	}
	if (msg_reply->dsn[0] == '\0')
		smtp_reply_finish(msg_reply);
	buf_free(&t.b);
	free(t.st);
	return t.cls;
}
