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

static void rcpt_is(size_t i, const char *want)
{
	CHECK(i < o.nrcpts);
	if (i < o.nrcpts)
		CHECK_STR(o.rcpts[i], want);
}

static void test_defaults(void)
{
	CHECK_INT(parse(SM, "a@example.org", NULL), 0);
	CHECK_INT(o.mode, SM_DELIVER);
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
	CHECK_INT(parse(SM, NULL), 0);
	CHECK_INT(o.mode, SM_DELIVER);
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
	CHECK_INT(parse(SM, "-b", "p", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
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
	CHECK_INT(parse(SM, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root", NULL), 0);
	CHECK_INT(o.mode, SM_DELIVER);
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
	CHECK_INT(parse(SM, "-bs", "-odb", "-oem", NULL), 0);
	CHECK_INT(o.mode, SM_SMTP);

	/* Sendmail's classic daemon start: nothing to do. */
	CHECK_INT(parse(SM, "-bd", "-q30m", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
}

static void test_modes(void)
{
	CHECK_INT(parse(SM, "-bm", "a", NULL), 0);
	CHECK_INT(o.mode, SM_DELIVER);
	CHECK_INT(parse(SM, "-bp", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
	CHECK_INT(parse(SM, "-bs", NULL), 0);
	CHECK_INT(o.mode, SM_SMTP);
	CHECK_INT(parse(SM, "-bv", "root", NULL), 0);
	CHECK_INT(o.mode, SM_VERIFY);
	rcpt_is(0, "root");
	CHECK_INT(parse(SM, "-bi", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-bd", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-bD", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-bl", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-bh", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-bH", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-I", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-bp", "-v", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
	CHECK(o.verbose);
	CHECK_INT(parse(SM, "-bp", "-j", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
	CHECK(o.json);
}

static void test_q(void)
{
	CHECK_INT(parse(SM, "-q", NULL), 0);
	CHECK_INT(o.mode, SM_FLUSH);
	CHECK_INT(parse(SM, "-q", "-v", NULL), 0);
	CHECK_INT(o.mode, SM_FLUSH);
	CHECK(o.verbose);
	CHECK_INT(parse(SM, "-q1h", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-q30m", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-q1h30m", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-q15", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse(SM, "-qRexample.org", NULL), 0);
	CHECK_INT(o.mode, SM_FLUSH);
	CHECK_INT(parse(SM, "-qIABC", NULL), 0);
	CHECK_INT(o.mode, SM_FLUSH);
	CHECK_INT(parse(SM, "-qSuser", NULL), 0);
	CHECK_INT(o.mode, SM_FLUSH);
	CHECK_INT(parse(SM, "-qf", NULL), 0);
	CHECK_INT(o.mode, SM_FLUSH);
	CHECK_INT(parse(SM, "-vq", NULL), 0);
	CHECK_INT(o.mode, SM_FLUSH);
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
	CHECK_INT(parse(SM, "-bp", "-q", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
	CHECK_INT(parse(SM, "-bs", "-q", NULL), EX_USAGE);
}

static void test_argv0(void)
{
	CHECK_INT(parse("mailq", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
	CHECK_INT(parse("/usr/bin/mailq", "-j", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
	CHECK(o.json);
	CHECK_INT(parse("/usr/bin/newaliases", NULL), 0);
	CHECK_INT(o.mode, SM_NOOP);
	CHECK_INT(parse("newaliases", "a@x", NULL), EX_USAGE);
	CHECK_INT(parse("mailq", "a@x", NULL), EX_USAGE);
	/* An explicit -b wins. */
	CHECK_INT(parse("/usr/bin/mailq", "-bm", "a@x", NULL), 0);
	CHECK_INT(o.mode, SM_DELIVER);
	rcpt_is(0, "a@x");
	CHECK_INT(parse("newaliases", "-bp", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
	CHECK_INT(parse("mailq", "-bs", NULL), 0);
	CHECK_INT(o.mode, SM_SMTP);
	CHECK_INT(parse("newaliases", "-bm", "root", NULL), 0);
	CHECK_INT(o.mode, SM_DELIVER);
	/* Only the base name counts. */
	CHECK_INT(parse("/opt/mailq/sendmail", "a@x", NULL), 0);
	CHECK_INT(o.mode, SM_DELIVER);
	CHECK_INT(parse("mailq", "-q", NULL), 0);
	CHECK_INT(o.mode, SM_LIST);
	/* With -bm the json flag has nothing to print. */
	CHECK_INT(parse("mailq", "-bm", "-j", "a", NULL), EX_USAGE);
}

/* One refusal: EX_USAGE and the message mentions `named`. */
static void refused(const char *named, int argc, const char **words)
{
	int i;

	for (i = 0; i < argc && i < MAXARGS; i++)
		argv_store[i] = (char *)(uintptr_t)words[i];
	argv_store[i] = NULL;
	err[0] = '\0';
	CHECK_INT(sm_parse_args(i, argv_store, &o, err, sizeof(err)), EX_USAGE);
	if (strstr(err, named) == NULL) {
		fprintf(stderr, "  error \"%s\" does not name \"%s\"\n", err, named);
		CHECK(strstr(err, named) != NULL);
	}
	CHECK(strchr(err, '\n') == NULL);
	CHECK(strncmp(err, "sendmail:", 9) != 0);
}

#define REFUSED(named, ...) do { \
	const char *w_[] = { SM, __VA_ARGS__ }; \
	refused(named, (int)NR_WORDS(w_), w_); \
} while (0)
#define NR_WORDS(a) (sizeof(a) / sizeof((a)[0]))

static void test_refusals(void)
{
	REFUSED("-bt", "-bt");
	REFUSED("-bC", "-bC");
	REFUSED("-bP", "-bP");
	REFUSED("-ba", "-ba");
	REFUSED("-bz", "-bz");
	REFUSED("-bmx", "-bmx", "a");
	REFUSED("-Q", "-Qreason", "a");
	REFUSED("-Q", "-Q", "reason", "a");
	REFUSED("-Z", "-Z", "a");
	REFUSED("-Z", "-tZ", "a");
	REFUSED("-y", "-y");
	REFUSED("--help", "--help");
	REFUSED("-f", "-t", "-f");
	REFUSED("-F", "-F");
	REFUSED("-C", "-C");
	REFUSED("-N", "-N");
	REFUSED("-R", "-R");
	REFUSED("-V", "-V");
	REFUSED("-B", "-B");
	REFUSED("-o", "-o");
	REFUSED("-O", "-O");
	REFUSED("-h", "-h");
	REFUSED("-X", "-X");
	REFUSED("-b", "-b");
	REFUSED("twice", "-f", "a@x", "-f", "b@x", "r");
	REFUSED("twice", "-f", "a@x", "-f", "a@x", "r");
	REFUSED("twice", "-fa@x", "-rb@x", "r");
	REFUSED("twice", "-r", "a@x", "-r", "a@x", "r");
	REFUSED("9BIT", "-B", "9BIT", "a");
	REFUSED("8bit", "-B8bit", "a");
	REFUSED("sometimes", "-N", "sometimes", "a");
	REFUSED("never,success", "-N", "never,success", "a");
	REFUSED("-N", "-N", "", "a");
	REFUSED("partial", "-R", "partial", "a");
	REFUSED("-V", "-V", "has space", "a");
	REFUSED("-V", "-V", "", "a");
	REFUSED("a@x", "-bp", "a@x");
	REFUSED("a@x", "-bi", "a@x");
	REFUSED("a@x", "-I", "a@x");
	REFUSED("a@x", "-bd", "a@x");
	REFUSED("a@x", "-bs", "a@x");
	REFUSED("a@x", "-q", "a@x");
	REFUSED("a@x", "-qf", "a@x");
	REFUSED("-j", "-j", "a@x");
	REFUSED("-j", "-j", "-bs");
	REFUSED("-bv", "-bv");
	REFUSED("-bp", "-bp", "-bm");
	REFUSED("-bs", "-bs", "-bp");
	/* -t asks for recipients too (issue 8). */
	REFUSED("-t", "-bp", "-t");
	REFUSED("-t", "-t", "-bp");
	REFUSED("-t", "-bi", "-t");
	REFUSED("-t", "-q", "-t");
	REFUSED("-t", "-q1h", "-t");
	REFUSED("-bd", "-bd", "-t");
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
