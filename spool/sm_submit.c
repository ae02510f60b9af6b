/*
 * Submission (sm_submit.h): work out the envelope, read the message, fix it up
 * and queue it in one drop file, or leave nothing at all.
 *
 * The order matters for memory and for honesty. The header section is read
 * into memory first (capped), because -t takes the recipients from it and
 * the envelope is written before the message. The body is then streamed
 * into the drop file. Only at its end do we know whether it must be
 * re-encoded (a line over 998 octets, a NUL, a bare CR); if so a second
 * drop file is written from the first, quoted-printable, and the first is
 * removed. Every error path aborts every drop file it created.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "addr_rcpt_local.h"
#include "spool.h"
#include "sm_submit.h"
#include "util.h"

#define ENVID_MAX 100

/*
 * One recipient: qualified, or for a local one what the aliases and
 * admin_addr make of it (addr_rcpt_local.h). *orig is the caller's spelling; out
 * gets the envelope addresses. 0, EX_DATAERR or EX_CONFIG.
 */
static int rewrite_one(struct rcpt_local *x, const struct addr *a, struct rcpt_set *out,
    char **orig, char *err, size_t errlen)
{
	int rc;

	*orig = addr_spec(a);
	if (!envelope_addr_ok(*orig)) {
		snprintf(err, errlen, "invalid recipient address: %.200s", *orig);
		rc = EX_DATAERR;
	} else if ((rc = rcpt_local_resolve(x, a, out, err, errlen)) == 0) {
		for (size_t i = 0; i < out->n; i++) {
			if (!envelope_addr_ok(out->v[i])) {
				snprintf(err, errlen, "invalid recipient address: %.200s (from %.200s)",
				    out->v[i], *orig);
				rc = EX_DATAERR;
				break;
			}
		}
	}
	if (rc != 0) {
		rcpt_set_free(out);
		free(*orig);
		*orig = NULL;
	}
	return rc;
}

/* Split "local@domain" at the last '@' into a. */
static void split_spec(const char *s, struct addr *a)
{
	const char *at = strrchr(s, '@');

	memset(a, 0, sizeof(*a));
	if (at == NULL) {
		a->local = xstrdup(s);
		return;
	}
	a->local = xstrndup(s, (size_t)(at - s));
	a->domain = xstrdup(at + 1);
}

/* The envelope addresses appended to out carry the caller's original
 * spelling in `display` (for sendmail -bv). */
int submit_rewrite_rcpts(const struct conf *c, const char *arg, struct addrlist *out, char *err,
    size_t errlen)
{
	struct addrlist l = { 0 };
	struct rcpt_local x;
	char why[256];
	int rc = 0;

	if (addr_list_parse(arg, strlen(arg), &l, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "bad recipient address: %s", why);
		addr_list_free(&l);
		return EX_DATAERR;
	}
	rcpt_local_init(&x, c);
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		struct rcpt_set set = { 0 };
		char *orig;

		if ((rc = rewrite_one(&x, &l.v[i], &set, &orig, err, errlen)) != 0)
			break;
		for (size_t k = 0; k < set.n; k++) {
			struct addr a;

			split_spec(set.v[k], &a);
			a.display = xstrdup(orig);
			a.utf8 = l.v[i].utf8 || set.utf8;
			addr_list_push_copy(out, &a);
			addr_free(&a);
		}
		free(orig);
		rcpt_set_free(&set);
	}
	rcpt_local_free(&x);
	addr_list_free(&l);
	return rc;
}

static int add_rcpts(struct rcpt_local *x, const struct addrlist *l, struct envelope *env,
    char *err, size_t errlen)
{
	for (size_t i = 0; i < l->n; i++) {
		struct rcpt_set set = { 0 };
		char *orig;
		int rc = rewrite_one(x, &l->v[i], &set, &orig, err, errlen);

		if (rc != 0)
			return rc;
		if (l->v[i].utf8 || set.utf8)
			env->smtputf8 = true;
		for (size_t k = 0; k < set.n && rc >= 0; k++)
			rc = envelope_add_rcpt(env, set.v[k],
			    strcmp(set.v[k], orig) != 0 ? orig : NULL);
		free(orig);
		rcpt_set_free(&set);
		if (rc < 0) {
			snprintf(err, errlen, "too many recipients (at most %d)", ENV_MAX_RCPTS);
			return EX_DATAERR;
		}
	}
	return 0;
}

static int add_rcpt_arg(struct rcpt_local *x, const char *arg, struct envelope *env, char *err,
    size_t errlen)
{
	struct addrlist l = { 0 };
	char why[256];
	int rc;

	if (addr_list_parse(arg, strlen(arg), &l, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "bad recipient address: %s", why);
		addr_list_free(&l);
		return EX_DATAERR;
	}
	rc = add_rcpts(x, &l, env, err, errlen);
	addr_list_free(&l);
	return rc;
}

/* What the submission knows about its sender, for the envelope and From:. */
struct sender {
	char *from_addr;	/* the address for a generated From: */
	const char *from_name;	/* its display name, or NULL */
	bool local;		/* a local sender: from_rewrite applies */
};

static int make_sender(const struct submit_req *r, struct envelope *env, struct sender *s,
    char *err, size_t errlen)
{
	const struct conf *c = r->conf;
	char *own = xasprintf("%s@%s", r->login, c->default_domain);
	bool given = false;

	memset(s, 0, sizeof(*s));
	s->local = true;	/* no -f: sendmail qualifies the sender itself */
	env->sender = xstrdup(own);
	if (r->sender != NULL) {
		struct addr a;
		bool is_null;
		char why[256];

		if (addr_parse_sender(r->sender, &a, &is_null, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "bad sender address: %s", why);
			free(own);
			return EX_DATAERR;
		}
		free(env->sender);
		if (is_null) {
			env->sender = xstrdup("");
			s->local = false;
		} else {
			env->sender = rcpt_qualified(c, &a);
			s->local = rcpt_is_local(c, &a);
			given = true;
			if (a.utf8)
				env->smtputf8 = true;
		}
		addr_free(&a);
	}
	if (r->client_ip != NULL)
		s->local = false;	/* a network client, not a local user */
	env->local_sender = s->local;
	if (s->local && c->from_rewrite != NULL) {
		free(env->sender);
		env->sender = xstrdup(c->from_rewrite);
	}
	if (env->sender[0] != '\0' && !envelope_addr_ok(env->sender)) {
		snprintf(err, errlen, "invalid sender address: %.200s", r->sender ? r->sender : own);
		free(own);
		return EX_DATAERR;
	}
	if (s->local && c->from_rewrite != NULL)
		s->from_addr = xstrdup(c->from_rewrite);
	else if (given)
		s->from_addr = xstrdup(env->sender);
	else if (r->client_ip != NULL)
		s->from_addr = xasprintf("MAILER-DAEMON@%s", c->hostname);
	else
		s->from_addr = xstrdup(own);
	/* The passwd name describes the caller, not an address given by -f. */
	s->from_name = r->fullname != NULL ? r->fullname : given ? NULL : r->gecos_name;
	if (r->client_ip != NULL)
		s->from_name = NULL;
	free(own);
	return 0;
}

static bool envid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ENVID_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e || *s == '+' || *s == '=')
			return false;
	return true;
}

static int drop_sink_write(void *ctx, const void *p, size_t n, char *err, size_t errlen)
{
	return drop_write(ctx, p, n, err, errlen);
}

/* A descriptor that can read the first drop back: spool_drop.c may have opened it
 * write-only, then reopen it (we own the file, mode 0640). */
static int readable_fd(struct drop *d, bool *opened)
{
	char path[64];
	int fd = drop_fd(d), fl = fcntl(fd, F_GETFL);

	*opened = false;
	if (fl >= 0 && (fl & O_ACCMODE) != O_WRONLY)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	*opened = fd >= 0;
	return fd;
}

/* The second pass: a new drop with the body quoted-printable. */
static int reencode(const struct submit_req *r, const struct envelope *env,
    struct msg_headers *h, const struct msg_body_info *bi, uint64_t hdr_bytes,
    struct drop **dp, char *err, size_t errlen)
{
	struct drop *first = *dp, *second = NULL;
	struct msg_sink sink;
	uint64_t hb, written;
	bool opened = false;
	int rc, fd;

	if ((rc = drop_flush(first, err, errlen)) != 0)
		return rc;
	if (msg_set_qp_headers(h, bi) != 0) {
		snprintf(err, errlen, "header section too large (over %d bytes)", MSG_HEADER_MAX);
		return EX_DATAERR;
	}
	if ((fd = readable_fd(first, &opened)) < 0) {
		snprintf(err, errlen, "cannot read back the spool file: %s", strerror(errno));
		return EX_IOERR;
	}
	if ((rc = drop_create(r->conf->spool, &second, err, errlen)) != 0)
		goto out;
	sink.write = drop_sink_write;
	sink.ctx = second;
	if ((rc = drop_write_envelope(second, env, err, errlen)) != 0 ||
	    (rc = msg_write_headers(h, &sink, &hb, err, errlen)) != 0 ||
	    (rc = msg_qp_body(fd, drop_message_offset(first) + (off_t)hdr_bytes, bi->bytes, &sink,
		hb, r->conf->max_message_size, &written, err, errlen)) != 0) {
		drop_abort(second);
		goto out;
	}
	drop_abort(first);
	*dp = second;
out:
	if (opened)
		close(fd);
	return rc;
}

static void make_msgid(const struct submit_req *r, const char *id, char *out, size_t outlen)
{
	struct tm tm;
	time_t t = time(NULL);
	char stamp[32];

	if (gmtime_r(&t, &tm) == NULL || strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)t);
	snprintf(out, outlen, "<%s.%s@%s>", stamp, id, r->conf->hostname);
}

/* Everything after the envelope is known. */
static int queue(const struct submit_req *r, struct msg_in *in, struct msg_headers *h,
    const struct envelope *env, const struct sender *s, char id[17], char *err, size_t errlen)
{
	const struct conf *c = r->conf;
	uint64_t limit = c->max_message_size, hdr_bytes;
	struct msg_body_info bi;
	struct msg_sink sink;
	struct msg_fix fx;
	struct drop *d = NULL;
	char date[64], msgid[512], *from;
	int rc;

	if ((rc = drop_create(c->spool, &d, err, errlen)) != 0)
		return rc;
	time_rfc5322_date(time(NULL), date, sizeof(date));
	make_msgid(r, drop_id(d), msgid, sizeof(msgid));
	from = msg_mailbox(s->from_name, s->from_addr);
	memset(&fx, 0, sizeof(fx));
	fx.default_domain = c->default_domain;
	fx.hostname = c->hostname;
	fx.date = date;
	fx.msgid = msgid;
	fx.from = from;
	fx.from_rewrite = s->local ? c->from_rewrite : NULL;
	rc = msg_fixup(h, &fx, err, errlen);
	free(from);
	sink.write = drop_sink_write;
	sink.ctx = d;
	if (rc == 0)
		rc = drop_write_envelope(d, env, err, errlen);
	if (rc == 0)
		rc = msg_write_headers(h, &sink, &hdr_bytes, err, errlen);
	if (rc == 0 && limit > 0 && hdr_bytes > limit) {
		snprintf(err, errlen, "message exceeds max_message_size (%llu bytes)",
		    (unsigned long long)limit);
		rc = EX_NOPERM;
	}
	if (rc == 0)
		rc = msg_copy_body(in, &sink, hdr_bytes, limit, &bi, err, errlen);
	if (rc == 0 && (rc = msg_reencode_needed(h, &bi, err, errlen)) == 1)
		rc = reencode(r, env, h, &bi, hdr_bytes, &d, err, errlen);
	if (rc != 0) {
		drop_abort(d);
		return rc;
	}
	strlcpy(id, drop_id(d), 17);
	if ((rc = drop_commit(d, err, errlen)) == 0 && r->queued != NULL)
		r->queued(r->queued_ctx, id, env);
	return rc;
}

int submit_message(const struct submit_req *r, int fd, char id[17], char *err, size_t errlen)
{
	const struct conf *c = r->conf;
	struct envelope env;
	struct sender s = { 0 };
	struct msg_headers h;
	struct msg_in *in = NULL;
	struct rcpt_local x;
	int rc = 0;

	id[0] = '\0';
	rcpt_local_init(&x, c);
	envelope_init(&env);
	msg_headers_init(&h);
	if (r->envid != NULL && !envid_ok(r->envid)) {
		snprintf(err, errlen,
		    "bad -V envid: printable ASCII without spaces, '+' or '=', at most %d characters",
		    ENVID_MAX);
		rc = EX_USAGE;
		goto out;
	}
	env.notify = r->notify;
	env.ret = r->ret;
	env.envid = r->envid != NULL ? xstrdup(r->envid) : NULL;
	env.body_8bit = r->body == SM_BODY_8BITMIME;
	env.claimed_uid = (long)r->uid;
	if (r->client_ip != NULL) {
		env.claimed_uid = -1;
		envelope_set_client(&env, r->client_proto, r->client_ip, r->client_helo);
	}
	if ((rc = make_sender(r, &env, &s, err, errlen)) != 0)
		goto out;
	for (size_t i = 0; i < r->nrcpts && rc == 0; i++)
		rc = add_rcpt_arg(&x, r->rcpts[i], &env, err, errlen);
	if (rc != 0)
		goto out;
	in = msg_in_new(fd, r->ignore_dots);
	if ((rc = msg_read_headers(in, &h, err, errlen)) != 0)
		goto out;
	if (r->extract_rcpts) {
		struct addrlist l = { 0 };

		if ((rc = msg_rcpts(&h, &l, err, errlen)) == 0)
			rc = add_rcpts(&x, &l, &env, err, errlen);
		addr_list_free(&l);
		if (rc != 0)
			goto out;
	}
	if (env.nrcpts == 0) {
		snprintf(err, errlen, "no recipients");
		rc = EX_USAGE;
		goto out;
	}
	rc = queue(r, in, &h, &env, &s, id, err, errlen);
out:
	if (rc != 0)
		id[0] = '\0';
	rcpt_local_free(&x);
	msg_in_free(in);
	msg_headers_free(&h);
	envelope_free(&env);
	free(s.from_addr);
	return rc;
}
