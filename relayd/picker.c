/*
 * The parent's side of pick-up (picker.h). Reports are parsed as hostile
 * only in the sense of "checked": the run is our own child, but a
 * malformed line is logged and skipped rather than trusted.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "picker.h"

struct picker {
	struct pickup *p;
	picker_queued_cb queued;
	picker_child_cb child;
	void *ctx;
	pid_t pid;	/* 0: no run */
	int fd;
	unsigned runs;
	bool stop_sent;
};

struct picker *picker_new(struct pickup *p, picker_queued_cb queued, picker_child_cb child,
    void *ctx)
{
	struct picker *k = xcalloc(1, sizeof(*k));

	k->p = p;
	k->queued = queued;
	k->child = child;
	k->ctx = ctx;
	k->fd = -1;
	return k;
}

void picker_free(struct picker *k)
{
	if (k == NULL)
		return;
	if (k->fd != -1)
		close(k->fd);
	free(k);
}

bool picker_running(const struct picker *k)
{
	return k->pid != 0;
}

unsigned picker_runs(const struct picker *k)
{
	return k->runs;
}

int picker_fd(const struct picker *k)
{
	return k->fd;
}

bool picker_start(struct picker *k, const struct conf *c, bool once)
{
	int sock;
	pid_t pid;

	if (k->pid != 0)
		return true;
	pickup_started(k->p, c, once);
	k->runs++;
	pid = child_fork(&sock);
	if (pid == -1)
		return false;
	if (pid == 0) {
		if (k->fd != -1)
			close(k->fd);
		k->child(k->ctx);
		/* The parent says when to stop (after the batch in hand). */
		child_ignore_signals();
		pickup_run(k->p, c, sock, k->runs);
	}
	k->pid = pid;
	k->fd = sock;
	k->stop_sent = false;
	return true;
}

static void tell(struct picker *k, const char *msg)
{
	if (k->fd != -1 && send(k->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) == -1 &&
	    errno != EAGAIN)
		log_warn("pick-up run %ld: cannot send", (long)k->pid);
}

void picker_scan(struct picker *k)
{
	tell(k, "SCAN");
}

void picker_stop(struct picker *k)
{
	if (k->pid != 0 && !k->stop_sent) {
		tell(k, "STOP");
		k->stop_sent = true;
	}
}

/* "ID ARRIVAL NEXT UID" (UID: the submitter, for sched_owner) */
static int parse_q(struct picker *k, char *line)
{
	char *arr, *nx, *ui, *end;
	double arrival;
	long long next;
	unsigned long uid;

	if ((arr = strchr(line, ' ')) == NULL || (nx = strchr(arr + 1, ' ')) == NULL ||
	    (ui = strchr(nx + 1, ' ')) == NULL)
		return -1;
	*arr++ = '\0';
	*nx++ = '\0';
	*ui++ = '\0';
	if (!queue_id_valid(line))
		return -1;
	errno = 0;
	arrival = strtod(arr, &end);
	if (errno != 0 || *end != '\0' || arrival < 0)
		return -1;
	next = strtoll(nx, &end, 10);
	if (errno != 0 || *end != '\0' || next < 0)
		return -1;
	uid = strtoul(ui, &end, 10);
	if (errno != 0 || *end != '\0' || *ui == '-' || uid > (uid_t)-1)
		return -1;
	k->queued(k->ctx, line, arrival, (time_t)next, (uid_t)uid);
	return 0;
}

/* "ID DEV INO" */
static int parse_w(struct picker *k, char *line)
{
	unsigned long long dev, ino;
	char id[QUEUE_ID_SIZE], extra;

	if (sscanf(line, "%16s %llu %llu%c", id, &dev, &ino, &extra) != 3 || !queue_id_valid(id))
		return -1;
	pickup_not_yet(k->p, id, dev, ino, k->runs);
	return 0;
}

bool picker_read(struct picker *k)
{
	char msg[PICKUP_REPORT_MAX + 1], *line, *nl;
	ssize_t n;

	for (;;) {
		n = recv(k->fd, msg, PICKUP_REPORT_MAX, MSG_DONTWAIT);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0) {
			close(k->fd);
			k->fd = -1;
			return false;
		}
		msg[n] = '\0';
		if (n < 2 || (msg[0] != 'Q' && msg[0] != 'W') || msg[1] != '\n') {
			log_warnx("pick-up run %ld: malformed report", (long)k->pid);
			continue;
		}
		for (line = msg + 2; *line != '\0'; line = nl + 1) {
			if ((nl = strchr(line, '\n')) == NULL)
				break;
			*nl = '\0';
			if ((msg[0] == 'Q' ? parse_q(k, line) : parse_w(k, line)) == -1)
				log_warnx("pick-up run %ld: malformed report line", (long)k->pid);
		}
	}
}

bool picker_reaped(struct picker *k, pid_t pid, int status)
{
	if (k->pid == 0 || pid != k->pid)
		return false;
	if (k->fd != -1) {
		picker_read(k);
		close(k->fd);
		k->fd = -1;
	}
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
		log_warnx("pick-up run %ld ended abnormally (%s %d); scanning again soon",
		    (long)pid, WIFSIGNALED(status) ? "signal" : "exit",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		pickup_retry_soon(k->p);
	}
	pickup_forget(k->p, k->runs);
	k->pid = 0;
	return true;
}
