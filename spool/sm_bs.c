/*
 * sendmail -bs: an RFC 5321 server dialogue on stdin/stdout (see sm_bs.h).
 *
 * The peer is a local program running as the same user, so the dialogue is
 * lenient where RFC 5321 allows it (MAIL before EHLO, paths without angle
 * brackets) and strict where a mistake would alter mail (line limits, the
 * end-of-data dot, one address per RCPT). Message data is streamed into an
 * unlinked temporary file so memory stays flat whatever the size, then handed
 * to submit_message exactly as the command-line path would, with dots already
 * unstuffed (ignore_dots) and the envelope taken from MAIL and RCPT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "sm_bs.h"
#include "conf.h"
#include "spool_envelope.h"
#include "smtp_parse.h"
#include "sm_submit.h"
#include "util.h"

/* RFC 5321 §4.5.3.1.4/6: a command or text line is at most 1000 octets
 * with its CRLF. */
#define BS_LINE_MAX 1000
#define BS_READBUF 16384

enum rd_result { RD_LINE, RD_LONG, RD_EOF, RD_ERR };

struct bs {
	const struct conf *c;
	const struct submit_req *base;
	int in, out;
	int timeout_ms;		/* -1: wait for ever */

	/* Input buffer: commands and data share it (PIPELINING). */
	char rbuf[BS_READBUF];
	size_t off, len;

	/* The transaction. */
	bool have_mail;
	char *sender;		/* "" = the null sender */
	enum sm_body body;
	char **rcpts;
	size_t nrcpts, cap;

	const char *io_error;	/* why the session ended badly */
	int exit_rc;		/* sysexits code when not EX_IOERR (0: EX_IOERR) */
	int write_errno;	/* why the temporary file could not be written */
};

/* ---- input ---- */

/* Read more into rbuf (compacting it first). >0 bytes, 0 at EOF, -1. */
static ssize_t rd_fill(struct bs *s)
{
	struct pollfd pfd;
	ssize_t n;
	int r;

	if (s->off > 0) {
		memmove(s->rbuf, s->rbuf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	if (s->len == sizeof(s->rbuf))
		return -1;	/* callers never ask for more than fits */
	pfd.fd = s->in;
	pfd.events = POLLIN;
	do
		r = poll(&pfd, 1, s->timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		s->io_error = "timed out waiting for the client";
		return -1;
	}
	if (r == -1) {
		s->io_error = "cannot read standard input";
		return -1;
	}
	do
		n = read(s->in, s->rbuf + s->len, sizeof(s->rbuf) - s->len);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		s->io_error = "cannot read standard input";
		return -1;
	}
	s->len += (size_t)n;
	return n;
}

/* Make at least k bytes available. 0, or -1 at EOF (io_error unset) or on error. */
static int rd_need(struct bs *s, size_t k)
{
	while (s->len - s->off < k) {
		ssize_t n = rd_fill(s);

		if (n <= 0)
			return -1;
	}
	return 0;
}

/*
 * One command line, without its CRLF or LF, NUL-terminated in line
 * (size > BS_LINE_MAX). A longer line is consumed and reported as RD_LONG.
 */
static enum rd_result read_line(struct bs *s, char *line, size_t *outlen)
{
	size_t n = 0;
	bool toolong = false;

	for (;;) {
		char *p, *nl;
		size_t avail, take;

		if (s->off == s->len) {
			ssize_t r = rd_fill(s);

			if (r == 0)
				return RD_EOF;	/* a partial last line is dropped */
			if (r < 0)
				return RD_ERR;
		}
		p = s->rbuf + s->off;
		avail = s->len - s->off;
		nl = memchr(p, '\n', avail);
		take = nl != NULL ? (size_t)(nl - p) + 1 : avail;
		if (!toolong && n + take > BS_LINE_MAX)
			toolong = true;
		if (!toolong) {
			memcpy(line + n, p, take);
			n += take;
		}
		s->off += take;
		if (nl != NULL)
			break;
	}
	if (toolong)
		return RD_LONG;
	n--;			/* the LF */
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*outlen = n;
	return RD_LINE;
}

/* ---- output ---- */

static int reply(struct bs *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int reply(struct bs *s, const char *fmt, ...)
{
	char line[BS_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	/* A reason too long for one reply line is cut: the code leads. */
	if ((size_t)n > sizeof(line) - 3)
		n = (int)(sizeof(line) - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	if (io_write_all(s->out, line, (size_t)n) == -1) {
		s->io_error = "cannot write to standard output";
		return -1;
	}
	return 0;
}

/* ---- the transaction ---- */

static void reset_transaction(struct bs *s)
{
	size_t i;

	for (i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	free(s->sender);
	s->rcpts = NULL;
	s->nrcpts = s->cap = 0;
	s->sender = NULL;
	s->have_mail = false;
	s->body = SM_BODY_UNSET;
}

static int cmd_mail(struct bs *s, const char *args)
{
	const char *p = smtp_after_prefix(args, " FROM:"), *rest;
	struct smtp_mail_params mp;
	char err[CONF_ERR_MAX];
	struct addr a;
	bool is_null;
	char *path;

	if (s->have_mail)
		return reply(s, "503 5.5.1 Error: nested MAIL command");
	if (p == NULL)
		return reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
	if ((path = smtp_parse_path(p, &rest)) == NULL)
		return reply(s, "501 5.1.7 Bad sender address syntax: unbalanced '<'");
	if (*rest != '\0' && *rest != ' ') {
		free(path);
		return reply(s, "501 5.1.7 Bad sender address syntax");
	}
	if (smtp_mail_params(rest, s->c->max_message_size, &mp, err, sizeof(err)) != 0) {
		free(path);
		return reply(s, "%s", err);
	}
	if (addr_parse_sender(path, &a, &is_null, err, sizeof(err)) != 0) {
		free(path);
		smtp_clean_text(err);
		return reply(s, "553 5.1.7 Bad sender address: %s", err);
	}
	addr_free(&a);
	s->have_mail = true;
	s->sender = path;	/* "" for <>: submit_req's null sender */
	s->body = mp.body;
	return reply(s, "250 2.1.0 Ok");
}

static int cmd_rcpt(struct bs *s, const char *args)
{
	const char *p = smtp_after_prefix(args, " TO:"), *rest;
	struct addrlist l = { NULL, 0, 0 };
	char err[CONF_ERR_MAX];
	char *path;
	int rc;

	if (!s->have_mail)
		return reply(s, "503 5.5.1 Error: need MAIL command");
	if (p == NULL)
		return reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
	if ((path = smtp_parse_path(p, &rest)) == NULL)
		return reply(s, "501 5.1.3 Bad recipient address syntax: unbalanced '<'");
	while (*rest == ' ')
		rest++;
	if (*rest != '\0') {
		/* No DSN extension is offered, so no parameter is known. */
		free(path);
		return reply(s, "555 5.5.4 Unsupported RCPT parameter");
	}
	if (path[0] == '\0') {
		free(path);
		return reply(s, "501 5.1.3 Bad recipient address syntax: empty address");
	}
	if (s->nrcpts >= ENV_MAX_RCPTS) {
		free(path);
		return reply(s, "452 4.5.3 Error: too many recipients");
	}
	/* One address as written; the aliases may make several of it. */
	rc = 0;
	if (addr_list_parse(path, strlen(path), &l, err, sizeof(err)) != 0) {
		rc = EX_DATAERR;
	} else if (l.n != 1) {
		snprintf(err, sizeof(err), "exactly one address per RCPT command");
		rc = EX_DATAERR;
	}
	addr_list_free(&l);
	if (rc == 0)
		rc = submit_rewrite_rcpts(s->c, path, &l, err, sizeof(err));
	addr_list_free(&l);
	if (rc == EX_CONFIG) {
		free(path);
		smtp_clean_text(err);
		return reply(s, "451 4.3.5 %s", err);
	}
	if (rc != 0) {
		free(path);
		smtp_clean_text(err);
		return reply(s, "553 5.1.3 Bad recipient address: %s", err);
	}
	if (s->nrcpts == s->cap) {
		s->cap = s->cap == 0 ? 8 : s->cap * 2;
		s->rcpts = xreallocarray(s->rcpts, s->cap, sizeof(*s->rcpts));
	}
	s->rcpts[s->nrcpts++] = path;
	return reply(s, "250 2.1.5 Ok");
}

/* An unlinked temporary file: nothing to clean up whatever happens. */
static int open_temp(void)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (dir == NULL || dir[0] != '/')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
	/* Filesystems without O_TMPFILE. */
	if ((size_t)snprintf(path, sizeof(path), "%s/nullrelay-bs.XXXXXX", dir) >= sizeof(path))
		return -1;
	fd = mkstemp(path);
	if (fd != -1)
		(void)unlink(path);
	return fd;
}

enum data_result { DATA_OK, DATA_WRITE_FAILED, DATA_TOO_BIG, DATA_EOF, DATA_BARE_LF };

/*
 * Copy the message up to the lone "." line into fd, removing the leading
 * dot that the client added to lines starting with one (RFC 5321 §4.5.2).
 * Only CRLF.CRLF ends the data, and a line ended by a bare LF stops the
 * copy at once (DATA_BARE_LF): a client (or a message) that ends ".\n"
 * must not get what follows run as commands (SMTP smuggling; Postfix's
 * smtpd_forbid_bare_newline). After a write failure or past the cap the rest
 * is read and discarded, so the dialogue stays in step.
 */
static enum data_result copy_data(struct bs *s, int fd, uint64_t cap)
{
	enum data_result res = DATA_OK;
	uint64_t total = 0;
	bool bol = true, cr = false;	/* cr: the byte before p was CR */

	for (;;) {
		const char *p;
		const char *nl;
		size_t avail, take;

		if (rd_need(s, 1) == -1)
			return DATA_EOF;
		p = s->rbuf + s->off;
		if (bol && p[0] == '.') {
			/* Look no further ahead than needed: the client waits
			 * for our reply after ".\r\n". */
			if (rd_need(s, 2) == -1)
				return DATA_EOF;
			p = s->rbuf + s->off;
			if (p[1] == '\n')
				return DATA_BARE_LF;
			if (p[1] == '\r') {
				if (rd_need(s, 3) == -1)
					return DATA_EOF;
				p = s->rbuf + s->off;
				if (p[2] == '\n') {
					s->off += 3;
					return res;
				}
			}
			s->off++;	/* unstuff */
			bol = false;
			cr = false;
			continue;
		}
		avail = s->len - s->off;
		nl = memchr(p, '\n', avail);
		take = nl != NULL ? (size_t)(nl - p) + 1 : avail;
		if (nl != NULL && (nl > p ? nl[-1] != '\r' : !cr))
			return DATA_BARE_LF;
		bol = nl != NULL;
		cr = p[take - 1] == '\r';
		if (res == DATA_OK && cap > 0 && total + take > cap)
			res = DATA_TOO_BIG;
		if (res == DATA_OK) {
			if (io_write_all(fd, p, take) == -1) {
				s->write_errno = errno;
				res = DATA_WRITE_FAILED;
			}
			total += take;
		}
		s->off += take;
	}
}

static int submit_reply(struct bs *s, int rc, const char *id, char *err)
{
	smtp_clean_text(err);
	switch (rc) {
	case 0:
		return reply(s, "250 2.0.0 Ok: queued as %s", id);
	case EX_NOPERM:
		return reply(s, "552 5.3.4 %s", err);
	case EX_DATAERR:
		return reply(s, "554 5.6.0 %s", err);
	default:
		return reply(s, "451 4.3.0 %s", err[0] != '\0' ? err : "Error: queue file write error");
	}
}

static int cmd_data(struct bs *s, const char *args)
{
	struct submit_req req;
	enum data_result dr;
	char id[17] = "", err[CONF_ERR_MAX] = "";
	uint64_t cap = 0;
	int fd, rc;

	if (*args != '\0')
		return reply(s, "501 5.5.4 Syntax: DATA");
	if (!s->have_mail)
		return reply(s, "503 5.5.1 Error: need MAIL command");
	if (s->nrcpts == 0)
		return reply(s, "503 5.5.1 Error: need RCPT command");
	if ((fd = open_temp()) == -1)
		return reply(s, "451 4.3.0 Error: cannot create a temporary file: %s", strerror(errno));
	if (reply(s, "354 End data with <CR><LF>.<CR><LF>") == -1) {
		close(fd);
		return -1;
	}
	/* The exact limit is submit_message's, on the stored form; this cap
	 * only keeps a runaway client from filling the temporary directory
	 * (CRLF input is at most twice its stored size). */
	if (s->c->max_message_size > 0)
		cap = s->c->max_message_size * 2 + 65536;
	dr = copy_data(s, fd, cap);
	if (dr == DATA_EOF) {
		close(fd);
		if (s->io_error == NULL)
			s->io_error = "input ended inside DATA: that message was not queued";
		return -1;
	}
	if (dr == DATA_BARE_LF) {
		close(fd);
		reset_transaction(s);
		s->io_error = "bare LF in DATA (lines must end with CRLF): that message was not "
		    "queued and the session ended";
		s->exit_rc = EX_DATAERR;
		(void)reply(s, "521 5.5.2 %s Error: bare <LF> received",
		    s->c->hostname != NULL ? s->c->hostname : "localhost");
		return -1;
	}
	if (dr == DATA_TOO_BIG) {
		close(fd);
		reset_transaction(s);
		return reply(s, "552 5.3.4 Message size exceeds fixed limit of %" PRIu64 " bytes",
		    s->c->max_message_size);
	}
	s->write_errno = 0;
	if (dr == DATA_WRITE_FAILED || lseek(fd, 0, SEEK_SET) == -1) {
		rc = dr == DATA_WRITE_FAILED ? s->write_errno : errno;
		close(fd);
		reset_transaction(s);
		return reply(s, "452 4.3.1 Error: temporary file: %s", strerror(rc));
	}

	req = *s->base;
	req.conf = s->c;
	req.sender = s->sender;
	req.ignore_dots = true;		/* the dot was the end; the rest is data */
	req.extract_rcpts = false;
	req.rcpts = s->rcpts;
	req.nrcpts = s->nrcpts;
	if (s->body != SM_BODY_UNSET)
		req.body = s->body;
	rc = submit_message(&req, fd, id, err, sizeof(err));
	close(fd);
	reset_transaction(s);
	return submit_reply(s, rc, id, err);
}

static int cmd_ehlo(struct bs *s, bool extended)
{
	const char *host = s->c->hostname != NULL ? s->c->hostname : "localhost";

	reset_transaction(s);
	if (!extended)
		return reply(s, "250 %s", host);
	if (reply(s, "250-%s", host) == -1 || reply(s, "250-PIPELINING") == -1)
		return -1;
	if (s->c->max_message_size > 0) {
		if (reply(s, "250-SIZE %" PRIu64, s->c->max_message_size) == -1)
			return -1;
	} else if (reply(s, "250-SIZE") == -1) {
		return -1;
	}
	if (reply(s, "250-8BITMIME") == -1)
		return -1;
	return reply(s, "250 ENHANCEDSTATUSCODES");
}

enum verb_result { VERB_CONTINUE, VERB_QUIT, VERB_IOERR };

/* One command line. */
static enum verb_result dispatch(struct bs *s, const char *line)
{
	size_t vlen = strcspn(line, " ");
	const char *args = line + vlen;
	char verb[8];
	int rc;

	if (vlen == 0)
		return reply(s, "500 5.5.2 Error: bad syntax") == 0 ? VERB_CONTINUE : VERB_IOERR;
	if (vlen >= sizeof(verb)) {
		rc = reply(s, "500 5.5.2 Error: command not recognized");
		return rc == 0 ? VERB_CONTINUE : VERB_IOERR;
	}
	memcpy(verb, line, vlen);
	verb[vlen] = '\0';

	if (strcasecmp(verb, "EHLO") == 0 || strcasecmp(verb, "HELO") == 0)
		rc = cmd_ehlo(s, strcasecmp(verb, "EHLO") == 0);
	else if (strcasecmp(verb, "MAIL") == 0)
		rc = cmd_mail(s, args);
	else if (strcasecmp(verb, "RCPT") == 0)
		rc = cmd_rcpt(s, args);
	else if (strcasecmp(verb, "DATA") == 0)
		rc = cmd_data(s, args);
	else if (strcasecmp(verb, "RSET") == 0) {
		reset_transaction(s);
		rc = reply(s, "250 2.0.0 Ok");
	} else if (strcasecmp(verb, "NOOP") == 0)
		rc = reply(s, "250 2.0.0 Ok");
	else if (strcasecmp(verb, "QUIT") == 0) {
		rc = reply(s, "221 2.0.0 Bye");
		return rc == 0 ? VERB_QUIT : VERB_IOERR;
	} else if (strcasecmp(verb, "VRFY") == 0)
		rc = reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
	else if (strcasecmp(verb, "HELP") == 0)
		rc = reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
	else if (strcasecmp(verb, "EXPN") == 0 || strcasecmp(verb, "STARTTLS") == 0 ||
	    strcasecmp(verb, "AUTH") == 0 || strcasecmp(verb, "BDAT") == 0 ||
	    strcasecmp(verb, "ETRN") == 0 || strcasecmp(verb, "TURN") == 0)
		rc = reply(s, "502 5.5.1 Error: command not implemented");
	else
		rc = reply(s, "500 5.5.2 Error: command not recognized");
	return rc == 0 ? VERB_CONTINUE : VERB_IOERR;
}

int bs_serve(const struct conf *c, const struct submit_req *base, int in, int out)
{
	struct bs *s;
	char line[BS_LINE_MAX + 1];
	int ret = 0;

	/* A client that goes away must give EX_IOERR, not kill us. */
	signal(SIGPIPE, SIG_IGN);

	s = xcalloc(1, sizeof(*s));
	s->c = c;
	s->base = base;
	s->in = in;
	s->out = out;
	s->timeout_ms = -1;
	if (c->timeout_command > 0 && c->timeout_command <= INT_MAX / 1000)
		s->timeout_ms = (int)(c->timeout_command * 1000);

	if (reply(s, "220 %s ESMTP nullrelay",
	    c->hostname != NULL ? c->hostname : "localhost") == -1) {
		ret = EX_IOERR;
		goto done;
	}
	for (;;) {
		enum verb_result vr;
		size_t n = 0;

		switch (read_line(s, line, &n)) {
		case RD_EOF:
			goto done;	/* the client went away: what got 250 is queued */
		case RD_ERR:
			if (s->io_error != NULL && strstr(s->io_error, "timed out") != NULL)
				(void)reply(s, "421 4.4.2 %s Error: timeout exceeded",
				    c->hostname != NULL ? c->hostname : "localhost");
			ret = EX_IOERR;
			goto done;
		case RD_LONG:
			if (reply(s, "500 5.5.2 Error: line too long") == -1) {
				ret = EX_IOERR;
				goto done;
			}
			continue;
		case RD_LINE:
			break;
		}
		if (memchr(line, '\0', n) != NULL) {
			if (reply(s, "500 5.5.2 Error: NUL byte in command") == -1) {
				ret = EX_IOERR;
				goto done;
			}
			continue;
		}
		vr = dispatch(s, line);
		if (vr == VERB_QUIT)
			break;
		if (vr == VERB_IOERR) {
			ret = s->exit_rc != 0 ? s->exit_rc : EX_IOERR;
			goto done;
		}
	}
done:
	if (ret != 0)
		fprintf(stderr, "sendmail: -bs: %s\n",
		    s->io_error != NULL ? s->io_error : "input/output error");
	reset_transaction(s);
	free(s);
	return ret;
}
