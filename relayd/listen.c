/*
 * The listener process: see listen.h (the sockets themselves are
 * listen_sock.c's). One process accepts on every socket
 * and never blocks on a client: the refusal lines it writes are a few bytes
 * on a fresh socket (MSG_DONTWAIT), and each accepted client gets a child
 * (listen_smtp.c). The parent relayd learns what happened through a
 * SOCK_SEQPACKET pair, one letter per event: C (session), A (message
 * accepted), R (connection refused).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdnoreturn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "listen.h"
#include "listen_auth.h"
#include "listen_smtp.h"
#include "listen_sock.h"
#include "log.h"
#include "tls.h"
#include "util.h"

/* ---- the listener process ---- */

struct session {
	pid_t pid;
	int family;
	unsigned char addr[16];
};

struct master {
	const struct conf *c;
	const struct listen_socks *socks;
	int evfd, sfd;
	struct listen_users *users;
	struct tls_server *tls;
	struct session s[LISTEN_MAX_CONNECTIONS];
	size_t ns;
	bool stopping;
};

static volatile sig_atomic_t session_stop;

static void on_term(int sig)
{
	(void)sig;
	session_stop = 1;
}

static void tell(int fd, const char *what)
{
	(void)send(fd, what, strlen(what), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The client's address, IPv4-mapped IPv6 made plain IPv4. */
static void peer_of(const struct sockaddr_storage *ss, int *family, unsigned char addr[16],
    char *ip, size_t iplen)
{
	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			*family = AF_INET;
			memcpy(addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, s6->sin6_addr.s6_addr, 16);
		}
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		*family = AF_INET;
		memcpy(addr, &s4->sin_addr, 4);
	}
	if (inet_ntop(*family, addr, ip, (socklen_t)iplen) == NULL)
		snprintf(ip, iplen, "unknown");
}

static bool is_loopback(int family, const unsigned char *a)
{
	static const unsigned char lo6[16] = { [15] = 1 };

	return family == AF_INET ? a[0] == 127 : memcmp(a, lo6, 16) == 0;
}

static bool allowed(const struct conf *c, int family, const unsigned char *a)
{
	size_t i;

	for (i = 0; i < c->nlisten_allow; i++)
		if (conf_net_match(&c->listen_allow[i], family, a))
			return true;
	return false;
}

/* Does listen_allow admit loopback clients only? */
static bool loopback_only(const struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nlisten_allow; i++) {
		const struct conf_net *n = &c->listen_allow[i];

		if (n->family == AF_INET ? n->bits < 8 || n->addr[0] != 127 :
		    n->bits != 128 || !is_loopback(AF_INET6, n->addr))
			return false;
	}
	return true;
}

static size_t from_same(const struct master *m, int family, const unsigned char *a)
{
	size_t i, n = 0;

	for (i = 0; i < m->ns; i++)
		n += m->s[i].family == family && memcmp(m->s[i].addr, a, 16) == 0;
	return n;
}

/* One line to a client we will not serve, then close. */
static void refuse(struct master *m, int fd, const char *ip, const char *line, const char *why)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf, "%s\r\n", line);

	if (n > 0 && (size_t)n < sizeof buf)
		(void)send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	log_warnx("listen: refused connection from [%s]: %s", ip, why);
	tell(m->evfd, "R");
}

static void session_child(struct master *m, int fd, const char *ip, bool loopback)
{
	struct lsmtp_ctx x;
	struct sigaction sa;
	sigset_t none;
	size_t i;

	for (i = 0; i < m->socks->n; i++)
		close(m->socks->fd[i]);
	close(m->sfd);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;	/* no SA_RESTART: a waiting poll returns */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&x, 0, sizeof x);
	x.c = m->c;
	x.users = m->users;
	x.tls = m->tls;
	x.ip = ip;
	x.loopback = loopback;
	x.events = m->evfd;
	x.stop = &session_stop;
	listen_smtp_serve(&x, fd);
	_exit(0);
}

static void accept_one(struct master *m, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	unsigned char addr[16];
	char ip[INET6_ADDRSTRLEN + 8], line[200];
	int fd, family;
	pid_t pid;

	fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("listen: accept");
		return;
	}
	peer_of(&ss, &family, addr, ip, sizeof ip);
	if (!allowed(m->c, family, addr)) {
		snprintf(line, sizeof line, "554 5.7.1 %s: access denied for [%s] (not in "
		    "listen_allow)", m->c->hostname, ip);
		refuse(m, fd, ip, line, "not in listen_allow");
		return;
	}
	if (m->stopping || m->ns >= LISTEN_MAX_CONNECTIONS) {
		snprintf(line, sizeof line, "421 4.7.0 %s Error: too many connections, try again "
		    "later", m->c->hostname);
		refuse(m, fd, ip, line, m->stopping ? "shutting down" : "too many connections");
		return;
	}
	if (from_same(m, family, addr) >= LISTEN_MAX_PER_CLIENT) {
		snprintf(line, sizeof line, "421 4.7.0 %s Error: too many connections from [%s]",
		    m->c->hostname, ip);
		refuse(m, fd, ip, line, "too many connections from this address");
		return;
	}
	pid = fork();
	if (pid == -1) {
		log_warn("listen: fork");
		snprintf(line, sizeof line, "421 4.3.2 %s Error: cannot serve now, try again later",
		    m->c->hostname);
		refuse(m, fd, ip, line, "cannot fork");
		return;
	}
	if (pid == 0)
		session_child(m, fd, ip, is_loopback(family, addr));
	close(fd);
	m->s[m->ns].pid = pid;
	m->s[m->ns].family = family;
	memcpy(m->s[m->ns].addr, addr, 16);
	m->ns++;
	log_info("listen: connect from [%s]", ip);
	tell(m->evfd, "C");
}

static void reap_sessions(struct master *m)
{
	int status;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < m->ns; i++) {
			if (m->s[i].pid == pid) {
				m->s[i] = m->s[--m->ns];
				break;
			}
		}
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			log_warnx("listen: session %ld ended by signal %d", (long)pid,
			    WTERMSIG(status));
	}
}

static void read_signals(struct master *m)
{
	struct signalfd_siginfo si;
	size_t i;

	while (read(m->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD) {
			reap_sessions(m);
		} else if (si.ssi_signo == SIGHUP) {
			/* listen_reload: a new listener takes over the sockets;
			 * sessions under way finish with this configuration. */
			m->stopping = true;
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			/* Sessions finish the transaction they are in. */
			m->stopping = true;
			for (i = 0; i < m->ns; i++)
				kill(m->s[i].pid, SIGTERM);
		}
	}
}

noreturn void listen_master_main(const struct conf *c, const struct listen_socks *socks,
    int evfd, pid_t parent)
{
	struct pollfd pfd[LISTEN_MAX_SOCKS + 1];
	struct master *m = xcalloc(1, sizeof(*m));
	char err[CONF_ERR_MAX], names[512] = "";
	sigset_t mask;
	size_t i;

	/* relayd killed: stop listening so that a new one can bind. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	m->c = c;
	m->socks = socks;
	m->evfd = evfd;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigdelset(&mask, SIGUSR1);
	if ((m->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		log_fatalx(EX_OSERR, "listen: signalfd: %s", strerror(errno));
	if (c->listen_auth_file != NULL &&
	    (m->users = listen_users_load(c->listen_auth_file, err, sizeof err)) == NULL)
		log_fatalx(EX_CONFIG, "listen: %s; not accepting SMTP until it is fixed", err);
	if (c->listen_tls_cert != NULL &&
	    (m->tls = tls_server_new(c->listen_tls_cert, c->listen_tls_key, err,
		sizeof err)) == NULL)
		log_fatalx(EX_CONFIG, "listen: %s; not accepting SMTP until it is fixed", err);
	if (m->users != NULL && m->tls == NULL && !loopback_only(c))
		log_warnx("listen: listen_auth_file is set without listen_tls_cert: clients "
		    "outside loopback can never authenticate (AUTH is offered to them only "
		    "over STARTTLS)");
	for (i = 0; i < socks->n; i++) {
		strlcat(names, i > 0 ? ", " : "", sizeof names);
		strlcat(names, socks->name[i], sizeof names);
	}
	log_info("listen: accepting SMTP on %s (STARTTLS %s, AUTH %s)", names,
	    m->tls != NULL ? "offered" : "off",
	    m->users != NULL ? "required" : "off");
	while (!m->stopping) {
		for (i = 0; i < socks->n; i++)
			pfd[i] = (struct pollfd){ .fd = socks->fd[i], .events = POLLIN };
		pfd[i] = (struct pollfd){ .fd = m->sfd, .events = POLLIN };
		if (poll(pfd, socks->n + 1, -1) == -1) {
			if (errno != EINTR)
				log_warn("listen: poll");
			continue;
		}
		if (pfd[socks->n].revents != 0)
			read_signals(m);
		for (i = 0; i < socks->n && !m->stopping; i++)
			if (pfd[i].revents != 0)
				accept_one(m, socks->fd[i]);
	}
	/* The sessions are our children and finish on their own. */
	_exit(0);
}
