/*
 * sendmail's command line (SPEC §3). Callers were written against Sendmail or
 * Postfix and pass whatever those accept, so the parser takes the union of
 * their letters, in getopt's shapes: flags may be grouped ("-ti"), a letter
 * that takes a value takes the rest of its word ("-FCronDaemon") or else the
 * next word ("-F Cron"), and parsing stops at the first non-option or "--".
 * It is pure: no I/O, every refusal is EX_USAGE with the offending argument.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "spool_envelope.h"
#include "sm_options.h"

/* RFC 3461 §4.4: an ENVID is at most 100 characters. */
#define ENVID_MAX 100

struct parse {
	struct sm_opts *o;
	char *err;
	size_t errlen;
	bool b_given;		/* an explicit -b: it wins over argv[0] */
	enum sm_mode b_mode;
	const char *b_arg;	/* for messages: "-bp" (points into b_buf) */
	char b_buf[4];
	bool q_given;
	enum sm_mode q_mode;	/* SM_FLUSH or SM_NOOP (-q<time>) */
	bool sender_given;
};

static int usage(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	/* A message cut short is still the right message: the cause leads,
	 * so truncation is acceptable here. */
	va_start(ap, fmt);
	(void)vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	/* Arguments are quoted in the message: a CR or LF in one must not
	 * turn the promised single line of stderr into several. */
	for (char *c = p->err; p->errlen > 0 && *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return EX_USAGE;
}

static const char *base_name(const char *s)
{
	const char *slash;

	if (s == NULL)
		return "";
	slash = strrchr(s, '/');
	return slash != NULL ? slash + 1 : s;
}

/*
 * "1h", "30m", "15", "1h30m", "2d": a Sendmail queue interval. Digits,
 * each run optionally followed by one unit letter.
 */
static bool is_interval(const char *s)
{
	bool digits = false;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (isdigit((unsigned char)*s)) {
			digits = true;
			continue;
		}
		if (!digits || strchr("smhdw", *s) == NULL)
			return false;
		digits = false;
	}
	return true;
}

/* -q's glued value; a bare -q never takes the next word. */
static int parse_q(struct parse *p, const char *v)
{
	if (*v == '\0') {
		p->q_mode = SM_FLUSH;
	} else if (isdigit((unsigned char)*v)) {
		/* -q1h: a Sendmail daemon's queue-run interval; relayd has
		 * its own schedule, so this starts nothing. */
		if (!is_interval(v))
			return usage(p, "bad queue interval -q%s", v);
		p->q_mode = SM_NOOP;
	} else if (*v == 'p') {
		/* -qp[time]: Sendmail's persistent queue runner: a daemon. */
		if (v[1] != '\0' && !is_interval(v + 1))
			return usage(p, "bad queue interval -q%s", v);
		p->q_mode = SM_NOOP;
	} else if (strchr("RISfGQ!", *v) != NULL) {
		/* -qR/-qI/-qS select messages, -qf runs in the foreground,
		 * -qG names a queue group: all mean "retry now", and relayd
		 * retries the whole queue. */
		p->q_mode = SM_FLUSH;
	} else {
		return usage(p, "unknown option -q%s", v);
	}
	p->q_given = true;
	return 0;
}

/* -b's value: one letter. */
static int parse_b(struct parse *p, const char *v)
{
	enum sm_mode m;

	if (v[0] == '\0' || v[1] != '\0')
		return usage(p, "unknown option -b%s", v);
	switch (v[0]) {
	case 'm':
		m = SM_DELIVER;
		break;
	case 'p':
		m = SM_LIST;
		break;
	case 's':
		m = SM_SMTP;
		break;
	case 'v':
		m = SM_VERIFY;
		break;
	case 'i':	/* rebuild aliases: there are none */
	case 'd':	/* daemon modes: relayd is the daemon, no port is opened */
	case 'D':
	case 'l':
	case 'h':	/* host status: nothing to show */
	case 'H':
		m = SM_NOOP;
		break;
	case 't':
		return usage(p, "-bt (address test mode) is not supported; use -bv");
	default:
		/* -bC, -bP, -ba and any other -b letter. */
		return usage(p, "unsupported option -b%s", v);
	}
	if (p->b_given && p->b_mode != m)
		return usage(p, "conflicting options -b%s and %s", v, p->b_arg);
	p->b_given = true;
	p->b_mode = m;
	p->b_buf[0] = '-';
	p->b_buf[1] = 'b';
	p->b_buf[2] = v[0];
	p->b_buf[3] = '\0';
	p->b_arg = p->b_buf;
	return 0;
}

/* -o's value (glued, or the next word): Sendmail's one-letter options. */
static void parse_o(struct parse *p, const char *v)
{
	/* Only -oi changes anything here; the rest (-oem, -odb, -om, -or0s,
	 * -oQ...) tune a Sendmail daemon and are ignored. */
	if (strcmp(v, "i") == 0)
		p->o->ignore_dots = true;
}

/* -O's value: Sendmail's long options. IgnoreDots is -oi spelt long;
 * dropping it would cut messages at a "." line. */
static void parse_O(struct parse *p, const char *v)
{
	size_t n = strlen("IgnoreDots");
	const char *val;

	if (strncasecmp(v, "IgnoreDots", n) != 0)
		return;
	val = v + n;
	if (*val == '\0') {
		p->o->ignore_dots = true;
		return;
	}
	if (*val != '=')
		return;
	val++;
	if (*val == '\0' || strchr("tTyY1", *val) != NULL)
		p->o->ignore_dots = true;
	else if (strchr("fFnN0", *val) != NULL)
		p->o->ignore_dots = false;
}

static int parse_B(struct parse *p, const char *v)
{
	if (strcasecmp(v, "7BIT") == 0)
		p->o->body = SM_BODY_7BIT;
	else if (strcasecmp(v, "8BITMIME") == 0)
		p->o->body = SM_BODY_8BITMIME;
	else
		return usage(p, "-B must be 7BIT or 8BITMIME, not \"%s\"", v);
	return 0;
}

static int parse_R(struct parse *p, const char *v)
{
	if (strcasecmp(v, "full") == 0)
		p->o->ret = RET_FULL;
	else if (strcasecmp(v, "hdrs") == 0)
		p->o->ret = RET_HDRS;
	else
		return usage(p, "-R must be full or hdrs, not \"%s\"", v);
	return 0;
}

static int parse_V(struct parse *p, const char *v)
{
	size_t n = strlen(v);
	size_t i;

	if (n == 0 || n > ENVID_MAX)
		return usage(p, "-V envid must be 1 to %d characters", ENVID_MAX);
	/* It goes on an envelope line and, xtext-encoded, into MAIL FROM. */
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
			return usage(p, "-V envid must be printable ASCII without spaces");
	p->o->envid = v;
	return 0;
}

/* -N's list; "success, failure" is forgiven its spaces. */
static int notify_value(const char *v, unsigned *out)
{
	char tmp[64];
	size_t n = 0;

	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t')
			continue;
		if (n + 1 >= sizeof(tmp))
			return -1;
		tmp[n++] = *v;
	}
	tmp[n] = '\0';
	if (envelope_parse_notify(tmp, out) != 0 || *out == 0)
		return -1;
	return 0;
}

/* One letter that takes a value v. */
static int take_value(struct parse *p, char letter, char *v)
{
	unsigned notify;

	switch (letter) {
	case 'f':
	case 'r':
		/* Even the same address twice: two -f is a confused caller. */
		if (p->sender_given)
			return usage(p, "-%c given twice (sender already set by -f/-r)", letter);
		p->sender_given = true;
		p->o->sender = v;
		return 0;
	case 'F':
		p->o->fullname = v;
		return 0;
	case 'C':
		p->o->conf_path = v;
		return 0;
	case 'N':
		if (notify_value(v, &notify) != 0)
			return usage(p, "bad -N value \"%s\": use never, or a list of "
			    "success, failure, delay", v);
		p->o->notify = notify;
		return 0;
	case 'R':
		return parse_R(p, v);
	case 'V':
		return parse_V(p, v);
	case 'B':
		return parse_B(p, v);
	case 'b':
		return parse_b(p, v);
	case 'o':
		parse_o(p, v);
		return 0;
	case 'O':
		parse_O(p, v);
		return 0;
	case 'Q':
		return usage(p, "-Q (quarantine) is not supported");
	default:
		/* -h hops, -L tag, -X file, -A c|m, -e mode, -M macro,
		 * -p protocol, -d debug, -D file: accepted and ignored. */
		return 0;
	}
}

/* Letters that take a value: Sendmail's "A:B:b:C:D:d:e:F:f:h:L:M:N:O:o:p:Q:R:r:V:X:". */
static bool takes_value(char c)
{
	return c != '\0' && strchr("ABbCDdeFfhLMNOopQRrVX", c) != NULL;
}

/* Flags without a value. */
static int flag(struct parse *p, char c)
{
	switch (c) {
	case 't':
		p->o->extract_rcpts = true;
		return 0;
	case 'i':
		p->o->ignore_dots = true;
		return 0;
	case 'v':
		p->o->verbose = true;
		return 0;
	case 'j':
		p->o->json = true;
		return 0;
	case 'I':
		/* Sendmail's "initialise the alias database" = -bi. */
		return parse_b(p, "i");
	case 'U':	/* initial user submission */
	case 'G':	/* gateway submission */
	case 'n':	/* no aliasing */
	case 'm':	/* me too */
	case 'c':	/* hold expensive */
	case 's':	/* save From lines */
	case 'T':
	case 'x':
		return 0;
	default:
		if (isprint((unsigned char)c))
			return usage(p, "unknown option -%c", c);
		return usage(p, "unknown option (byte 0x%02x)", (unsigned char)c);
	}
}

/* One word beginning with '-'. *i may advance past a separate value. */
static int parse_word(struct parse *p, int argc, char **argv, int *i)
{
	char *w = argv[*i];
	char *s;
	int rc;

	/* Postfix's "-SMTPUTF8" (request SMTPUTF8): we detect the need. */
	if (strcmp(w, "-SMTPUTF8") == 0)
		return 0;
	if (w[1] == '-')
		return usage(p, "unknown option %s", w);
	for (s = w + 1; *s != '\0'; s++) {
		char c = *s;

		if (c == 'q')
			return parse_q(p, s + 1);
		if (!takes_value(c)) {
			if ((rc = flag(p, c)) != 0)
				return rc;
			continue;
		}
		if (s[1] != '\0')
			return take_value(p, c, s + 1);
		if (*i + 1 >= argc)
			return usage(p, "option -%c needs a value", c);
		(*i)++;
		return take_value(p, c, argv[*i]);
	}
	return 0;
}

/* Combine -b, -q and argv[0] into one mode. */
static int settle_mode(struct parse *p, const char *argv0)
{
	const char *name = base_name(argv0);
	enum sm_mode m = SM_DELIVER;

	if (p->b_given)
		m = p->b_mode;
	else if (strcmp(name, "mailq") == 0)
		m = SM_LIST;
	else if (strcmp(name, "newaliases") == 0)
		m = SM_NOOP;

	if (p->q_given) {
		/* As in Sendmail, -q does not override -bp or the daemon
		 * modes (-bd -q30m); it makes no sense with -bs or -bv. */
		if (m == SM_DELIVER)
			m = p->q_mode;
		else if (m == SM_SMTP || m == SM_VERIFY)
			return usage(p, "-q cannot be used with %s", p->b_arg);
	}
	p->o->mode = m;
	return 0;
}

/* The mode as the caller asked for it, for refusals. */
static const char *mode_name(const struct parse *p)
{
	switch (p->o->mode) {
	case SM_LIST:
		return p->b_given ? "-bp" : "mailq";
	case SM_FLUSH:
		return "-q";
	case SM_SMTP:
		return "-bs";
	case SM_NOOP:
		if (p->b_given)
			return p->b_arg;
		if (p->q_given)
			return "-q<time>";
		return "newaliases";
	default:
		return "this mode";
	}
}

static int check_combination(struct parse *p)
{
	struct sm_opts *o = p->o;

	if (o->json && o->mode != SM_LIST)
		return usage(p, "-j is only meaningful for mailq (-bp)");
	/* -t asks for recipients as much as an address does: with a mode that
	 * reads no message it would be silently dropped, so it is refused
	 * the same way (SPEC §3). */
	if (o->extract_rcpts && (o->mode == SM_LIST || o->mode == SM_FLUSH ||
	    o->mode == SM_NOOP))
		return usage(p, "-t (recipients from the message) given with %s",
		    mode_name(p));
	if (o->nrcpts == 0) {
		if (o->mode == SM_VERIFY)
			return usage(p, "-bv needs at least one address");
		return 0;
	}
	switch (o->mode) {
	case SM_LIST:
	case SM_FLUSH:
	case SM_NOOP:
	case SM_SMTP:
		return usage(p, "recipients given with %s: %s", mode_name(p), o->rcpts[0]);
	default:
		return 0;
	}
}

int sm_parse_args(int argc, char **argv, struct sm_opts *o, char *err, size_t errlen)
{
	struct parse p;
	int i, rc;

	memset(o, 0, sizeof(*o));
	o->mode = SM_DELIVER;
	o->ret = RET_UNSET;
	o->body = SM_BODY_UNSET;
	memset(&p, 0, sizeof(p));
	p.o = o;
	p.err = err;
	p.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';

	for (i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (strcmp(w, "--") == 0) {
			i++;
			break;
		}
		/* "-" alone is not an option (getopt leaves it too). */
		if (w[0] != '-' || w[1] == '\0')
			break;
		if ((rc = parse_word(&p, argc, argv, &i)) != 0)
			return rc;
	}
	/* argv[argc] is NULL, so rcpts is a NULL-terminated list too. */
	o->rcpts = &argv[i];
	o->nrcpts = i < argc ? (size_t)(argc - i) : 0;

	if ((rc = settle_mode(&p, argc > 0 ? argv[0] : NULL)) != 0)
		return rc;
	return check_combination(&p);
}
