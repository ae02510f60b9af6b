/* User, group and host look-ups of the static build: see util_nss.h. */
#include <errno.h>
#include <fcntl.h>
#include <nss.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "util_nss.h"

/* An entry line longer than this is taken as "not found". */
#define NSS_LINE_MAX 4096

extern char **environ;

/* glibc's own functions, reached under these names through --wrap. */
struct passwd *__real_getpwnam(const char *name);
struct passwd *__real_getpwuid(uid_t uid);
int __real_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
    struct passwd **result);
struct group *__real_getgrnam(const char *name);
int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res);

/* glibc's built-in modules only: nothing is ever dlopen'ed. */
static void builtin_only(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	(void)__nss_configure_lookup("passwd", "files");
	(void)__nss_configure_lookup("group", "files");
	(void)__nss_configure_lookup("hosts", "files dns");
}

/* Read fd to its end (or until the deadline), keeping the first linelen-1
 * bytes; false if the deadline came first. */
static bool read_all(int fd, char *line, size_t linelen, size_t *len)
{
	double end = time_monotonic() + NSS_GETENT_SECONDS;
	char skip[512];

	*len = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = end - time_monotonic();
		ssize_t n;
		int r;

		if (left <= 0)
			return false;
		r = poll(&pfd, 1, (int)(left * 1000.0) + 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		if (*len < linelen - 1)
			n = read(fd, line + *len, linelen - 1 - *len);
		else
			n = read(fd, skip, sizeof skip);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0;
		if (*len < linelen - 1)
			*len += (size_t)n;
	}
}

/*
 * `getent DB KEY`: its first line (newline cut) into line; true only if
 * getent exited 0 with a whole line. A key getent would take for an option
 * is not asked. A caller that ignores SIGCHLD (the child would be reaped
 * unseen, its exit status lost) gets the default meanwhile; any other
 * caller's disposition is left alone: setting SIG_DFL discards a SIGCHLD
 * already pending, and relayd, which reads SIGCHLD from a signalfd, would
 * never learn that a worker it had not reaped yet is gone.
 */
static bool getent_line(const char *db, const char *key, char *line, size_t linelen)
{
	char *argv[] = { (char *)"getent", (char *)db, (char *)key, NULL };
	struct sigaction dfl, old;
	bool done, ignored, ok = false;
	size_t len = 0;
	int p[2], st, dn;
	pid_t pid;
	char *nl;

	if (key[0] == '\0' || key[0] == '-' || linelen < 2 || pipe2(p, O_CLOEXEC) == -1)
		return false;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, NULL, &old);
	ignored = old.sa_handler == SIG_IGN || (old.sa_flags & SA_NOCLDWAIT) != 0;
	if (ignored)
		sigaction(SIGCHLD, &dfl, NULL);
	pid = fork();
	if (pid == 0) {
		dn = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (dn == -1 || dup2(p[1], STDOUT_FILENO) == -1 || dup2(dn, STDIN_FILENO) == -1 ||
		    dup2(dn, STDERR_FILENO) == -1)
			_exit(127);
		execve(NSS_GETENT_PATH, argv, environ);
		_exit(127);
	}
	close(p[1]);
	if (pid != -1) {
		done = read_all(p[0], line, linelen, &len);
		if (!done)
			kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) == -1) {
			if (errno != EINTR) {
				done = false;
				break;
			}
		}
		line[len] = '\0';
		nl = strchr(line, '\n');
		if (done && nl != NULL && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			*nl = '\0';
			ok = true;
		}
	}
	close(p[0]);
	if (ignored)
		sigaction(SIGCHLD, &old, NULL);
	return ok;
}

/* The passwd entry getent gives for key, in the one static entry
 * getpwnam and getpwuid share (as glibc's do); NULL if none. */
static struct passwd *getent_passwd(const char *key)
{
	static struct passwd pw;
	static char buf[NSS_LINE_MAX];
	char line[NSS_LINE_MAX];

	if (!getent_line("passwd", key, line, sizeof line) ||
	    nss_passwd_parse(line, &pw, buf, sizeof buf) != 0)
		return NULL;
	return &pw;
}

struct passwd *__wrap_getpwnam(const char *name)
{
	struct passwd *pw;
	int saved;

	builtin_only();
	errno = 0;
	if ((pw = __real_getpwnam(name)) != NULL)
		return pw;
	saved = errno;
	/* getent takes a numeric key for a uid: the name must match. */
	pw = getent_passwd(name);
	if (pw != NULL && strcmp(pw->pw_name, name) == 0)
		return pw;
	errno = saved;
	return NULL;
}

struct passwd *__wrap_getpwuid(uid_t uid)
{
	struct passwd *pw;
	char key[24];
	int saved;

	builtin_only();
	errno = 0;
	if ((pw = __real_getpwuid(uid)) != NULL)
		return pw;
	saved = errno;
	snprintf(key, sizeof key, "%lu", (unsigned long)uid);
	pw = getent_passwd(key);
	if (pw != NULL && pw->pw_uid == uid)
		return pw;
	errno = saved;
	return NULL;
}

int __wrap_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
    struct passwd **result)
{
	char key[24], line[NSS_LINE_MAX];
	int r;

	builtin_only();
	r = __real_getpwuid_r(uid, pw, buf, buflen, result);
	if (r != 0 || *result != NULL)
		return r;
	snprintf(key, sizeof key, "%lu", (unsigned long)uid);
	if (!getent_line("passwd", key, line, sizeof line))
		return 0;
	r = nss_passwd_parse(line, pw, buf, buflen);
	if (r == ERANGE)
		return ERANGE;
	if (r == 0 && pw->pw_uid == uid)
		*result = pw;
	return 0;
}

struct group *__wrap_getgrnam(const char *name)
{
	static struct group gr;
	static char buf[NSS_LINE_MAX];
	char line[NSS_LINE_MAX];
	struct group *g;
	int saved;

	builtin_only();
	errno = 0;
	if ((g = __real_getgrnam(name)) != NULL)
		return g;
	saved = errno;
	if (getent_line("group", name, line, sizeof line) &&
	    nss_group_parse(line, &gr, buf, sizeof buf) == 0 && strcmp(gr.gr_name, name) == 0)
		return &gr;
	errno = saved;
	return NULL;
}

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	builtin_only();
	return __real_getaddrinfo(node, service, hints, res);
}
