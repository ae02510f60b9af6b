/*
 * Delivery workers (worker.h): the pool the parent keeps, and each
 * direction of the protocol between the parent and a worker.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "conf.h"
#include "helper_path.h"
#include "log.h"
#include "queue.h"
#include "worker.h"

struct worker_pool {
	struct worker w[WORKER_MAX];
	size_t n;
	worker_event_cb on_event;
	worker_lost_cb on_lost;
	void *ctx;
};

/* ---- the datagrams ---- */

static int parse_uns(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' || *out > max ? -1 : 0;
}

int worker_event_parse(const char *msg, size_t len, struct worker_event *ev)
{
	char buf[WMSG_MAX + 1], *w[9], *p;
	unsigned long long v[9];
	size_t n = 0, i;

	if (len == 0 || len > WMSG_MAX || memchr(msg, '\0', len) != NULL)
		return -1;
	memcpy(buf, msg, len);
	buf[len] = '\0';
	memset(ev, 0, sizeof(*ev));
	if (strncmp(buf, "DOWN ", 5) == 0 && (p = strchr(buf + 5, ' ')) != NULL) {
		/* DOWN I A REASON: the reason is free text with spaces. */
		*p++ = '\0';
		if (parse_uns(buf + 5, CONF_MAX_SMARTHOSTS - 1, &v[1]) == -1 ||
		    (p[0] != '0' && p[0] != '1') || (p[1] != ' ' && p[1] != '\0'))
			return -1;
		ev->type = WEV_DOWN;
		ev->host = (size_t)v[1];
		ev->auth = p[0] == '1';
		strlcpy(ev->reason, p[1] == ' ' ? p + 2 : "", sizeof ev->reason);
		return 0;
	}
	for (p = buf; p != NULL;) {
		if (n == NR_ARRAY_LEN(w))
			return -1;
		w[n++] = p;
		p = strchr(p, ' ');
		if (p != NULL)
			*p++ = '\0';
	}
	if ((strcmp(w[0], "UP") == 0 || strcmp(w[0], "DOWN") == 0) && n == 2) {
		if (parse_uns(w[1], CONF_MAX_SMARTHOSTS - 1, &v[1]) == -1)
			return -1;
		ev->type = w[0][0] == 'U' ? WEV_UP : WEV_DOWN;
		ev->host = (size_t)v[1];
		return 0;
	}
	if ((strcmp(w[0], "DONE") == 0 && n == 8) || (strcmp(w[0], "RELEASE") == 0 && n == 3)) {
		if (!queue_id_valid(w[1]))
			return -1;
		strlcpy(ev->id, w[1], sizeof ev->id);
		for (i = 2; i < n; i++) {
			if (parse_uns(w[i], 1ULL << 40, &v[i]) == -1)
				return -1;
		}
		if (n == 3) {
			ev->type = WEV_RELEASE;
			ev->more = v[2] != 0;
			return 0;
		}
		ev->type = WEV_DONE;
		ev->next = (time_t)v[2];
		ev->final = v[3] != 0;
		ev->sent = (unsigned)v[4];
		ev->deferred = (unsigned)v[5];
		ev->bounced = (unsigned)v[6];
		ev->more = v[7] != 0;
		return 0;
	}
	return -1;
}

/* ---- the worker's side ---- */

static int say(int sock, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int say(int sock, const char *fmt, ...)
{
	char msg[WMSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof msg)
		return 0;
	while (send(sock, msg, (size_t)n, MSG_NOSIGNAL) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

int worker_say_up(int sock, size_t host)
{
	return say(sock, "UP %zu", host);
}

int worker_say_down(int sock, size_t host, bool auth, const char *reason)
{
	char line[601];

	strlcpy(line, reason, sizeof line);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return say(sock, "DOWN %zu %d %s", host, auth ? 1 : 0, line);
}

int worker_say_done(int sock, const char *id, time_t next, bool final, unsigned sent,
    unsigned deferred, unsigned bounced, bool more)
{
	return say(sock, "DONE %s %lld %d %u %u %u %d", id, (long long)next, final, sent,
	    deferred, bounced, more);
}

int worker_say_release(int sock, const char *id, bool more)
{
	return say(sock, "RELEASE %s %d", id, more);
}

bool worker_ask(int sock, char id[QUEUE_ID_SIZE])
{
	char msg[WMSG_MAX + 1];
	ssize_t n;

	for (;;) {
		n = recv(sock, msg, WMSG_MAX, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;	/* parent gone */
		msg[n] = '\0';
		if (strncmp(msg, "MSG ", 4) == 0 && queue_id_valid(msg + 4)) {
			strlcpy(id, msg + 4, 17);
			return true;
		}
		return false;	/* QUIT or nonsense */
	}
}

/* ---- the parent's side ---- */

struct worker_pool *worker_pool_new(worker_event_cb on_event, worker_lost_cb on_lost, void *ctx)
{
	struct worker_pool *p = xcalloc(1, sizeof(*p));

	p->on_event = on_event;
	p->on_lost = on_lost;
	p->ctx = ctx;
	return p;
}

void worker_pool_free(struct worker_pool *p)
{
	free(p);
}

size_t worker_count(const struct worker_pool *p)
{
	return p->n;
}

struct worker *worker_at(struct worker_pool *p, size_t i)
{
	return &p->w[i];
}

bool worker_holds(const struct worker_pool *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->w[i].st == W_BUSY && strcmp(p->w[i].id, id) == 0)
			return true;
	}
	return false;
}

bool worker_can_take(const struct worker_pool *p, size_t max)
{
	size_t i;

	if (p->n < max)
		return true;
	for (i = 0; i < p->n; i++) {
		if (p->w[i].st == W_IDLE)
			return true;
	}
	return false;
}

static void tell(struct worker *w, const char *msg)
{
	if (w->fd != -1 && send(w->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_warn("worker %ld: cannot send", (long)w->pid);
}

bool worker_spawn(struct worker_pool *p, const char *id, worker_main_cb run, void *ctx)
{
	struct worker *w;
	int sock;
	pid_t pid;

	if (p->n >= WORKER_MAX)
		return false;
	pid = child_fork(&sock);
	if (pid == -1)
		return false;
	if (pid == 0)
		run(ctx, sock, id);
	w = &p->w[p->n++];
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->fd = sock;
	w->st = W_BUSY;
	strlcpy(w->id, id, sizeof w->id);
	return true;
}

void worker_give(struct worker *w, const char *id)
{
	char msg[32];

	snprintf(msg, sizeof msg, "MSG %s", id);
	tell(w, msg);
	w->st = W_BUSY;
	strlcpy(w->id, id, sizeof w->id);
}

void worker_quit(struct worker *w)
{
	tell(w, "QUIT");
	w->st = W_QUITTING;
}

noreturn void worker_exec(int sock, int lockfd, const char *conf_path, const char *id,
    const time_t *host_until, size_t n)
{
	char path[4096], err[1024], until[CONF_MAX_SMARTHOSTS][24];
	char *argv[8 + CONF_MAX_SMARTHOSTS];
	int fds[2] = { sock, lockfd };
	size_t a = 0, i;

	if (helper_path(WORKER_PROGRAM, path, sizeof path, err, sizeof err) == -1) {
		log_warnx("worker: %s", err);
		_exit(71);
	}
	argv[a++] = (char *)WORKER_PROGRAM;
	if (log_is_stderr())
		argv[a++] = (char *)"-f";
	if (conf_path != NULL) {
		argv[a++] = (char *)"-C";
		argv[a++] = (char *)conf_path;
	}
	argv[a++] = (char *)"deliver";
	argv[a++] = (char *)id;
	for (i = 0; i < n && i < CONF_MAX_SMARTHOSTS; i++) {
		snprintf(until[i], sizeof until[i], "%lld", (long long)host_until[i]);
		argv[a++] = until[i];
	}
	argv[a] = NULL;
	if (child_pass_fds(fds, 2) == -1) {
		log_warn("worker: cannot pass its descriptors");
		_exit(71);
	}
	execv(path, argv);
	log_warn("worker: cannot run %s", path);
	_exit(71);
}

/* DONE or RELEASE: the message is off the worker's hands. */
static void settle(struct worker *w, const struct worker_event *ev)
{
	w->id[0] = '\0';
	if (ev->more) {
		w->st = W_IDLE;
		w->idle_until = time_monotonic() + WORKER_IDLE_SECONDS;
	} else {
		w->st = W_QUITTING;
	}
}

bool worker_read(struct worker_pool *p, struct worker *w)
{
	struct worker_event ev;
	char msg[WMSG_MAX + 1];
	ssize_t n;

	for (;;) {
		n = recv(w->fd, msg, sizeof msg, MSG_DONTWAIT);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0)
			return false;
		if (worker_event_parse(msg, (size_t)n, &ev) == -1) {
			log_warnx("worker %ld: malformed report", (long)w->pid);
			continue;
		}
		if ((ev.type == WEV_DONE || ev.type == WEV_RELEASE) &&
		    (strcmp(ev.id, w->id) != 0 || w->st != W_BUSY)) {
			log_warnx("worker %ld: unexpected report for %s", (long)w->pid, ev.id);
			continue;
		}
		p->on_event(p->ctx, w, &ev);
		if (ev.type == WEV_DONE || ev.type == WEV_RELEASE)
			settle(w, &ev);
	}
}

/* A worker exited: if it held a message it never reported, the parent
 * learns it from the state file (on_lost). */
static void gone(struct worker_pool *p, struct worker *w, int status)
{
	if (w->fd != -1) {
		worker_read(p, w);
		close(w->fd);
		w->fd = -1;
	}
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))
		log_warnx("worker %ld ended abnormally (%s %d)", (long)w->pid,
		    WIFSIGNALED(status) ? "signal" : "exit",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (w->st == W_BUSY && w->id[0] != '\0')
		p->on_lost(p->ctx, w->id);
	*w = p->w[--p->n];
}

bool worker_reaped(struct worker_pool *p, pid_t pid, int status)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->w[i].pid == pid) {
			gone(p, &p->w[i], status);
			return true;
		}
	}
	return false;
}

void worker_close_all(struct worker_pool *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->w[i].fd != -1)
			close(p->w[i].fd);
	}
}
