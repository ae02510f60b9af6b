/*
 * RFC 5322 §3.4 address lists, with the §4.4 obsolete forms real mail still
 * carries. Two passes: a lexer turns the header text into tokens (atoms,
 * quoted strings, domain literals, specials), dropping white space, folding
 * and comments but remembering where each token sat in the input; a small
 * recursive-descent parser then builds addresses from the tokens.
 *
 * Everything the parser returns may end up in an SMTP command, so the lexer
 * refuses anything that could smuggle a line break or a control character
 * into it, and the parser refuses "<>" tricks rather than guessing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util_utf8.h"
#include "util.h"

enum tok_kind { T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_kind kind;
	char ch;		/* the character of a T_SPECIAL */
	size_t start, end;	/* bytes [start, end) of the input */
	bool ws_before;		/* white space or a comment precedes it */
};

struct parser {
	const char *s;
	size_t len;
	struct tok *t;
	size_t nt, cap, i;
	char *err;
	size_t errlen;
};

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* atext (RFC 5322 §3.2.3), extended by RFC 6532 to every non-ASCII byte. */
static bool is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Record the first error only: the first problem is the one to report. */
static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	char reason[256], shown[64];
	size_t n = 0, i, max = sizeof shown - 4;
	va_list ap;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	/* Quote the input, without its control characters and cut short. */
	for (i = 0; i < p->len && n < max; i++) {
		unsigned char c = (unsigned char)p->s[i];
		shown[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (i < p->len) {
		while (n > 0 && ((unsigned char)shown[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && (unsigned char)shown[n - 1] >= 0xc0)
			n--;
		memcpy(shown + n, "...", 3);
		n += 3;
	}
	shown[n] = '\0';
	snprintf(p->err, p->errlen, "%s in \"%s\"", reason, shown);
	return -1;
}

/*
 * Only folding may break the text: CRLF or LF followed by SP or HTAB. Any
 * other CR or LF, NUL, or control character is refused here, once, so the
 * lexer can treat the CR and LF it still sees as white space.
 */
static int check_bytes(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->len; i++) {
		unsigned char c = (unsigned char)p->s[i];

		if (c == '\r') {
			if (i + 2 < p->len && p->s[i + 1] == '\n' && is_wsp((unsigned char)p->s[i + 2])) {
				i++;
				continue;
			}
			if (i + 1 < p->len && p->s[i + 1] == '\n')
				return fail(p, "line break at offset %zu not followed by white space", i);
			return fail(p, "bare CR at offset %zu", i);
		}
		if (c == '\n') {
			if (i + 1 < p->len && is_wsp((unsigned char)p->s[i + 1]))
				continue;
			return fail(p, "line break at offset %zu not followed by white space", i);
		}
		if (c == '\0')
			return fail(p, "NUL byte at offset %zu", i);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, "control character 0x%02x at offset %zu", c, i);
	}
	return 0;
}

static void push_tok(struct parser *p, const struct tok *t)
{
	if (p->nt == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->t = xreallocarray(p->t, p->cap, sizeof *p->t);
	}
	p->t[p->nt++] = *t;
}

/* A quoted-pair may not escape a line break (that would hide a CR or LF). */
static bool is_break(unsigned char c)
{
	return c == '\r' || c == '\n';
}

static int skip_comment(struct parser *p, size_t *ip)
{
	size_t i = *ip + 1, depth = 1;

	while (depth > 0) {
		if (i >= p->len)
			return fail(p, "unbalanced '(': comment at offset %zu not closed", *ip);
		if (p->s[i] == '\\') {
			if (i + 1 >= p->len || is_break((unsigned char)p->s[i + 1]))
				return fail(p, "backslash at end of comment at offset %zu", i);
			i += 2;
			continue;
		}
		if (p->s[i] == '(')
			depth++;
		else if (p->s[i] == ')')
			depth--;
		i++;
	}
	*ip = i;
	return 0;
}

static int scan_qstr(struct parser *p, size_t *ip)
{
	size_t i = *ip + 1;

	for (;;) {
		if (i >= p->len)
			return fail(p, "unbalanced '\"': quoted string at offset %zu not closed", *ip);
		if (p->s[i] == '"')
			break;
		if (p->s[i] == '\\') {
			if (i + 1 >= p->len || is_break((unsigned char)p->s[i + 1]))
				return fail(p, "unbalanced '\"': quoted string at offset %zu not closed", *ip);
			i++;
		}
		i++;
	}
	*ip = i + 1;
	return 0;
}

static bool is_dlit_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == ':' || c == '-' || is_wsp(c) || is_break(c);
}

static int scan_dlit(struct parser *p, size_t *ip)
{
	size_t i = *ip + 1;

	for (;; i++) {
		if (i >= p->len)
			return fail(p, "unbalanced '[': domain literal at offset %zu not closed", *ip);
		if (p->s[i] == ']')
			break;
		if (p->s[i] == '[')
			return fail(p, "'[' inside a domain literal at offset %zu", i);
		if (p->s[i] == '\\')
			return fail(p, "backslash inside a domain literal at offset %zu", i);
		/* Only what an IPv4, IPv6 or tagged literal holds: nothing in
		 * it may look like SMTP syntax (RFC 5321 §4.1.3). */
		if (!is_dlit_char((unsigned char)p->s[i]))
			return fail(p, "character 0x%02x not allowed in a domain literal at offset %zu",
			    (unsigned char)p->s[i], i);
	}
	*ip = i + 1;
	return 0;
}

static int lex(struct parser *p)
{
	size_t i = 0;
	bool ws = false;

	while (i < p->len) {
		unsigned char c = (unsigned char)p->s[i];
		struct tok t;

		if (is_wsp(c) || is_break(c)) {
			ws = true;
			i++;
			continue;
		}
		if (c == '(') {
			if (skip_comment(p, &i) == -1)
				return -1;
			ws = true;
			continue;
		}
		memset(&t, 0, sizeof t);
		t.start = i;
		t.ws_before = ws;
		ws = false;
		if (c == '"') {
			t.kind = T_QSTR;
			if (scan_qstr(p, &i) == -1)
				return -1;
		} else if (c == '[') {
			t.kind = T_DLIT;
			if (scan_dlit(p, &i) == -1)
				return -1;
		} else if (is_atext(c)) {
			t.kind = T_ATOM;
			while (i < p->len && is_atext((unsigned char)p->s[i]))
				i++;
		} else if (c == ')') {
			return fail(p, "unbalanced ')' at offset %zu", i);
		} else if (c == ']') {
			return fail(p, "unbalanced ']' at offset %zu", i);
		} else if (c == '\\') {
			return fail(p, "backslash outside a quoted string at offset %zu", i);
		} else {
			/* < > : ; @ , . : every other printable ASCII byte is atext. */
			t.kind = T_SPECIAL;
			t.ch = (char)c;
			i++;
		}
		t.end = i;
		push_tok(p, &t);
	}
	return 0;
}

static const struct tok *cur(const struct parser *p)
{
	return p->i < p->nt ? &p->t[p->i] : NULL;
}

static bool at_special(const struct parser *p, char ch)
{
	const struct tok *t = cur(p);

	return t != NULL && t->kind == T_SPECIAL && t->ch == ch;
}

static bool is_word(const struct tok *t)
{
	return t != NULL && (t->kind == T_ATOM || t->kind == T_QSTR);
}

/* Bytes [from, to) of the input, quoted, cut short and without control
 * characters (folding inside a quoted string), for error messages. */
static const char *span(const struct parser *p, size_t from, size_t to, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen < 8)
		return "";
	out[n++] = '\'';
	for (; from < to && n + 5 < outlen; from++) {
		unsigned char c = (unsigned char)p->s[from];
		out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (from < to) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '\'';
	out[n] = '\0';
	return out;
}

/* What the parser found instead of what it wanted, for error messages. */
static const char *describe(const struct parser *p, const struct tok *t, char *out, size_t outlen)
{
	if (t == NULL)
		return "end of input";
	return span(p, t->start, t->end, out, outlen);
}

/* Append a word: an atom as written, a quoted string's content unescaped
 * (folding inside it is removed, the white space after the fold kept). */
static int append_word(const struct parser *p, const struct tok *t, struct buf *b)
{
	size_t i;

	if (t->kind == T_ATOM)
		return buf_append(b, p->s + t->start, t->end - t->start);
	for (i = t->start + 1; i + 1 < t->end; i++) {
		char c = p->s[i];

		if (is_break((unsigned char)c))
			continue;
		if (c == '\\')
			c = p->s[++i];
		if (buf_append(b, &c, 1) == -1)
			return -1;
	}
	return 0;
}

static const char *buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Does s need no quotes in SMTP (RFC 5321 Dot-string, RFC 6531 UTF-8)? */
static bool is_dot_atom(const char *s)
{
	bool prev_dot = true;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
		} else if (is_atext((unsigned char)*s)) {
			prev_dot = false;
		} else {
			return false;
		}
	}
	return !prev_dot;
}

/*
 * The local part made of tokens [from, to): words separated by dots, with
 * any CFWS between them dropped. Written as it came when it is all atoms
 * (even "a..b", which some providers hand out); when any word was quoted,
 * the whole part is unquoted, then quoted again only if it needs it, so
 * "abc"@x becomes abc@x and "john doe"@x stays "john doe"@x.
 */
static int build_local(struct parser *p, size_t from, size_t to, char **out)
{
	struct buf raw, q;
	bool quoted = false, saw_word = false;
	size_t i;
	const char *r;
	int rc = -1;

	buf_init(&raw, ADDR_MAX_LEN);
	buf_init(&q, ADDR_MAX_LEN);
	for (i = from; i < to; i++) {
		const struct tok *t = &p->t[i];

		if (is_word(t)) {
			if (t->kind == T_QSTR)
				quoted = true;
			saw_word = true;
			if (append_word(p, t, &raw) == -1)
				goto toolong;
		} else if (buf_append(&raw, ".", 1) == -1) {
			goto toolong;
		}
	}
	r = buf_str(&raw);
	if (!saw_word) {
		fail(p, "empty local part before '@'");
		goto out;
	}
	if (quoted && strchr(r, '\t') != NULL) {
		fail(p, "tab inside a quoted local part");
		goto out;
	}
	if (quoted && *r != '\0' && is_dot_atom(r)) {
		*out = xstrdup(r);
	} else if (quoted) {
		if (buf_append(&q, "\"", 1) == -1)
			goto toolong;
		for (; *r != '\0'; r++) {
			if ((*r == '"' || *r == '\\') && buf_append(&q, "\\", 1) == -1)
				goto toolong;
			if (buf_append(&q, r, 1) == -1)
				goto toolong;
		}
		if (buf_append(&q, "\"", 1) == -1)
			goto toolong;
		*out = xstrdup(buf_str(&q));
	} else {
		*out = xstrdup(r);
	}
	rc = 0;
	goto out;
toolong:
	fail(p, "local part longer than %d octets", ADDR_MAX_LEN);
out:
	buf_free(&raw);
	buf_free(&q);
	return rc;
}

/* domain = dot-atom / domain-literal / obs-domain; CFWS around dots dropped. */
static int parse_domain(struct parser *p, char **out)
{
	const struct tok *t = cur(p);
	struct buf b;
	char what[64];
	size_t i;

	buf_init(&b, ADDR_MAX_LEN);
	if (t != NULL && t->kind == T_DLIT) {
		/* Keep the brackets; drop folding white space inside. */
		for (i = t->start; i < t->end; i++) {
			unsigned char c = (unsigned char)p->s[i];

			if (is_wsp(c) || is_break(c))
				continue;
			if (buf_append(&b, &p->s[i], 1) == -1)
				goto toolong;
		}
		p->i++;
		if (b.len <= 2) {
			buf_free(&b);
			return fail(p, "empty domain literal");
		}
		*out = xstrdup(buf_str(&b));
		buf_free(&b);
		return 0;
	}
	for (;;) {
		t = cur(p);
		if (t == NULL || t->kind != T_ATOM) {
			int rc;

			if (t != NULL && t->kind == T_QSTR)
				rc = fail(p, "quoted string in domain");
			else if (b.len == 0)
				rc = fail(p, "empty domain after '@' (found %s)",
				    describe(p, t, what, sizeof what));
			else
				rc = fail(p, "empty label in domain '%s'", buf_str(&b));
			buf_free(&b);
			return rc;
		}
		if (buf_append(&b, p->s + t->start, t->end - t->start) == -1)
			goto toolong;
		p->i++;
		if (!at_special(p, '.'))
			break;
		p->i++;
		if (buf_append(&b, ".", 1) == -1)
			goto toolong;
	}
	*out = xstrdup(buf_str(&b));
	buf_free(&b);
	return 0;
toolong:
	buf_free(&b);
	return fail(p, "domain longer than %d octets", ADDR_MAX_LEN);
}

/* Collect words and dots from the cursor; false if two words touch without
 * a dot between them (a phrase, not a local part). */
static bool collect_words(struct parser *p)
{
	bool dotted = true, prev_word = false;

	while (p->i < p->nt && (is_word(cur(p)) || at_special(p, '.'))) {
		bool w = is_word(cur(p));

		if (w && prev_word)
			dotted = false;
		prev_word = w;
		p->i++;
	}
	return dotted;
}

/* local-part [ "@" domain ] from the cursor into a; words are [from, p->i). */
static int finish_spec(struct parser *p, size_t from, bool dotted, struct addr *a)
{
	char what[64];
	size_t total;

	if (from == p->i) {
		if (at_special(p, '@'))
			return fail(p, "empty local part before '@'");
		if (at_special(p, '>'))
			return fail(p, "unbalanced '>' at offset %zu", cur(p)->start);
		return fail(p, "expected an address, found %s", describe(p, cur(p), what, sizeof what));
	}
	if (!dotted)
		return fail(p, "%s is not an address (a name without <address>?)",
		    span(p, p->t[from].start, p->t[p->i - 1].end, what, sizeof what));
	if (build_local(p, from, p->i, &a->local) == -1)
		return -1;
	a->qualify_at = p->t[p->i - 1].end;
	if (at_special(p, '@')) {
		p->i++;
		if (parse_domain(p, &a->domain) == -1)
			return -1;
	}
	total = strlen(a->local) + (a->domain ? 1 + strlen(a->domain) : 0);
	if (total > ADDR_MAX_LEN)
		return fail(p, "address longer than %d octets", ADDR_MAX_LEN);
	a->utf8 = has_8bit(a->local) || (a->domain != NULL && has_8bit(a->domain));
	if (a->utf8 && (!utf8_valid(a->local) || (a->domain && !utf8_valid(a->domain))))
		return fail(p, "invalid UTF-8 in address");
	return 0;
}

/* obs-route: "@a,@b:" before the addr-spec inside <...>; the hops are dropped. */
static int skip_route(struct parser *p)
{
	char *d, what[64];

	for (;;) {
		while (at_special(p, ','))
			p->i++;
		if (!at_special(p, '@'))
			return fail(p, "bad source route: expected '@', found %s",
			    describe(p, cur(p), what, sizeof what));
		p->i++;
		if (parse_domain(p, &d) == -1)
			return -1;
		free(d);
		if (at_special(p, ':')) {
			p->i++;
			return 0;
		}
		if (!at_special(p, ','))
			return fail(p, "bad source route: expected ',' or ':', found %s",
			    describe(p, cur(p), what, sizeof what));
	}
}

static int parse_angle(struct parser *p, struct addr *a)
{
	size_t from, open = p->t[p->i].start;
	bool dotted;
	char what[64];

	p->i++;
	if (at_special(p, '>'))
		return fail(p, "empty address '<>'");
	if ((at_special(p, '@') || at_special(p, ',')) && skip_route(p) == -1)
		return -1;
	from = p->i;
	dotted = collect_words(p);
	if (from != p->i || at_special(p, '@'))
		if (finish_spec(p, from, dotted, a) == -1)
			return -1;
	if (at_special(p, '>')) {
		if (a->local == NULL)
			return fail(p, "empty address '<>'");
		p->i++;
		return 0;
	}
	if (cur(p) == NULL)
		return fail(p, "unbalanced '<' at offset %zu: no closing '>'", open);
	return fail(p, "unexpected %s inside <...>", describe(p, cur(p), what, sizeof what));
}

/* Display name: words joined by one space where the input had any CFWS;
 * obs-phrase dots ("Joe Q. Public") kept. NULL when empty. */
static int build_display(struct parser *p, size_t from, size_t to, char **out)
{
	struct buf b;
	size_t i;

	*out = NULL;
	if (from == to)
		return 0;
	buf_init(&b, p->len + 1);
	for (i = from; i < to; i++) {
		const struct tok *t = &p->t[i];

		if (i > from && t->ws_before && buf_append(&b, " ", 1) == -1)
			goto toolong;
		if (is_word(t) ? append_word(p, t, &b) == -1 : buf_append(&b, ".", 1) == -1)
			goto toolong;
	}
	if (b.len > 0)
		*out = xstrdup(buf_str(&b));
	buf_free(&b);
	return 0;
toolong:
	buf_free(&b);
	return fail(p, "display name too long");
}

/* mailbox = name-addr / addr-spec, plus bare unqualified names. */
static int parse_mailbox(struct parser *p, struct addr *a)
{
	size_t from = p->i;
	bool dotted = collect_words(p);

	memset(a, 0, sizeof *a);
	if (at_special(p, '<')) {
		if (build_display(p, from, p->i, &a->display) == -1)
			return -1;
		return parse_angle(p, a);
	}
	return finish_spec(p, from, dotted, a);
}

static void list_push(struct addrlist *l, struct addr *a)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n++] = *a;
	memset(a, 0, sizeof *a);
}

/* After an address: only ',' (or ';' ending a group) or the end may follow. */
static int expect_separator(struct parser *p, bool in_group)
{
	const struct tok *t = cur(p);
	char what[64];

	if (t == NULL || at_special(p, ',') || (in_group && at_special(p, ';')))
		return 0;
	if (at_special(p, '>'))
		return fail(p, "unbalanced '>' at offset %zu", t->start);
	if (at_special(p, '<'))
		return fail(p, "unexpected '<' at offset %zu after an address", t->start);
	if (at_special(p, ';'))
		return fail(p, "';' at offset %zu outside a group", t->start);
	return fail(p, "unexpected %s after an address (missing ','?)",
	    describe(p, t, what, sizeof what));
}

static int one_mailbox(struct parser *p, struct addrlist *out, bool in_group)
{
	struct addr a;

	if (parse_mailbox(p, &a) == -1) {
		addr_free(&a);
		return -1;
	}
	list_push(out, &a);
	return expect_separator(p, in_group);
}

/* Is the element at the cursor a group ("phrase :")? */
static bool starts_group(const struct parser *p)
{
	size_t j;

	for (j = p->i; j < p->nt; j++) {
		const struct tok *t = &p->t[j];

		if (is_word(t) || (t->kind == T_SPECIAL && t->ch == '.'))
			continue;
		return t->kind == T_SPECIAL && t->ch == ':';
	}
	return false;
}

static int parse_group(struct parser *p, struct addrlist *out)
{
	size_t open;

	while (!at_special(p, ':'))
		p->i++;
	open = p->t[p->i].start;
	p->i++;
	for (;;) {
		if (cur(p) == NULL)
			return fail(p, "group at offset %zu not closed with ';'", open);
		if (at_special(p, ';')) {
			p->i++;
			return expect_separator(p, false);
		}
		if (at_special(p, ',')) {
			p->i++;
			continue;
		}
		if (starts_group(p))
			return fail(p, "group inside a group at offset %zu", p->t[p->i].start);
		if (one_mailbox(p, out, true) == -1)
			return -1;
	}
}

int addr_list_parse(const char *s, size_t len, struct addrlist *out, char *err, size_t errlen)
{
	struct parser p;
	size_t n0 = out->n;
	int rc = 0;

	memset(&p, 0, sizeof p);
	p.s = s;
	p.len = len;
	p.err = err;
	p.errlen = errlen;
	if (check_bytes(&p) == -1 || lex(&p) == -1) {
		rc = -1;
		goto done;
	}
	while (p.i < p.nt) {
		if (at_special(&p, ',')) {
			p.i++;	/* obs-addr-list: empty elements */
			continue;
		}
		rc = starts_group(&p) ? parse_group(&p, out) : one_mailbox(&p, out, false);
		if (rc == -1)
			break;
	}
done:
	if (rc == -1) {
		/* All or nothing: drop what this call appended. */
		while (out->n > n0)
			addr_free(&out->v[--out->n]);
	}
	free(p.t);
	return rc;
}

/* "", '""' and "<>" (white space allowed around and inside) are the null
 * sender; anything else must be exactly one address. */
static bool is_null_sender(const char *s)
{
	size_t a = 0, b = strlen(s);

	while (a < b && is_wsp((unsigned char)s[a]))
		a++;
	while (b > a && is_wsp((unsigned char)s[b - 1]))
		b--;
	if (a == b)
		return true;
	if (b - a == 2 && s[a] == '"' && s[a + 1] == '"')
		return true;
	if (s[a] != '<' || s[b - 1] != '>' || b - a < 2)
		return false;
	for (a++; a < b - 1; a++)
		if (!is_wsp((unsigned char)s[a]))
			return false;
	return true;
}

int addr_parse_sender(const char *s, struct addr *out, bool *is_null, char *err, size_t errlen)
{
	struct addrlist l = { NULL, 0, 0 };

	memset(out, 0, sizeof *out);
	*is_null = false;
	if (is_null_sender(s)) {
		out->local = xstrdup("");
		*is_null = true;
		return 0;
	}
	if (addr_list_parse(s, strlen(s), &l, err, errlen) == -1) {
		/* A failed parse leaves no addresses but may leave the array. */
		addr_list_free(&l);
		return -1;
	}
	if (l.n != 1) {
		struct parser p;

		memset(&p, 0, sizeof p);
		p.s = s;
		p.len = strlen(s);
		p.err = err;
		p.errlen = errlen;
		fail(&p, "%s in sender", l.n == 0 ? "no address" : "more than one address");
		addr_list_free(&l);
		return -1;
	}
	*out = l.v[0];
	free(l.v);
	return 0;
}
