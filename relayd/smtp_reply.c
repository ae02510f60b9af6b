/*
 * Reply parsing: see smtp_reply.h. Everything here treats the smarthost's
 * bytes as untrusted: lengths are explicit, the kept text is printable ASCII
 * only (it goes to logs, bounces and mailq -j), and overlong text is cut with
 * a visible "..." rather than silently.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "smtp_reply.h"
#include "util.h"

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

/* Append len bytes of s to r->text, printable ASCII only; when it does not
 * fit, end the text with "..." and mark it full. */
static void text_append(struct smtp_reply *r, const char *s, size_t len)
{
	size_t cap = sizeof(r->text) - 1, tl = strlen(r->text), i;

	if (tl >= cap)
		return;		/* already full and marked */
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (tl >= cap) {
			memcpy(r->text + cap - 3, "...", 3);
			break;
		}
		r->text[tl++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	r->text[tl] = '\0';
}

/* "X.Y.Z" at s (RFC 3463: class 2/4/5, subject and detail of 1-3 digits),
 * followed by a space or the end. Returns its length, or 0. */
static size_t enhanced_code(const char *s, size_t len)
{
	size_t i = 0, part, n;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && n < 4 && isdigit((unsigned char)s[i]); n++)
			i++;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

int smtp_reply_add_line(struct smtp_reply *r, const char *line, size_t len)
{
	int code;
	bool first = (r->code == 0);

	if (len < 3 || line[0] < '1' || line[0] > '5' || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || (len > 3 && line[3] != ' ' && line[3] != '-'))
		goto malformed;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (!first && code != r->code)
		goto malformed;
	if (first) {
		size_t el = len > 4 ? enhanced_code(line + 4, len - 4) : 0;

		r->code = code;
		if (el > 0 && el < sizeof(r->dsn) && line[4] == line[0]) {
			memcpy(r->dsn, line + 4, el);
			r->dsn[el] = '\0';
		}
	} else {
		text_append(r, " ", 1);
	}
	text_append(r, line, len);
	return (len > 3 && line[3] == '-') ? 1 : 0;

malformed:
	r->code = 0;
	r->dsn[0] = '\0';
	r->text[0] = '\0';
	text_append(r, "malformed reply: ", strlen("malformed reply: "));
	text_append(r, line, len > 80 ? 80 : len);
	return -1;
}

void smtp_reply_finish(struct smtp_reply *r)
{
	if (r->dsn[0] != '\0')
		return;
	if (r->code >= 200 && r->code < 600)
		snprintf(r->dsn, sizeof(r->dsn), "%d.0.0", r->code / 100);
	else
		strlcpy(r->dsn, "4.0.0", sizeof(r->dsn));
}

int smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *r)
{
	size_t pos = 0;

	smtp_reply_init(r);
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t ll;
		int rc;

		if (nl == NULL)
			break;
		ll = (size_t)(nl - (buf + pos));
		if (ll > 0 && buf[pos + ll - 1] == '\r')
			ll--;
		rc = smtp_reply_add_line(r, buf + pos, ll);
		if (rc < 0)
			return -1;
		pos = (size_t)(nl - buf) + 1;
		if (rc == 0) {
			smtp_reply_finish(r);
			return 0;
		}
	}
	smtp_reply_set(r, "4.0.0", "malformed reply: incomplete");
	return -1;
}

enum smtp_class smtp_reply_class(const struct smtp_reply *r)
{
	if (r->code >= 200 && r->code < 300)
		return SMTP_DONE;
	if (r->code >= 500 && r->code < 600)
		return SMTP_PERM;
	return SMTP_TEMP;
}

void smtp_reply_set(struct smtp_reply *r, const char *dsn, const char *fmt, ...)
{
	char tmp[sizeof(r->text) + 64];
	va_list ap;
	int n;

	smtp_reply_init(r);
	strlcpy(r->dsn, dsn, sizeof(r->dsn));
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		tmp[0] = '\0';
	text_append(r, tmp, strlen(tmp));
}

/* Case-insensitive "keyword" match of the first word of text. */
static bool keyword(const char *text, size_t len, const char *kw, size_t *rest)
{
	size_t kl = strlen(kw);

	if (len < kl || strncasecmp(text, kw, kl) != 0)
		return false;
	if (len > kl && text[kl] != ' ' && text[kl] != '=')
		return false;
	*rest = kl;
	return true;
}

static void parse_auth(struct smtp_ext *ext, const char *s, size_t len)
{
	static const enum auth_mech mechs[] = { AUTH_PLAIN, AUTH_LOGIN, AUTH_XOAUTH2,
		AUTH_OAUTHBEARER };
	size_t i = 0, j, k;

	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '='))
			i++;
		for (j = i; j < len && s[j] != ' '; j++)
			;
		for (k = 0; k < NR_ARRAY_LEN(mechs); k++) {
			const char *name = conf_mech_name(mechs[k]);

			if (strlen(name) == j - i && strncasecmp(name, s + i, j - i) == 0)
				ext->auth |= 1u << mechs[k];
		}
		i = j;
	}
}

void smtp_ext_parse_line(struct smtp_ext *ext, const char *text, size_t len)
{
	size_t rest;

	if (keyword(text, len, "STARTTLS", &rest))
		ext->starttls = true;
	else if (keyword(text, len, "8BITMIME", &rest))
		ext->eightbitmime = true;
	else if (keyword(text, len, "SMTPUTF8", &rest))
		ext->smtputf8 = true;
	else if (keyword(text, len, "PIPELINING", &rest))
		ext->pipelining = true;
	else if (keyword(text, len, "DSN", &rest))
		ext->dsn = true;
	else if (keyword(text, len, "ENHANCEDSTATUSCODES", &rest))
		ext->enhanced = true;
	else if (keyword(text, len, "AUTH", &rest))
		parse_auth(ext, text + rest, len - rest);
	else if (keyword(text, len, "SIZE", &rest)) {
		uint64_t v = 0;
		size_t i = rest;

		ext->size = true;
		while (i < len && text[i] == ' ')
			i++;
		for (; i < len && isdigit((unsigned char)text[i]); i++) {
			if (v > (UINT64_MAX - 9) / 10)
				break;	/* absurd: treat as no limit */
			v = v * 10 + (uint64_t)(text[i] - '0');
		}
		ext->size_max = (i < len && isdigit((unsigned char)text[i])) ? 0 : v;
	}
}
