/*
 * The envelope and its one-line-per-field text form (see spool_envelope.h). The
 * parser is strict because the same text comes back from a drop file any
 * local user could have written: anything it does not understand exactly is
 * an error, never a guess.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spool_envelope.h"
#include "util_utf8.h"
#include "util.h"

/* parse_state bits: which single-valued keys were seen, and whether the
 * previous line was a rcpt (an orcpt belongs right after its rcpt). */
enum {
	SEEN_SENDER = 1 << 0,
	SEEN_NOTIFY = 1 << 1,
	SEEN_RET = 1 << 2,
	SEEN_ENVID = 1 << 3,
	SEEN_BODY = 1 << 4,
	SEEN_SMTPUTF8 = 1 << 5,
	SEEN_LOCAL = 1 << 6,
	SEEN_UID = 1 << 7,
	SEEN_CLIENT = 1 << 9,
	AFTER_RCPT = 1 << 8,
};

/* Longest envelope line: keyword, space, <, address, >. */
#define ENV_LINE_MAX (32 + ENV_ADDR_MAX)

void envelope_init(struct envelope *e)
{
	memset(e, 0, sizeof(*e));
	e->sender = NULL;
	e->rcpts = NULL;
	e->envid = NULL;
	e->ret = RET_UNSET;
	e->claimed_uid = -1;
}

void envelope_free(struct envelope *e)
{
	size_t i;

	free(e->sender);
	for (i = 0; i < e->nrcpts; i++) {
		free(e->rcpts[i].addr);
		free(e->rcpts[i].orcpt);
	}
	free(e->rcpts);
	free(e->rhash);
	free(e->envid);
	free(e->client_ip);
	free(e->client_helo);
	envelope_init(e);
}

bool envelope_helo_ok(const char *helo)
{
	size_t n = 0;

	for (; *helo != '\0'; helo++, n++)
		if (!isalnum((unsigned char)*helo) && strchr(".-_:[]", *helo) == NULL)
			return false;
	return n > 0 && n <= ENV_HELO_MAX;
}

bool envelope_client_ok(const char *proto, const char *ip, const char *helo)
{
	static const char *const protos[] = { "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" };
	unsigned char a[16];
	bool known = false;
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		known |= strcmp(proto, protos[i]) == 0;
	return known && (inet_pton(AF_INET, ip, a) == 1 || inet_pton(AF_INET6, ip, a) == 1) &&
	    envelope_helo_ok(helo);
}

void envelope_set_client(struct envelope *e, const char *proto, const char *ip, const char *helo)
{
	free(e->client_ip);
	free(e->client_helo);
	e->client_ip = e->client_helo = NULL;
	e->client_proto[0] = '\0';
	if (proto == NULL)
		return;
	strlcpy(e->client_proto, proto, sizeof(e->client_proto));
	e->client_ip = xstrdup(ip);
	e->client_helo = xstrdup(helo);
}

bool envelope_addr_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strnlen(s, ENV_ADDR_MAX + 1) > ENV_ADDR_MAX ||
	    strpbrk(s, "<>") != NULL)
		return false;
	/* Control characters include CR, LF, TAB and C1; bytes >= 0x80 are
	 * UTF-8 (SMTPUTF8) and allowed as such only. */
	return utf8_printable(s);
}

bool envelope_addr_utf8(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

bool envelope_envid_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++, n++) {
		if (n >= ENV_ENVID_MAX || *s < 0x21 || *s > 0x7e)
			return false;
	}
	return true;
}

/* Same recipient: exact local part, domain compared without case. The
 * domain starts after the last '@' (a quoted local part may hold '@'). */
static bool same_rcpt(const char *a, const char *b)
{
	const char *at_a = strrchr(a, '@'), *at_b = strrchr(b, '@');

	if (at_a == NULL || at_b == NULL)
		return at_a == at_b && strcmp(a, b) == 0;
	if (at_a - a != at_b - b || memcmp(a, b, (size_t)(at_a - a)) != 0)
		return false;
	return strcasecmp(at_a + 1, at_b + 1) == 0;
}

/* Hash of what same_rcpt compares: the local part as is, the domain
 * without case (FNV-1a). */
static size_t rcpt_hash(const char *a)
{
	const char *at = strrchr(a, '@');
	uint64_t h = 14695981039346656037ULL;
	const char *p;

	for (p = a; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (at != NULL && p > at)
			c = (unsigned char)tolower(c);
		h = (h ^ c) * 1099511628211ULL;
	}
	return (size_t)h;
}

/* The slot for addr in e->rhash: where it is, or the empty one where it
 * would go. */
static size_t rcpt_slot(const struct envelope *e, const char *addr)
{
	size_t i = rcpt_hash(addr) & (e->rhcap - 1);

	while (e->rhash[i] != 0 && !same_rcpt(e->rcpts[e->rhash[i] - 1].addr, addr))
		i = (i + 1) & (e->rhcap - 1);
	return i;
}

/* Keep the table at most half full (rebuilt from rcpts[] when it grows). */
static void rcpt_table_grow(struct envelope *e)
{
	size_t i;

	if (e->rhcap != 0 && (e->nrcpts + 1) * 2 <= e->rhcap)
		return;
	free(e->rhash);
	e->rhcap = e->rhcap ? e->rhcap * 2 : 16;
	while ((e->nrcpts + 1) * 2 > e->rhcap)
		e->rhcap *= 2;
	e->rhash = xcalloc(e->rhcap, sizeof(*e->rhash));
	for (i = 0; i < e->nrcpts; i++)
		e->rhash[rcpt_slot(e, e->rcpts[i].addr)] = i + 1;
}

int envelope_add_rcpt(struct envelope *e, const char *addr, const char *orcpt)
{
	size_t slot;

	if (!envelope_addr_ok(addr) || (orcpt != NULL && !envelope_addr_ok(orcpt)))
		return -1;
	rcpt_table_grow(e);
	slot = rcpt_slot(e, addr);
	if (e->rhash[slot] != 0)
		return 0;
	if (e->nrcpts >= ENV_MAX_RCPTS)
		return -1;
	if (e->nrcpts == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 8;

		e->rcpts = xreallocarray(e->rcpts, ncap, sizeof(*e->rcpts));
		e->cap = ncap;
	}
	e->rcpts[e->nrcpts].addr = xstrdup(addr);
	e->rcpts[e->nrcpts].orcpt = orcpt ? xstrdup(orcpt) : NULL;
	e->nrcpts++;
	e->rhash[slot] = e->nrcpts;
	return 1;
}

const char *envelope_check(const struct envelope *e)
{
	size_t i;

	if (e->sender == NULL)
		return "no envelope sender";
	if (e->sender[0] != '\0' && !envelope_addr_ok(e->sender))
		return "invalid envelope sender";
	if (e->nrcpts == 0)
		return "no recipients";
	for (i = 0; i < e->nrcpts; i++) {
		if (!envelope_addr_ok(e->rcpts[i].addr))
			return "invalid recipient";
		if (e->rcpts[i].orcpt != NULL && !envelope_addr_ok(e->rcpts[i].orcpt))
			return "invalid original recipient";
	}
	if (e->envid != NULL && !envelope_envid_ok(e->envid))
		return "invalid envid";
	if ((e->notify & NOTIFY_NEVER) && (e->notify & ~(unsigned)NOTIFY_NEVER))
		return "notify NEVER mixed with other values";
	if (e->claimed_uid < -1)
		return "invalid claimed uid";
	if (e->client_ip != NULL &&
	    !envelope_client_ok(e->client_proto, e->client_ip, e->client_helo))
		return "invalid client line";
	return NULL;
}

static int write_notify(struct buf *b, unsigned notify)
{
	const char *sep = "";

	if (buf_appends(b, "notify ") == -1)
		return -1;
	if (notify & NOTIFY_NEVER)
		return buf_appends(b, "NEVER\n");
	if (notify & NOTIFY_SUCCESS) {
		if (buf_appends(b, "SUCCESS") == -1)
			return -1;
		sep = ",";
	}
	if (notify & NOTIFY_FAILURE) {
		if (buf_appendf(b, "%sFAILURE", sep) == -1)
			return -1;
		sep = ",";
	}
	if ((notify & NOTIFY_DELAY) && buf_appendf(b, "%sDELAY", sep) == -1)
		return -1;
	return buf_appends(b, "\n");
}

int envelope_write(struct buf *b, const struct envelope *e)
{
	size_t i;

	if (e->sender != NULL && buf_appendf(b, "sender <%s>\n", e->sender) == -1)
		return -1;
	for (i = 0; i < e->nrcpts; i++) {
		if (buf_appendf(b, "rcpt <%s>\n", e->rcpts[i].addr) == -1)
			return -1;
		if (e->rcpts[i].orcpt != NULL &&
		    buf_appendf(b, "orcpt <%s>\n", e->rcpts[i].orcpt) == -1)
			return -1;
	}
	if (e->notify != 0 && write_notify(b, e->notify) == -1)
		return -1;
	if (e->ret != RET_UNSET &&
	    buf_appendf(b, "ret %s\n", e->ret == RET_FULL ? "FULL" : "HDRS") == -1)
		return -1;
	if (e->envid != NULL && buf_appendf(b, "envid %s\n", e->envid) == -1)
		return -1;
	if (buf_appendf(b, "body %s\n", e->body_8bit ? "8BITMIME" : "7BIT") == -1)
		return -1;
	if (e->smtputf8 && buf_appends(b, "smtputf8\n") == -1)
		return -1;
	if (e->local_sender && buf_appends(b, "local-sender\n") == -1)
		return -1;
	if (e->claimed_uid >= 0 && buf_appendf(b, "claimed-uid %ld\n", e->claimed_uid) == -1)
		return -1;
	if (e->client_ip != NULL && buf_appendf(b, "client %s %s %s\n", e->client_proto,
	    e->client_ip, e->client_helo) == -1)
		return -1;
	return 0;
}

int envelope_parse_notify(const char *s, unsigned *out)
{
	unsigned bits = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	for (;;) {
		size_t n = strcspn(p, ",");

		if (n == 5 && strncasecmp(p, "never", n) == 0)
			bits |= NOTIFY_NEVER;
		else if (n == 7 && strncasecmp(p, "success", n) == 0)
			bits |= NOTIFY_SUCCESS;
		else if (n == 7 && strncasecmp(p, "failure", n) == 0)
			bits |= NOTIFY_FAILURE;
		else if (n == 5 && strncasecmp(p, "delay", n) == 0)
			bits |= NOTIFY_DELAY;
		else
			return -1;	/* empty item or unknown word */
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	if ((bits & NOTIFY_NEVER) && bits != NOTIFY_NEVER)
		return -1;
	*out = bits;
	return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* "<addr>" → addr (a pointer into v, NUL written over '>'), or NULL. */
static char *bracketed(char *v)
{
	size_t n = strlen(v);

	if (n < 2 || v[0] != '<' || v[n - 1] != '>')
		return NULL;
	v[n - 1] = '\0';
	return v + 1;
}

static int parse_addr_line(struct envelope *e, const char *kw, char *val, bool after_rcpt,
    char *err, size_t errlen)
{
	char *a = val ? bracketed(val) : NULL;

	if (a == NULL)
		return fail(err, errlen, "%s: value must be <address>", kw);
	if (strcmp(kw, "sender") == 0) {
		if (e->parse_state & SEEN_SENDER)
			return fail(err, errlen, "%s: given twice", kw);
		if (*a != '\0' && !envelope_addr_ok(a))
			return fail(err, errlen, "%s: invalid address", kw);
		e->sender = xstrdup(a);
		e->parse_state |= SEEN_SENDER;
		return 0;
	}
	if (!envelope_addr_ok(a))
		return fail(err, errlen, "%s: invalid address", kw);
	if (strcmp(kw, "rcpt") == 0) {
		int r;

		if (e->nrcpts >= ENV_MAX_RCPTS)
			return fail(err, errlen, "%s: too many recipients", kw);
		r = envelope_add_rcpt(e, a, NULL);
		if (r == 0)
			return fail(err, errlen, "%s: duplicate recipient", kw);
		if (r < 0)
			return fail(err, errlen, "%s: invalid recipient", kw);
		e->parse_state |= AFTER_RCPT;
		return 0;
	}
	/* orcpt */
	if (!after_rcpt || e->nrcpts == 0 || e->rcpts[e->nrcpts - 1].orcpt != NULL)
		return fail(err, errlen, "%s: not right after a rcpt line", kw);
	e->rcpts[e->nrcpts - 1].orcpt = xstrdup(a);
	return 0;
}

static int parse_flag(struct envelope *e, const char *kw, const char *val, unsigned bit,
    bool *flag, char *err, size_t errlen)
{
	if (val != NULL)
		return fail(err, errlen, "%s: takes no value", kw);
	if (e->parse_state & bit)
		return fail(err, errlen, "%s: given twice", kw);
	e->parse_state |= bit;
	*flag = true;
	return 0;
}

static int parse_uid(struct envelope *e, const char *val, char *err, size_t errlen)
{
	const char *errstr = NULL;
	long long n;

	if (e->parse_state & SEEN_UID)
		return fail(err, errlen, "%s: given twice", "claimed-uid");
	if (val == NULL || !isdigit((unsigned char)val[0]))
		return fail(err, errlen, "%s: value must be a number", "claimed-uid");
	n = strtonum(val, 0, 4294967294LL, &errstr);
	if (errstr != NULL)
		return fail(err, errlen, "%s: value out of range or not a number", "claimed-uid");
	e->claimed_uid = (long)n;
	e->parse_state |= SEEN_UID;
	return 0;
}

/* A keyword that takes exactly one value, not seen before. */
static int single(struct envelope *e, const char *kw, const char *val, unsigned bit, char *err,
    size_t errlen)
{
	if (val == NULL || *val == '\0')
		return fail(err, errlen, "%s: missing value", kw);
	if (e->parse_state & bit)
		return fail(err, errlen, "%s: given twice", kw);
	e->parse_state |= bit;
	return 0;
}

static int parse_value_line(struct envelope *e, const char *kw, const char *val, char *err,
    size_t errlen)
{
	if (strcmp(kw, "notify") == 0) {
		if (single(e, kw, val, SEEN_NOTIFY, err, errlen) == -1)
			return -1;
		if (envelope_parse_notify(val, &e->notify) == -1)
			return fail(err, errlen, "%s: expected NEVER or SUCCESS,FAILURE,DELAY", kw);
		return 0;
	}
	if (strcmp(kw, "ret") == 0) {
		if (single(e, kw, val, SEEN_RET, err, errlen) == -1)
			return -1;
		if (strcmp(val, "FULL") == 0)
			e->ret = RET_FULL;
		else if (strcmp(val, "HDRS") == 0)
			e->ret = RET_HDRS;
		else
			return fail(err, errlen, "%s: expected FULL or HDRS", kw);
		return 0;
	}
	if (strcmp(kw, "envid") == 0) {
		if (single(e, kw, val, SEEN_ENVID, err, errlen) == -1)
			return -1;
		if (!envelope_envid_ok(val))
			return fail(err, errlen, "%s: not 1-100 printable ASCII characters", kw);
		e->envid = xstrdup(val);
		return 0;
	}
	/* body */
	if (single(e, kw, val, SEEN_BODY, err, errlen) == -1)
		return -1;
	if (strcmp(val, "7BIT") == 0)
		e->body_8bit = false;
	else if (strcmp(val, "8BITMIME") == 0)
		e->body_8bit = true;
	else
		return fail(err, errlen, "%s: expected 7BIT or 8BITMIME", kw);
	return 0;
}

/* "client PROTO IP HELO". */
static int parse_client(struct envelope *e, char *val, char *err, size_t errlen)
{
	char *ip, *helo;

	if (single(e, "client", val, SEEN_CLIENT, err, errlen) == -1)
		return -1;
	if ((ip = strchr(val, ' ')) == NULL || (helo = strchr(ip + 1, ' ')) == NULL)
		return fail(err, errlen, "%s: expected PROTO ADDRESS HELO", "client");
	*ip++ = '\0';
	*helo++ = '\0';
	if (!envelope_client_ok(val, ip, helo))
		return fail(err, errlen, "%s: expected PROTO ADDRESS HELO", "client");
	envelope_set_client(e, val, ip, helo);
	return 0;
}

static int parse_split(struct envelope *e, char *line, bool after_rcpt, char *err,
    size_t errlen)
{
	char *val = strchr(line, ' ');
	const char *kw = line;

	if (val != NULL)
		*val++ = '\0';
	if (strcmp(kw, "sender") == 0 || strcmp(kw, "rcpt") == 0 || strcmp(kw, "orcpt") == 0)
		return parse_addr_line(e, kw, val, after_rcpt, err, errlen);
	if (strcmp(kw, "notify") == 0 || strcmp(kw, "ret") == 0 || strcmp(kw, "envid") == 0 ||
	    strcmp(kw, "body") == 0)
		return parse_value_line(e, kw, val, err, errlen);
	if (strcmp(kw, "smtputf8") == 0)
		return parse_flag(e, kw, val, SEEN_SMTPUTF8, &e->smtputf8, err, errlen);
	if (strcmp(kw, "local-sender") == 0)
		return parse_flag(e, kw, val, SEEN_LOCAL, &e->local_sender, err, errlen);
	if (strcmp(kw, "claimed-uid") == 0)
		return parse_uid(e, val, err, errlen);
	if (strcmp(kw, "client") == 0)
		return parse_client(e, val, err, errlen);
	snprintf(err, errlen, "unknown keyword \"%.40s\"", kw);
	return 1;
}

int envelope_parse_line(struct envelope *e, const char *line, size_t len, char *err,
    size_t errlen)
{
	char tmp[ENV_LINE_MAX + 2];
	bool after_rcpt = (e->parse_state & AFTER_RCPT) != 0;

	if (errlen > 0)
		err[0] = '\0';
	/* Any line, even one we reject or do not know, ends "right after a
	 * rcpt"; only a rcpt line sets it again. */
	e->parse_state &= ~(unsigned)AFTER_RCPT;
	if (len == 0)
		return fail(err, errlen, "%s", "empty envelope line");
	if (len > ENV_LINE_MAX)
		return fail(err, errlen, "%s", "envelope line too long");
	if (memchr(line, '\0', len) != NULL)
		return fail(err, errlen, "%s", "NUL byte in envelope line");
	memcpy(tmp, line, len);
	tmp[len] = '\0';
	return parse_split(e, tmp, after_rcpt, err, errlen);
}
