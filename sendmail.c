/*
 * sendmail, mailq, newaliases: the front end (SPEC §3). Thin on purpose:
 * options -> configuration -> one mode. The work is in spool/ (sm_submit.c,
 * msg_headers.c, ctl_mailq.c, sm_bs.c), where the unit tests reach it.
 *
 * Every non-zero exit prints exactly one line "PROG: cause" on stderr, and
 * EX_TEMPFAIL (75) is never used (SPEC §3).
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "sm_bs.h"
#include "conf.h"
#include "ctl_mailq.h"
#include "sm_options.h"
#include "sm_submit.h"
#include "util.h"

static const char *progname = "sendmail";

static int die(int code, const char *cause)
{
	fprintf(stderr, "%s: %s\n", progname, cause);
	return code;
}

static void set_progname(const char *argv0)
{
	const char *base = argv0 != NULL ? strrchr(argv0, '/') : NULL;

	base = base != NULL ? base + 1 : argv0;
	if (base != NULL && (strcmp(base, "mailq") == 0 || strcmp(base, "newaliases") == 0))
		progname = base;
}

/* The caller as the kernel knows it: never $USER or $LOGNAME, so sudo, env -i
 * and cron all give the right answer. A uid without a passwd entry (a
 * container) is called "uidN". */
struct caller {
	uid_t uid;
	char *login;
	char *gecos;	/* full name, or NULL */
};

static char *gecos_name(const char *gecos, const char *login)
{
	size_t n = strcspn(gecos, ",");
	struct buf b;
	char *s;

	if (n == 0)
		return NULL;
	buf_init(&b, 512);
	for (size_t i = 0; i < n; i++) {
		/* BSD: '&' stands for the login name, capitalised. */
		if (gecos[i] == '&' && login[0] != '\0') {
			char first = login[0] >= 'a' && login[0] <= 'z' ? login[0] - 'a' + 'A' :
			    login[0];
			buf_append(&b, &first, 1);
			buf_appends(&b, login + 1);
		} else
			buf_append(&b, &gecos[i], 1);
	}
	s = b.data != NULL && b.len > 0 ? xstrdup(b.data) : NULL;
	buf_free(&b);
	return s;
}

static void get_caller(struct caller *who)
{
	struct passwd *pw;

	who->uid = getuid();
	errno = 0;
	pw = getpwuid(who->uid);
	if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0') {
		who->login = xstrdup(pw->pw_name);
		who->gecos = pw->pw_gecos != NULL ? gecos_name(pw->pw_gecos, pw->pw_name) : NULL;
	} else {
		who->login = xasprintf("uid%lu", (unsigned long)who->uid);
		who->gecos = NULL;
	}
}

static void fill_req(struct submit_req *r, const struct sm_opts *o, const struct conf *c,
    const struct caller *who)
{
	memset(r, 0, sizeof(*r));
	r->conf = c;
	r->sender = o->sender;
	r->fullname = o->fullname;
	r->ignore_dots = o->ignore_dots;
	r->extract_rcpts = o->extract_rcpts;
	r->rcpts = o->rcpts;
	r->nrcpts = o->nrcpts;
	r->notify = o->notify;
	r->ret = o->ret;
	r->envid = o->envid;
	r->body = o->body;
	r->uid = who->uid;
	r->login = who->login;
	r->gecos_name = who->gecos;
}

/* -v: where the mail went, as Sendmail and Postfix say it, one line per
 * envelope recipient (after -t, aliases and admin_addr), printed only once
 * the message is durable. */
static void say_queued(void *ctx, const char *id, const struct envelope *env)
{
	(void)ctx;
	for (size_t i = 0; i < env->nrcpts; i++)
		fprintf(stderr, "%s: queued for <%s>\n", id, env->rcpts[i].addr);
}

static int deliver(const struct sm_opts *o, const struct submit_req *base)
{
	struct submit_req r = *base;
	char id[17], err[1024];
	int rc;

	if (o->nrcpts == 0 && !o->extract_rcpts)
		return die(EX_USAGE, "no recipients given (name them, or use -t)");
	if (o->verbose)
		r.queued = say_queued;
	rc = submit_message(&r, STDIN_FILENO, id, err, sizeof(err));
	if (rc == EX_TEMPFAIL)
		rc = EX_IOERR;	/* never 75: see SPEC §3 */
	if (rc != 0)
		return die(rc, err);
	return 0;
}

/* -bv: one line per address, Sendmail's wording. */
static int verify(const struct sm_opts *o, const struct conf *c)
{
	char err[1024], msg[1200];
	size_t bad = 0;

	if (o->nrcpts == 0)
		return die(EX_USAGE, "-bv needs at least one address");
	for (size_t i = 0; i < o->nrcpts; i++) {
		struct addrlist l = { 0 };

		int rc = submit_rewrite_rcpts(c, o->rcpts[i], &l, err, sizeof(err));

		if (rc == EX_CONFIG) {
			/* The aliases file, not the address: say so, as delivery would. */
			addr_list_free(&l);
			fflush(stdout);
			return die(EX_CONFIG, err);
		}
		if (rc != 0) {
			printf("%s... unparseable: %s\n", o->rcpts[i], err);
			bad++;
			snprintf(msg, sizeof(msg), "%s", err);
		}
		for (size_t k = 0; k < l.n; k++) {
			char *spec = addr_spec(&l.v[k]);

			printf("%s... deliverable: mailer relay, user %s\n",
			    l.v[k].display != NULL ? l.v[k].display : spec, spec);
			free(spec);
		}
		addr_list_free(&l);
	}
	if (fflush(stdout) != 0)
		return die(EX_IOERR, "write error on standard output");
	if (bad > 0) {
		if (bad > 1)
			snprintf(msg, sizeof(msg), "%zu addresses are not valid", bad);
		return die(EX_DATAERR, msg);
	}
	return 0;
}

static int flush_queue(const struct sm_opts *o, const struct conf *c)
{
	char reply[1024], err[1024], msg[1200];
	int rc = ctl_request(c->spool, "FLUSH", -1, reply, sizeof(reply), err, sizeof(err));

	if (rc != 0)
		return die(rc, err);
	if (strncmp(reply, "ERR", 3) == 0 || reply[0] == '4' || reply[0] == '5') {
		snprintf(msg, sizeof(msg), "relayd refused the flush: %s", reply);
		return die(EX_UNAVAILABLE, msg);
	}
	if (o->verbose)
		fprintf(stderr, "%s: relayd: %s\n", progname, reply);
	return 0;
}

static int list_queue(const struct sm_opts *o, const struct conf *c)
{
	char err[1024];
	int rc;

	if (fflush(stdout) != 0)
		return die(EX_IOERR, "write error on standard output");
	/* From relayd, or from the spool itself when it is not running. */
	rc = mailq_list(c->spool, o->json, STDOUT_FILENO, err, sizeof(err));
	if (rc != 0)
		return die(rc, err);
	return 0;
}

/* bs_serve prints its own one line on failure. */
static int serve_smtp(const struct submit_req *base, const struct conf *c)
{
	int rc = bs_serve(c, base, STDIN_FILENO, STDOUT_FILENO);

	return rc == EX_TEMPFAIL ? EX_IOERR : rc;
}

int main(int argc, char **argv)
{
	struct sm_opts o;
	struct conf c;
	struct caller who;
	struct submit_req req;
	const char *path;
	bool must_exist;
	char err[CONF_ERR_MAX + 128];
	int rc;

	set_progname(argc > 0 ? argv[0] : NULL);
	if (sm_parse_args(argc, argv, &o, err, sizeof(err)) != 0)
		return die(EX_USAGE, err);
	/* newaliases and friends succeed even with a broken configuration:
	 * package scripts call them and there is nothing for them to do. */
	if (o.mode == SM_NOOP)
		return 0;
	path = conf_pick_path(o.conf_path, &must_exist);
	memset(&c, 0, sizeof(c));
	if (conf_load(path, must_exist, &c, err, sizeof(err)) != 0)
		return die(EX_CONFIG, err);
	get_caller(&who);
	fill_req(&req, &o, &c, &who);
	switch (o.mode) {
	case SM_DELIVER:
		rc = deliver(&o, &req);
		break;
	case SM_VERIFY:
		rc = verify(&o, &c);
		break;
	case SM_FLUSH:
		rc = flush_queue(&o, &c);
		break;
	case SM_LIST:
		rc = list_queue(&o, &c);
		break;
	case SM_SMTP:
		rc = serve_smtp(&req, &c);
		break;
	case SM_NOOP:
	default:
		rc = 0;
		break;
	}
	free(who.login);
	free(who.gecos);
	conf_free(&c);
	return rc;
}
