/* Parsing of SMTP client input: see smtp_parse.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp_parse.h"
#include "util.h"

/* Case-insensitive "prefix" at the start of s; returns what follows or NULL. */
const char *smtp_after_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

/*
 * The path after "MAIL FROM:" or "RCPT TO:". Accepts "<...>" (quotes may hide
 * '>') and, leniently, a bare address up to the first space. Returns the
 * inner text (freshly allocated) and sets *rest to what follows, or NULL if
 * the brackets do not close.
 */
char *smtp_parse_path(const char *p, const char **rest)
{
	const char *start, *q;
	bool quoted = false;

	while (*p == ' ')
		p++;
	if (*p != '<') {
		size_t n = strcspn(p, " ");

		*rest = p + n;
		return xstrndup(p, n);
	}
	start = ++p;
	for (q = p; *q != '\0'; q++) {
		if (quoted && *q == '\\' && q[1] != '\0') {
			q++;
			continue;
		}
		if (*q == '"')
			quoted = !quoted;
		else if (!quoted && *q == '>')
			break;
	}
	if (*q != '>')
		return NULL;
	*rest = q + 1;
	/* RFC 5321 §4.1.1.3: accept and ignore a source route "@a,@b:". Its
	 * domains hold no quote: a ':' after one is inside a local part. */
	if (*start == '@') {
		const char *colon = start;

		while (colon < q && *colon != ':' && *colon != '"')
			colon++;
		if (colon < q && *colon == ':')
			start = colon + 1;
	}
	return xstrndup(start, (size_t)(q - start));
}

/* Next " KEY[=VALUE]" parameter of rest; false at the end. */
bool smtp_next_param(const char **rest, char *key, size_t keylen, const char **val,
    size_t *vallen)
{
	const char *p = *rest, *eq, *end;
	size_t klen;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return false;
	end = p + strcspn(p, " ");
	eq = memchr(p, '=', (size_t)(end - p));
	klen = (size_t)((eq != NULL ? eq : end) - p);
	if (klen >= keylen)
		klen = keylen - 1;
	memcpy(key, p, klen);
	key[klen] = '\0';
	*val = eq != NULL ? eq + 1 : NULL;
	*vallen = eq != NULL ? (size_t)(end - eq - 1) : 0;
	*rest = end;
	return true;
}

/* A reason from elsewhere, made safe for one reply line. */
void smtp_clean_text(char *t)
{
	for (; *t != '\0'; t++)
		if ((unsigned char)*t < ' ' || (unsigned char)*t == 0x7f)
			*t = ' ';
}

static int bad(char *reply, size_t replylen, const char *text)
{
	snprintf(reply, replylen, "%s", text);
	return -1;
}

int smtp_mail_params(const char *rest, uint64_t max_size, struct smtp_mail_params *out,
    char *reply, size_t replylen)
{
	const char *val;
	size_t vallen;
	char key[32];

	memset(out, 0, sizeof(*out));
	out->body = SM_BODY_UNSET;
	while (smtp_next_param(&rest, key, sizeof(key), &val, &vallen)) {
		if (strcasecmp(key, "BODY") == 0 && val != NULL) {
			if (vallen == 4 && strncasecmp(val, "7BIT", 4) == 0)
				out->body = SM_BODY_7BIT;
			else if (vallen == 8 && strncasecmp(val, "8BITMIME", 8) == 0)
				out->body = SM_BODY_8BITMIME;
			else
				return bad(reply, replylen, "501 5.5.4 BODY must be 7BIT or 8BITMIME");
		} else if (strcasecmp(key, "SIZE") == 0 && val != NULL) {
			char num[32], *endp;
			unsigned long long declared;

			if (vallen == 0 || vallen >= sizeof(num))
				return bad(reply, replylen, "501 5.5.4 Bad SIZE parameter");
			memcpy(num, val, vallen);
			num[vallen] = '\0';
			errno = 0;
			declared = strtoull(num, &endp, 10);
			if (*endp != '\0' || num[0] < '0' || num[0] > '9' || errno == ERANGE)
				return bad(reply, replylen, "501 5.5.4 Bad SIZE parameter");
			if (max_size > 0 && declared > max_size) {
				snprintf(reply, replylen, "552 5.3.4 Message size exceeds fixed "
				    "limit of %" PRIu64 " bytes", max_size);
				return -1;
			}
			out->size = declared;
		} else if (strcasecmp(key, "SMTPUTF8") == 0 && val == NULL) {
			/* The need is detected from the addresses and headers. */
			out->smtputf8 = true;
		} else if (strcasecmp(key, "AUTH") == 0 && val != NULL) {
			/* RFC 4954 §5: an identity we neither need nor trust. */
		} else {
			smtp_clean_text(key);
			snprintf(reply, replylen, "555 5.5.4 Unsupported MAIL parameter %s", key);
			return -1;
		}
	}
	return 0;
}
