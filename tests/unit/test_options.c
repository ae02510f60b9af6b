/*
 * sm_parse_args (SPEC §3): every glued and separate form, the exact argv of
 * real callers, no-ops, refusals and argv[0] names.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "check.h"
#include "spool_envelope.h"
#include "sm_options.h"

#define MAXARGS 32

static struct sm_opts o;
static char err[256];
static char *argv_store[MAXARGS + 1];

/* Parse a NULL-terminated list of words, argv[0] first. */
static int parse(const char *first, ...)
{
	va_list ap;
	const char *w;
	int argc = 0;

	va_start(ap, first);
	for (w = first; w != NULL && argc < MAXARGS; w = va_arg(ap, const char *))
		argv_store[argc++] = (char *)(uintptr_t)w;
	va_end(ap);
	argv_store[argc] = NULL;
	err[0] = '\0';
	return sm_parse_args(argc, argv_store, &o, err, sizeof(err));
}

#define SM "/usr/sbin/sendmail"

#define NR_WORDS(a) (sizeof(a) / sizeof((a)[0]))

/* The words (argv[0] first) parse and select `want`; o is left as parsed
 * for further checks. A failure names the words. */
/* Parse argc words (argv[0] first). */
static int parse_words(int argc, const char **words)
{
	int i;

	for (i = 0; i < argc && i < MAXARGS; i++)
		argv_store[i] = (char *)(uintptr_t)words[i];
	argv_store[i] = NULL;
	err[0] = '\0';
	return sm_parse_args(i, argv_store, &o, err, sizeof(err));
}

static void mode_is(enum sm_mode want, int argc, const char **words)
{
	int i, rc = parse_words(argc, words);

	if (rc != 0 || o.mode != want) {
		fprintf(stderr, "  mode of");
		for (i = 0; i < argc; i++)
			fprintf(stderr, " %s", words[i]);
		fprintf(stderr, ": rc %d (%s), mode %d, want %d\n", rc, err, (int)o.mode, (int)want);
	}
	CHECK_INT(rc, 0);
	CHECK_INT(o.mode, want);
}
#define MODE(want, ...) do { \
	const char *w_[] = { __VA_ARGS__ }; \
	mode_is((want), (int)NR_WORDS(w_), w_); \
} while (0)

static void rcpt_is(size_t i, const char *want)
{
	CHECK(i < o.nrcpts);
	if (i < o.nrcpts)
		CHECK_STR(o.rcpts[i], want);
}

static void test_defaults(void)
{
	MODE(SM_DELIVER, SM, "a@example.org");
	CHECK(!o.extract_rcpts);
	CHECK(!o.ignore_dots);
	CHECK(o.sender == NULL);
	CHECK(o.fullname == NULL);
	CHECK(o.conf_path == NULL);
	CHECK_INT(o.notify, 0);
	CHECK_INT(o.ret, RET_UNSET);
	CHECK(o.envid == NULL);
	CHECK_INT(o.body, SM_BODY_UNSET);
	CHECK(!o.verbose);
	CHECK(!o.json);
	CHECK_INT(o.nrcpts, 1);
	rcpt_is(0, "a@example.org");

	/* No recipients is not the parser's business in deliver mode (-t). */
	MODE(SM_DELIVER, SM);
	CHECK_INT(o.nrcpts, 0);
	CHECK(o.rcpts != NULL && o.rcpts[0] == NULL);
}

static void test_glued_values(void)
{
	CHECK_INT(parse(SM, "-FCronDaemon", "x", NULL), 0);
	CHECK_STR(o.fullname, "CronDaemon");
	CHECK_INT(parse(SM, "-B8BITMIME", "x", NULL), 0);
	CHECK_INT(o.body, SM_BODY_8BITMIME);
	CHECK_INT(parse(SM, "-B7bit", "x", NULL), 0);
	CHECK_INT(o.body, SM_BODY_7BIT);
	CHECK_INT(parse(SM, "-fwww@x", "x", NULL), 0);
	CHECK_STR(o.sender, "www@x");
	CHECK_INT(parse(SM, "-rwww@x", "x", NULL), 0);
	CHECK_STR(o.sender, "www@x");
	CHECK_INT(parse(SM, "-oem", "x", NULL), 0);
	CHECK(!o.ignore_dots);
	CHECK_INT(parse(SM, "-or0s", "x", NULL), 0);
	CHECK_INT(o.nrcpts, 1);
	CHECK_INT(parse(SM, "-ODeliveryMode=b", "x", NULL), 0);
	CHECK_INT(o.nrcpts, 1);
	rcpt_is(0, "x");
	CHECK_INT(parse(SM, "-Nsuccess,failure", "x", NULL), 0);
	CHECK_INT(o.notify, NOTIFY_SUCCESS | NOTIFY_FAILURE);
	CHECK_INT(parse(SM, "-Rhdrs", "x", NULL), 0);
	CHECK_INT(o.ret, RET_HDRS);
	CHECK_INT(parse(SM, "-Vid123", "x", NULL), 0);
	CHECK_STR(o.envid, "id123");
	CHECK_INT(parse(SM, "-C/etc/other.conf", "x", NULL), 0);
	CHECK_STR(o.conf_path, "/etc/other.conf");
	CHECK_INT(parse(SM, "-h5", "-LTAG", "-X/tmp/log", "-Am", "-em", "-Mrfoo", "-pesmtp",
	    "-d0.1", "-D/tmp/d", "x", NULL), 0);
	CHECK_INT(o.nrcpts, 1);
	rcpt_is(0, "x");
}

static void test_separate_values(void)
{
	CHECK_INT(parse(SM, "-f", "x@y", "a", NULL), 0);
	CHECK_STR(o.sender, "x@y");
	rcpt_is(0, "a");
	CHECK_INT(parse(SM, "-r", "x@y", "a", NULL), 0);
	CHECK_STR(o.sender, "x@y");
	CHECK_INT(parse(SM, "-F", "Full Name", "a", NULL), 0);
	CHECK_STR(o.fullname, "Full Name");
	CHECK_INT(parse(SM, "-C", "file", "a", NULL), 0);
	CHECK_STR(o.conf_path, "file");
	CHECK_INT(parse(SM, "-N", "never", "a", NULL), 0);
	CHECK_INT(o.notify, NOTIFY_NEVER);
	CHECK_INT(parse(SM, "-N", "success, failure,delay", "a", NULL), 0);
	CHECK_INT(o.notify, NOTIFY_SUCCESS | NOTIFY_FAILURE | NOTIFY_DELAY);
	CHECK_INT(parse(SM, "-R", "full", "a", NULL), 0);
	CHECK_INT(o.ret, RET_FULL);
	CHECK_INT(parse(SM, "-R", "HDRS", "a", NULL), 0);
	CHECK_INT(o.ret, RET_HDRS);
	CHECK_INT(parse(SM, "-V", "envid", "a", NULL), 0);
	CHECK_STR(o.envid, "envid");
	/* envelope_envid_ok's rule: '+' and '=' are printable ASCII (xtext
	 * encodes them on the wire). */
	CHECK_INT(parse(SM, "-V", "a+b=c", "a", NULL), 0);
	CHECK_STR(o.envid, "a+b=c");
	CHECK_INT(parse(SM, "-B", "8bitmime", "a", NULL), 0);
	CHECK_INT(o.body, SM_BODY_8BITMIME);
	/* Each ignored letter consumes exactly its value. */
	CHECK_INT(parse(SM, "-O", "opt=1", "-h", "3", "-L", "tag", "-X", "f", "-A", "c", "-e", "x",
	    "-M", "x", "-p", "smtp", "-d", "x", "-D", "f", "a", NULL), 0);
	CHECK_INT(o.nrcpts, 1);
	rcpt_is(0, "a");
	/* -o with a separate word consumes it; "i" is -oi. */
	CHECK_INT(parse(SM, "-o", "em", "a", NULL), 0);
	CHECK_INT(o.nrcpts, 1);
	CHECK(!o.ignore_dots);
	CHECK_INT(parse(SM, "-o", "i", "a", NULL), 0);
	CHECK(o.ignore_dots);
	CHECK_INT(o.nrcpts, 1);
	/* -b with a separate letter, as getopt allows. */
	MODE(SM_LIST, SM, "-b", "p");
	/* A value that looks like an option is still the value. */
	CHECK_INT(parse(SM, "-f", "-t", "a", NULL), 0);
	CHECK_STR(o.sender, "-t");
	CHECK(!o.extract_rcpts);
}

static void test_null_sender(void)
{
	CHECK_INT(parse(SM, "-f", "", "a", NULL), 0);
	CHECK_STR(o.sender, "");
	CHECK_INT(parse(SM, "-f", "<>", "a", NULL), 0);
	CHECK_STR(o.sender, "<>");
	CHECK_INT(parse(SM, "-f<>", "a", NULL), 0);
	CHECK_STR(o.sender, "<>");
}

static void test_grouped_and_repeated(void)
{
	CHECK_INT(parse(SM, "-ti", NULL), 0);
	CHECK(o.extract_rcpts && o.ignore_dots);
	CHECK_INT(parse(SM, "-it", NULL), 0);
	CHECK(o.extract_rcpts && o.ignore_dots);
	CHECK_INT(parse(SM, "-oi", "a", NULL), 0);
	CHECK(o.ignore_dots && !o.extract_rcpts);
	CHECK_INT(parse(SM, "-toi", NULL), 0);
	CHECK(o.extract_rcpts && o.ignore_dots);
	CHECK_INT(parse(SM, "-tfme@x", NULL), 0);
	CHECK(o.extract_rcpts);
	CHECK_STR(o.sender, "me@x");
	CHECK_INT(parse(SM, "-tf", "me@x", "a", NULL), 0);
	CHECK_STR(o.sender, "me@x");
	rcpt_is(0, "a");
	CHECK_INT(parse(SM, "-i", "-oi", "-i", "a", NULL), 0);
	CHECK(o.ignore_dots);
	CHECK_INT(parse(SM, "-t", "-t", NULL), 0);
	CHECK(o.extract_rcpts);
	CHECK_INT(parse(SM, "-v", "-v", "-bm", "-bm", "a", NULL), 0);
	CHECK(o.verbose);
	CHECK_INT(o.mode, SM_DELIVER);
	CHECK_INT(parse(SM, "-B8BITMIME", "-B", "8BITMIME", "a", NULL), 0);
	CHECK_INT(o.body, SM_BODY_8BITMIME);
	CHECK_INT(parse(SM, "-U", "-G", "-n", "-m", "-c", "-s", "-T", "-x", "-Umnx", "a", NULL), 0);
	CHECK_INT(o.nrcpts, 1);
	CHECK_INT(parse(SM, "-OIgnoreDots=true", "a", NULL), 0);
	CHECK(o.ignore_dots);
	CHECK_INT(parse(SM, "-SMTPUTF8", "a", NULL), 0);
	CHECK_INT(o.nrcpts, 1);
}

static void test_stop(void)
{
	CHECK_INT(parse(SM, "-t", "--", "-a@x", "b", NULL), 0);
	CHECK_INT(o.nrcpts, 2);
	rcpt_is(0, "-a@x");
	rcpt_is(1, "b");
	/* The first non-option ends the options. */
	CHECK_INT(parse(SM, "a@x", "-t", NULL), 0);
	CHECK(!o.extract_rcpts);
	CHECK_INT(o.nrcpts, 2);
	rcpt_is(1, "-t");
	CHECK_INT(parse(SM, "-i", "--", NULL), 0);
	CHECK_INT(o.nrcpts, 0);
	CHECK_INT(parse(SM, "-", "a", NULL), 0);
	CHECK_INT(o.nrcpts, 2);
	rcpt_is(0, "-");
	/* An address list is one argument. */
	CHECK_INT(parse(SM, "a@x, Alice <b@x>", NULL), 0);
	CHECK_INT(o.nrcpts, 1);
	rcpt_is(0, "a@x, Alice <b@x>");
}

static void test_real_callers(void)
{
	/* Debian cron */
	MODE(SM_DELIVER, SM, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root");
	CHECK_STR(o.fullname, "CronDaemon");
	CHECK(o.ignore_dots);
	CHECK_INT(o.body, SM_BODY_8BITMIME);
	CHECK(!o.extract_rcpts);
	CHECK(o.sender == NULL);
	CHECK_INT(o.nrcpts, 1);
	rcpt_is(0, "root");

	/* cronie */
	CHECK_INT(parse(SM, "-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "user", NULL), 0);
	CHECK_STR(o.fullname, "CronDaemon");
	CHECK(o.ignore_dots && o.extract_rcpts);
	CHECK_STR(o.sender, "user");
	CHECK_INT(o.nrcpts, 0);

	/* anacron: no -i */
	CHECK_INT(parse(SM, "-FAnacron", "-odi", "root", NULL), 0);
	CHECK_STR(o.fullname, "Anacron");
	CHECK(!o.ignore_dots);
	CHECK_INT(o.nrcpts, 1);
	rcpt_is(0, "root");

	/* PHP mail() */
	CHECK_INT(parse("sendmail", "-t", "-i", NULL), 0);
	CHECK(o.extract_rcpts && o.ignore_dots);
	CHECK_INT(o.nrcpts, 0);

	/* PHPMailer */
	CHECK_INT(parse(SM, "-oi", "-fwww@example.org", "-t", NULL), 0);
	CHECK(o.extract_rcpts && o.ignore_dots);
	CHECK_STR(o.sender, "www@example.org");

	/* git send-email */
	CHECK_INT(parse(SM, "-i", "a@x", "b@y", NULL), 0);
	CHECK(o.ignore_dots && !o.extract_rcpts);
	CHECK_INT(o.nrcpts, 2);
	rcpt_is(0, "a@x");
	rcpt_is(1, "b@y");

	/* mutt */
	CHECK_INT(parse(SM, "-oem", "-oi", "--", "a@x", NULL), 0);
	CHECK(o.ignore_dots);
	CHECK_INT(o.nrcpts, 1);
	rcpt_is(0, "a@x");

	/* logwatch, sudo */
	CHECK_INT(parse(SM, "-t", NULL), 0);
	CHECK(o.extract_rcpts && !o.ignore_dots);

	/* Alpine */
	MODE(SM_SMTP, SM, "-bs", "-odb", "-oem");

	/* Sendmail's classic daemon start: nothing to do. */
	MODE(SM_NOOP, SM, "-bd", "-q30m");
}

static void test_modes(void)
{
	MODE(SM_DELIVER, SM, "-bm", "a");
	MODE(SM_LIST, SM, "-bp");
	MODE(SM_SMTP, SM, "-bs");
	MODE(SM_VERIFY, SM, "-bv", "root");
	rcpt_is(0, "root");
	MODE(SM_NOOP, SM, "-bi");
	MODE(SM_NOOP, SM, "-bd");
	MODE(SM_NOOP, SM, "-bD");
	MODE(SM_NOOP, SM, "-bl");
	MODE(SM_NOOP, SM, "-bh");
	MODE(SM_NOOP, SM, "-bH");
	MODE(SM_NOOP, SM, "-I");
	MODE(SM_LIST, SM, "-bp", "-v");
	CHECK(o.verbose);
	MODE(SM_LIST, SM, "-bp", "-j");
	CHECK(o.json);
}

static void test_q(void)
{
	MODE(SM_FLUSH, SM, "-q");
	MODE(SM_FLUSH, SM, "-q", "-v");
	CHECK(o.verbose);
	MODE(SM_NOOP, SM, "-q1h");
	MODE(SM_NOOP, SM, "-q30m");
	MODE(SM_NOOP, SM, "-q1h30m");
	MODE(SM_NOOP, SM, "-q15");
	MODE(SM_FLUSH, SM, "-qRexample.org");
	MODE(SM_FLUSH, SM, "-qIABC");
	MODE(SM_FLUSH, SM, "-qSuser");
	MODE(SM_FLUSH, SM, "-qf");
	MODE(SM_FLUSH, SM, "-vq");
	CHECK(o.verbose);
	/* A bare -q never swallows the next word: it is a recipient, and
	 * recipients with -q are refused. */
	CHECK_INT(parse(SM, "-q", "a@x", NULL), EX_USAGE);
	CHECK(strstr(err, "a@x") != NULL);
	CHECK(strstr(err, "-q") != NULL);
	CHECK_INT(parse(SM, "-qRx", "a@x", NULL), EX_USAGE);
	CHECK_INT(parse(SM, "-q1h", "a@x", NULL), EX_USAGE);
	CHECK_INT(parse(SM, "-q1x", NULL), EX_USAGE);
	CHECK(strstr(err, "-q1x") != NULL);
	CHECK_INT(parse(SM, "-qZ", NULL), EX_USAGE);
	CHECK(strstr(err, "-qZ") != NULL);
	/* -q does not override -bp. */
	MODE(SM_LIST, SM, "-bp", "-q");
	CHECK_INT(parse(SM, "-bs", "-q", NULL), EX_USAGE);
}

static void test_argv0(void)
{
	MODE(SM_LIST, "mailq");
	MODE(SM_LIST, "/usr/bin/mailq", "-j");
	CHECK(o.json);
	MODE(SM_NOOP, "/usr/bin/newaliases");
	CHECK_INT(parse("newaliases", "a@x", NULL), EX_USAGE);
	CHECK_INT(parse("mailq", "a@x", NULL), EX_USAGE);
	/* An explicit -b wins. */
	MODE(SM_DELIVER, "/usr/bin/mailq", "-bm", "a@x");
	rcpt_is(0, "a@x");
	MODE(SM_LIST, "newaliases", "-bp");
	MODE(SM_SMTP, "mailq", "-bs");
	MODE(SM_DELIVER, "newaliases", "-bm", "root");
	/* Only the base name counts. */
	MODE(SM_DELIVER, "/opt/mailq/sendmail", "a@x");
	MODE(SM_LIST, "mailq", "-q");
	/* With -bm the json flag has nothing to print. */
	CHECK_INT(parse("mailq", "-bm", "-j", "a", NULL), EX_USAGE);
}

/* One refusal: EX_USAGE and the message mentions `named`. */
static void refused(const char *named, int argc, const char **words)
{
	CHECK_INT(parse_words(argc, words), EX_USAGE);
	if (strstr(err, named) == NULL) {
		fprintf(stderr, "  error \"%s\" does not name \"%s\"\n", err, named);
		CHECK(strstr(err, named) != NULL);
	}
	CHECK(strchr(err, '\n') == NULL);
	CHECK(strncmp(err, "sendmail:", 9) != 0);
}


static void test_refusals(void)
{
	/* Each: what the message must name, then the words after argv[0]. */
	static const struct {
		const char *named;
		const char *w[6];
	} t[] = {
		{ "-bt", { "-bt" } },
		{ "-bC", { "-bC" } },
		{ "-bP", { "-bP" } },
		{ "-ba", { "-ba" } },
		{ "-bz", { "-bz" } },
		{ "-bmx", { "-bmx", "a" } },
		{ "-Q", { "-Qreason", "a" } },
		{ "-Q", { "-Q", "reason", "a" } },
		{ "-Z", { "-Z", "a" } },
		{ "-Z", { "-tZ", "a" } },
		{ "-y", { "-y" } },
		{ "--help", { "--help" } },
		{ "-f", { "-t", "-f" } },
		{ "-F", { "-F" } },
		{ "-C", { "-C" } },
		{ "-N", { "-N" } },
		{ "-R", { "-R" } },
		{ "-V", { "-V" } },
		{ "-B", { "-B" } },
		{ "-o", { "-o" } },
		{ "-O", { "-O" } },
		{ "-h", { "-h" } },
		{ "-X", { "-X" } },
		{ "-b", { "-b" } },
		{ "twice", { "-f", "a@x", "-f", "b@x", "r" } },
		{ "twice", { "-f", "a@x", "-f", "a@x", "r" } },
		{ "twice", { "-fa@x", "-rb@x", "r" } },
		{ "twice", { "-r", "a@x", "-r", "a@x", "r" } },
		{ "9BIT", { "-B", "9BIT", "a" } },
		{ "8bit", { "-B8bit", "a" } },
		{ "sometimes", { "-N", "sometimes", "a" } },
		{ "never,success", { "-N", "never,success", "a" } },
		{ "-N", { "-N", "", "a" } },
		{ "partial", { "-R", "partial", "a" } },
		{ "-V", { "-V", "has space", "a" } },
		{ "-V", { "-V", "", "a" } },
		{ "-V", { "-V", "caf\xc3\xa9", "a" } },
		{ "1 to 100", { "-V", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "a" } },
		{ "a@x", { "-bp", "a@x" } },
		{ "a@x", { "-bi", "a@x" } },
		{ "a@x", { "-I", "a@x" } },
		{ "a@x", { "-bd", "a@x" } },
		{ "a@x", { "-bs", "a@x" } },
		{ "a@x", { "-q", "a@x" } },
		{ "a@x", { "-qf", "a@x" } },
		{ "-j", { "-j", "a@x" } },
		{ "-j", { "-j", "-bs" } },
		{ "-bv", { "-bv" } },
		{ "-bp", { "-bp", "-bm" } },
		{ "-bs", { "-bs", "-bp" } },
		/* -t asks for recipients too (issue 8). */
		{ "-t", { "-bp", "-t" } },
		{ "-t", { "-t", "-bp" } },
		{ "-t", { "-bi", "-t" } },
		{ "-t", { "-q", "-t" } },
		{ "-t", { "-q1h", "-t" } },
		{ "-bd", { "-bd", "-t" } },
	};

	for (size_t i = 0; i < NR_ARRAY_LEN(t); i++) {
		const char *words[1 + NR_WORDS(t[i].w)] = { SM };
		int n = 1;

		for (size_t k = 0; k < NR_WORDS(t[i].w) && t[i].w[k] != NULL; k++)
			words[n++] = t[i].w[k];
		refused(t[i].named, n, words);
	}
}

/* An argument with a line break is quoted in the error without it: the
 * caller prints exactly one line on stderr (found by fuzz_options). */
static void test_error_is_one_line(void)
{
	CHECK_INT(parse("sendmail", "-B", "8BIT\nMIME", NULL), 64);
	CHECK(strchr(err, '\n') == NULL);
	CHECK(strchr(err, '\r') == NULL);
	CHECK_INT(parse("sendmail", "-bp", "a\r\nb", NULL), 64);
	CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL);
}

int main(void)
{
	test_error_is_one_line();
	test_defaults();
	test_glued_values();
	test_separate_values();
	test_null_sender();
	test_grouped_and_repeated();
	test_stop();
	test_real_callers();
	test_modes();
	test_q();
	test_argv0();
	test_refusals();
	return check_summary("test_options");
}
