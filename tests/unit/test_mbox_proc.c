/*
 * Unit tests for the mailbox process's own checks (relayd/mbox_proc.c):
 * which user names make a mailbox path, and what confine_mbox leaves it
 * (probed in a child: no network socket, no exec, nothing outside the
 * mailbox directory and the read-only system files).
 */
#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "confine.h"
#include "log.h"
#include "mbox_proc.h"

static void test_user_ok(void)
{
	char longname[MBOX_PROC_USER_MAX + 1];

	CHECK(mbox_proc_user_ok("alice"));
	CHECK(mbox_proc_user_ok("www-data"));
	CHECK(mbox_proc_user_ok("a.b_c"));
	CHECK(!mbox_proc_user_ok(NULL));
	CHECK(!mbox_proc_user_ok(""));
	CHECK(!mbox_proc_user_ok("."));
	CHECK(!mbox_proc_user_ok(".."));
	CHECK(!mbox_proc_user_ok(".hidden"));
	CHECK(!mbox_proc_user_ok("-rf"));
	CHECK(!mbox_proc_user_ok("../etc/passwd"));
	CHECK(!mbox_proc_user_ok("a/b"));
	CHECK(!mbox_proc_user_ok("a b"));
	CHECK(!mbox_proc_user_ok("a\nb"));
	CHECK(!mbox_proc_user_ok("a\x7f"));
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK(!mbox_proc_user_ok(longname));
	longname[MBOX_PROC_USER_MAX - 1] = '\0';
	CHECK(mbox_proc_user_ok(longname));
}

/* What the child found, one bit each (set: as confine_mbox promises). */
enum {
	P_INET = 1 << 0,	/* socket(AF_INET) refused */
	P_INET6 = 1 << 1,
	P_UNIX = 1 << 2,	/* socket(AF_UNIX) allowed (syslog) */
	P_EXEC = 1 << 3,	/* execve refused */
	P_TMP = 1 << 4,		/* creating a file in /tmp refused */
	P_PASSWD = 1 << 5,	/* /etc/passwd readable */
};

static int probe(void)
{
	char *argv[] = { (char *)"/bin/true", NULL };
	char tmp[64];
	int r = 0, fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	r |= fd == -1 ? P_INET : 0;
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	r |= fd == -1 ? P_INET6 : 0;
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	r |= fd != -1 ? P_UNIX : 0;
	snprintf(tmp, sizeof tmp, "/tmp/test_mbox_proc.%ld", (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd == -1)
		r |= P_TMP;
	else
		unlink(tmp);
	fd = open("/etc/passwd", O_RDONLY);
	r |= fd != -1 ? P_PASSWD : 0;
	execve(argv[0], argv, NULL);
	r |= P_EXEC;	/* still here */
	return r;
}

static void test_confine(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U /* VERSION */);
	int status = 0, want = P_INET | P_INET6 | P_UNIX | P_EXEC | P_PASSWD;
	struct conf c;
	pid_t pid;

	memset(&c, 0, sizeof c);
	if (abi >= 2)
		want |= P_TMP;
	else
		printf("note: Landlock ABI %ld: the /tmp probe is skipped\n", abi);
	pid = fork();
	if (pid == 0) {
		confine_mbox(&c);
		_exit(probe());
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status) & want, want);
}

int main(void)
{
	log_init("test_mbox_proc", true);
	test_user_ok();
	test_confine();
	return check_summary("test_mbox_proc");
}
